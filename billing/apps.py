from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Fakturering"

    def ready(self):
        # billing/receivers.py connects billing's own audit receivers (refunds after credit notes and
        # overpayments); the refund sweeper re-queues card refunds whose task was lost.
        from kundefaktura.outbox import register

        from . import receivers, services  # noqa: F401

        register(services.refunds_sweep)

        from kundefaktura.metrics import register as register_figures

        from .selectors.figures import offer_figures

        register_figures(offer_figures)
