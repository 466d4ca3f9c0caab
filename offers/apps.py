from django.apps import AppConfig


class OffersConfig(AppConfig):
    name = "offers"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Dokumenter og e-post"
