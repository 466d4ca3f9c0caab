"""Bulk offer sending through a real Celery worker on Redis: one task per basis, results per basis."""

import pytest
from django.urls import reverse

from billing.models import BulkJob
from billing.status import Status
from kundefaktura.celery import ping
from tests.support.celery_worker import celery_worker, test_database_url
from tests.support.factories import NO_CUSTOMER, add_line, make_basis

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def db_worker(celery_on_redis, redis_url, tmp_path):
    """A solo worker on this test's queue, connected to the test database."""
    with celery_worker(celery_on_redis, redis_url, tmp_path / "worker.log", test_database_url()) as proc:
        yield proc


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
