"""Notifications through a real Celery worker on Redis: committed outbox rows are delivered by the
worker process; with the broker unreachable the change still commits and the sweep delivers later."""

import os
import signal
import subprocess
import sys
import uuid

import pytest
from django.db import connection

from billing import services as billing
from integrations import services
from integrations.models import Notification
from kundefaktura import celery_app
from tests.conftest import REPO_ROOT, free_port, redis_ping, require_service
from tests.integrations.conftest import ApiClientWrapper
from tests.integrations.test_notifications import FLOW, SECRET, Receiver, api_basis, events
from tests.test_celery_worker import _reset_celery_connections as _reset_app_connections


def _reset_celery_connections():
    """Also drop kombu's global producer pools: switching the broker URL back and forth would
    otherwise hand out a pool closed by the previous reset."""
    from kombu import pools

    _reset_app_connections()
    pools.reset()

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def worker_on_redis(settings, redis_url, tmp_path):
    require_service("Redis", lambda: redis_ping(redis_url))
    queue = f"kf-api-test-{uuid.uuid4().hex[:12]}"
    settings.CELERY_BROKER_URL = redis_url
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_TASK_DEFAULT_QUEUE = queue
    _reset_celery_connections()
    db = connection.settings_dict
    database_url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    env = {**os.environ, "CELERY_BROKER_URL": redis_url, "KF_TESTING": "1", "DATABASE_URL": database_url}
    log_path = tmp_path / "worker.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "kundefaktura", "worker", "--pool=solo", "--concurrency=1",
             "--loglevel=INFO", "-Q", queue, "--hostname", f"{queue}@%h", "--without-gossip", "--without-mingle",
             "--without-heartbeat"], cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        _reset_celery_connections()
        print(log_path.read_text()[-3000:])


@pytest.fixture
def db_postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("the worker needs a database it can share (PostgreSQL)")


def make_client(receiver):
    from tests.factories import make_company

    make_company()
    client, token = services.api_client_create(name="Nettmelding")
    services.subscription_create(client=client, url=receiver.url, secret=SECRET)
    return ApiClientWrapper(token)


def test_worker_delivers_notifications_in_order(db_postgres_only, worker_on_redis):
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


def test_broker_down_then_sweep_delivers(db_postgres_only, worker_on_redis, settings, redis_url):
    receiver = Receiver(SECRET)
    receiver.start()
    try:
        api = make_client(receiver)
        basis = api_basis(api)
        settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
        _reset_celery_connections()
        billing.offer_send(basis=basis, by=None)  # the change commits although the broker is gone
        basis.refresh_from_db()
        assert basis.status == "offer_sent"
        assert Notification.objects.filter(status="pending", attempts=0).count() == 1

        settings.CELERY_BROKER_URL = redis_url
        _reset_celery_connections()
        assert celery_app.conf.broker_url == redis_url
        assert services.sweep_notifications() == 1
        assert receiver.wait_for(1), "the sweep did not get the notification delivered"
        assert events(receiver) == FLOW[:1]
    finally:
        receiver.stop()
