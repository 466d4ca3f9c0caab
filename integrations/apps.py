from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Integrasjoner"

    def ready(self):
        from billing.signals import audit_recorded
        from kundefaktura.outbox import register

        from . import receivers, services

        audit_recorded.connect(receivers.on_audit_recorded, dispatch_uid="integrations.notifications")
        register(services.sweep_notifications)

        from kundefaktura.metrics import register as register_figures

        from . import selectors

        register_figures(selectors.notification_figures)
