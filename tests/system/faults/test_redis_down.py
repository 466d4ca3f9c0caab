"""Redis stops while a case worker sends an offer: the request still succeeds at once, and when Redis
is back the outbox sweeper gets the e-mail and the notification delivered by a real Celery worker —
each exactly once."""

import os
import signal
import subprocess
import sys
import time

import pytest
from aiosmtpd.controller import Controller
from django.conf import settings as django_settings
from django.db import connection
from django.test import Client
from django.urls import reverse

from billing.models import AuditEvent
from integrations import services as integrations
from integrations.models import Notification
from kundefaktura.outbox import sweep_all
from offers.models import OutboundEmail
from tests.conftest import REPO_ROOT, free_port
from tests.support.api import ApiClientWrapper, api_basis
from tests.support.celery_worker import reset_celery_connections as _reset_celery_connections
from tests.support.mail import SmtpSink
from tests.support.webhooks import SECRET, Receiver, events

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def start_worker(redis_url: str, smtp_port: int, log_path):
    db = connection.settings_dict
    env = {**os.environ, "KF_TESTING": "1", "CELERY_BROKER_URL": redis_url,
           "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
           "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}"}
    with open(log_path, "w") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "kundefaktura", "worker", "--pool=solo", "--concurrency=1",
             "--loglevel=INFO", "--without-gossip", "--without-mingle", "--without-heartbeat",
             "-Q", ",".join(django_settings.CELERY_QUEUE_NAMES.values())],  # every queue, as `make worker`
            cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def stop_worker(proc):
    proc.send_signal(signal.SIGTERM)  # warm shutdown: the task in hand finishes first
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def test_offer_sent_while_redis_is_down_is_delivered_once_when_it_is_back(
        company, caseworker, own_redis, settings, tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("the worker process shares the test database (PostgreSQL)")
    sink = SmtpSink()
    smtp = Controller(sink, hostname="127.0.0.1", port=free_port())
    smtp.start()
    receiver = Receiver(SECRET)
    receiver.start()
    worker = None
    try:
        api_row, token = integrations.api_client_create(name="Nettmelding")
        integrations.subscription_create(client=api_row, url=receiver.url, secret=SECRET)
        basis = api_basis(ApiClientWrapper(token))

        settings.CELERY_BROKER_URL = own_redis.url
        settings.CELERY_TASK_ALWAYS_EAGER = False
        _reset_celery_connections()
        own_redis.stop()

        client = Client()
        client.force_login(caseworker, backend="django.contrib.auth.backends.ModelBackend")
        started = time.monotonic()
        response = client.post(reverse("billing:basis_action", args=[basis.pk, "send_offer"]))
        elapsed = time.monotonic() - started
        assert response.status_code == 302, response.content.decode()[:500]
        print(f"send_offer with Redis down answered in {elapsed * 1000:.0f} ms")
        assert elapsed < 2, f"the request waited {elapsed:.1f}s for the dead broker"
        basis.refresh_from_db()
        assert basis.status == "offer_sent"
        email = OutboundEmail.objects.get(basis=basis, kind="offer")
        assert (email.status, email.attempts) == ("queued", 0)
        assert Notification.objects.filter(basis=basis, status="pending").count() == 1

        own_redis.start()
        _reset_celery_connections()
        worker = start_worker(own_redis.url, smtp.port, tmp_path / "worker.log")
        settings.EMAIL_SWEEP_GRACE_SECONDS = 0  # the beat schedule's sweep, run now
        swept = sweep_all()
        assert sum(v for v in swept.values() if isinstance(v, int)) >= 2, swept

        assert sink.received.wait(30), "the e-mail was not delivered after Redis came back"
        assert receiver.wait_for(1), "the notification was not delivered after Redis came back"
        stop_worker(worker)
        worker = None

        assert len(sink.messages) == 1 and sink.messages[0]["To"] == basis.customer.email
        assert events(receiver) == [("invoice_basis.status_changed", "offer_sent")]
        email.refresh_from_db()
        assert (email.status, email.attempts) == ("sent", 1)
        assert not Notification.objects.filter(basis=basis).exclude(status="delivered").exists()
        assert AuditEvent.objects.filter(basis=basis, action="billing.basis.offer_sent").count() == 1
        # A later sweep finds nothing left to do: nothing is sent twice.
        assert all(v == 0 for v in sweep_all().values()), "the sweeper re-queued delivered rows"
    finally:
        if worker is not None:
            stop_worker(worker)
        _reset_celery_connections()
        receiver.stop()
        smtp.stop()
        print((tmp_path / "worker.log").read_text()[-3000:] if (tmp_path / "worker.log").exists() else "")
