from django.apps import AppConfig


class OffersConfig(AppConfig):
    name = "offers"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Dokumenter og e-post"

    def ready(self):
        from django.core import checks

        from kundefaktura.outbox import register

        from . import outbox, receivers, seal  # noqa: F401 - connects the audit_recorded receivers

        register(outbox.outbox_sweep)

        from kundefaktura.metrics import register as register_figures

        from . import selectors

        register_figures(selectors.outbox_figures)
        checks.register(seal.seal_check, "offers")
