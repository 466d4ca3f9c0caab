"""Celery tasks of billing.lifecycle (thin: load, call one service). Imported by BillingConfig.ready(),
since autodiscovery only loads `tasks.py`. Task names are fixed in settings.CELERY_BEAT_SCHEDULE."""

from celery import shared_task


@shared_task(name="billing.offers_expire")
def offers_expire() -> list[str]:
    """Daily: unanswered offers past their validity → Utløpt, customer notified. Idempotent."""
    from . import lifecycle

    return lifecycle.offers_expire_due()


@shared_task(name="billing.change_notices_expire")
def change_notices_expire() -> list:
    """Daily: unanswered change notices past their answer deadline → Utløpt. Idempotent."""
    from . import lifecycle

    return [list(x) for x in lifecycle.change_notices_expire_due()]


@shared_task(name="billing.reminders_send")
def reminders_send() -> list:
    """Daily: reminders for overdue invoices (step 1, then step 2), each step once. Idempotent."""
    from . import lifecycle

    return [list(x) for x in lifecycle.reminders_send_due()]


@shared_task(name="billing.refund_execute", acks_late=True, autoretry_for=(Exception,), retry_backoff=60,
             max_retries=5)
def refund_execute(payment_id: int) -> str:
    """One card refund at the payment provider; safe to run twice (idempotency key per refund row)."""
    from . import lifecycle

    return lifecycle.refund_execute(payment=payment_id).status
