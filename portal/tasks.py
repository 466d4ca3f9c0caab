"""Celery tasks of the portal: thin wrappers calling one service."""

from celery import shared_task


@shared_task(name="portal.login_link_send", acks_late=True)
def login_link_send(email: str, requested_ip: str | None = None) -> int:
    """Look the address up and mail the link, off the request: the form answers known and unknown
    addresses along the same path."""
    from . import services

    return services.login_link_send(email=email, requested_ip=requested_ip)
