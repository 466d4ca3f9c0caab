from django.apps import AppConfig


class ErpConfig(AppConfig):
    name = "integrations.erp"
    label = "erp"
    verbose_name = "ERP og bank"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from kundefaktura.metrics import register

        from . import selectors

        register(selectors.erp_figures)
