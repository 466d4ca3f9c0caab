"""Celery tasks of billing. Thin: take ids, call one service, own the retry policy. The daily jobs'
names are fixed in settings.CELERY_BEAT_SCHEDULE."""

from celery import shared_task

from . import services


@shared_task(name="billing.bulk_send_offer_item", acks_late=True, ignore_result=True)
def bulk_send_offer_item(item_id: int) -> str:
    """Send the offer of one basis in a bulk job (the service claims the item, so redelivery is safe).
    The outcome is on the job's item, so no result is stored in the result backend."""
    return services.bulk_offer_send_item(item_id=item_id)


@shared_task(name="billing.offers_expire")
def offers_expire() -> list[str]:
    """Daily: unanswered offers past their validity → Utløpt, customer notified. Idempotent."""
    return services.offers_expire_due()


@shared_task(name="billing.change_notices_expire")
def change_notices_expire() -> list:
    """Daily: unanswered change notices past their answer deadline → Utløpt. Idempotent."""
    return [list(x) for x in services.change_notices_expire_due()]


@shared_task(name="billing.reminders_send")
def reminders_send() -> list:
    """Daily: reminders for overdue invoices (step 1, then step 2), each step once. Idempotent."""
    return [list(x) for x in services.reminders_send_due()]


@shared_task(name="billing.refund_execute", acks_late=True, autoretry_for=(Exception,), retry_backoff=60,
             max_retries=5)
def refund_execute(payment_id: int) -> str:
    """One card refund at the payment provider; safe to run twice (idempotency key per refund row)."""
    return services.refund_execute(payment=payment_id).status
