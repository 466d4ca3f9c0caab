from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Kundeportal"

    def ready(self):
        from . import receivers  # noqa: F401  (connects the login-evidence receiver)
