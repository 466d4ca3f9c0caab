"""Notifications through a real Celery worker on Redis: committed outbox rows are delivered by the
worker process; with the broker unreachable the change still commits and the sweep delivers later."""

import pytest

from billing import services as billing
from integrations import services
from integrations.models import Notification
from kundefaktura import celery_app
from tests.conftest import free_port
from tests.support.api import ApiClientWrapper, api_basis
from tests.support.celery_worker import celery_worker, reset_celery_connections, test_database_url
from tests.support.webhooks import FLOW, SECRET, Receiver, events

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

@pytest.fixture
def worker_on_redis(celery_on_redis, redis_url, tmp_path):
    with celery_worker(celery_on_redis, redis_url, tmp_path / "worker.log", test_database_url()) as proc:
        yield proc


def make_client(receiver):
    from tests.support.factories import make_company

    make_company()
    client, token = services.api_client_create(name="Nettmelding")
    services.subscription_create(client=client, url=receiver.url, secret=SECRET)
    return ApiClientWrapper(token)


def test_worker_delivers_notifications_in_order(worker_on_redis):
    receiver = Receiver(SECRET)
    receiver.start()
    try:
        api = make_client(receiver)
        basis = api_basis(api)
        billing.offer_send(basis=basis, by=None)
        billing.offer_accept(basis=basis, by=None)
        assert receiver.wait_for(3), f"got {events(receiver)}"
        assert events(receiver) == FLOW
        assert worker_on_redis.poll() is None
    finally:
        receiver.stop()


def test_broker_down_then_sweep_delivers(worker_on_redis, settings, redis_url):
    receiver = Receiver(SECRET)
    receiver.start()
    try:
        api = make_client(receiver)
        basis = api_basis(api)
        settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
        reset_celery_connections()
        billing.offer_send(basis=basis, by=None)  # the change commits although the broker is gone
        basis.refresh_from_db()
        assert basis.status == "offer_sent"
        assert Notification.objects.filter(status="pending", attempts=0).count() == 1

        settings.CELERY_BROKER_URL = redis_url
        reset_celery_connections()
        assert celery_app.conf.broker_url == redis_url
        assert services.sweep_notifications() == 1
        assert receiver.wait_for(1), "the sweep did not get the notification delivered"
        assert events(receiver) == FLOW[:1]
    finally:
        receiver.stop()
