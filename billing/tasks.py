"""Celery tasks of the workspace. Thin: take ids, call one service, own the retry policy."""

from celery import shared_task

from . import services


@shared_task(name="billing.bulk_send_offer_item", acks_late=True)
def bulk_send_offer_item(item_id: int) -> str:
    """Send the offer of one basis in a bulk job (the service claims the item, so redelivery is safe)."""
    return services.bulk_offer_send_item(item_id=item_id)
