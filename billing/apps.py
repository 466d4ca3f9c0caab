from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Fakturering"

    def ready(self):
        # billing.lifecycle connects its audit receiver (refunds after credit notes) on import; its Celery
        # tasks live in lifecycle_tasks.py, which autodiscovery (tasks.py only) would not load.
        from kundefaktura.outbox import register

        from . import lifecycle, lifecycle_tasks  # noqa: F401

        register(lifecycle.refunds_sweep)
