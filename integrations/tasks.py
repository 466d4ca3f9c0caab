"""Thin Celery tasks: take ids, call one service, own the retry policy."""

from celery import shared_task
from django.conf import settings

from . import services


@shared_task(name="integrations.deliver_notifications", ignore_result=True)
def deliver_notifications(subscription_id: int, basis_id: int) -> dict:
    """Deliver one (subscription, basis) queue in order; come back after the backoff on failure.
    (Under eager execution the sweeper does the coming back, or the test calls the sweeper.)"""
    result = services.deliver_queue(subscription_id=subscription_id, basis_id=basis_id)
    if result.get("pending") and "retry_in" in result and not settings.CELERY_TASK_ALWAYS_EAGER:
        services.enqueue_delivery(subscription_id, basis_id, countdown=max(1.0, result["retry_in"]))
    return result


@shared_task(name="integrations.sweep_notifications", ignore_result=True)
def sweep_notifications() -> int:
    return services.sweep_notifications()
