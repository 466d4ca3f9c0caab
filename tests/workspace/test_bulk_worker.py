"""Bulk offer sending through a real Celery worker on Redis: one task per basis, results per basis."""

import os
import signal
import subprocess
import sys

import pytest
from django.conf import settings as django_settings
from django.urls import reverse

from billing.models import BulkJob
from billing.status import Status
from kundefaktura.celery import ping
from tests.conftest import REPO_ROOT
from tests.factories import NO_CUSTOMER, add_line, make_basis
from tests.test_celery_worker import celery_on_redis  # noqa: F401 — fixture

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def db_worker(celery_on_redis, redis_url, tmp_path):  # noqa: F811
    """A solo worker on this test's queue, connected to the test database."""
    db = django_settings.DATABASES["default"]
    if not db["ENGINE"].endswith("postgresql"):
        pytest.skip("a worker process needs the PostgreSQL test database")
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env = {**os.environ, "CELERY_BROKER_URL": redis_url, "CELERY_RESULT_BACKEND": redis_url, "KF_TESTING": "1",
           "DATABASE_URL": url}
    log_path = tmp_path / "worker.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "kundefaktura", "worker", "--pool=solo", "--concurrency=1",
             "--loglevel=INFO", "-Q", celery_on_redis, "--hostname", f"{celery_on_redis}@%h",
             "--without-gossip", "--without-mingle", "--without-heartbeat"],
            cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        print(log_path.read_text())


def test_bulk_send_through_a_real_worker(db_worker, caseworker_client, caseworker, company):
    ready = [make_basis(by=caseworker, title=f"Klar {i}") for i in range(2)]
    for basis in ready:
        add_line(basis, caseworker)
    empty = make_basis(by=caseworker, title="Tom", customer=NO_CUSTOMER)
    response = caseworker_client.post(reverse("billing:bulk_send_offers"), {"ids": [*[b.pk for b in ready], empty.pk]})
    assert response.status_code == 302
    # One worker, one queue, FIFO: when this ping comes back, the bulk tasks queued before it are done.
    assert ping.delay("etter").get(timeout=60) == "etter"
    job = BulkJob.objects.get()
    statuses = dict(job.items.values_list("basis_id", "status"))
    assert [statuses[b.pk] for b in ready] == ["done", "done"] and statuses[empty.pk] == "failed"
    for basis in ready:
        basis.refresh_from_db()
        assert basis.status == Status.OFFER_SENT
    page = caseworker_client.get(response["Location"]).content.decode()
    assert "3 av 3 ferdig" in page and "Grunnlaget mangler kunde." in page
