"""Two systems (or a retrying client) sending the same line at the same moment: one line, no error."""

import threading

import pytest
from django.db import connection

from billing.models import CostLine
from tests.integrations.conftest import basis_payload, line_payload

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_same_line_sent_twice_at_once_gives_one_line(api):
    if connection.vendor != "postgresql":
        pytest.skip("needs row locks (PostgreSQL)")
    basis = api.post("/api/v1/invoice-bases", basis_payload()).json()
    url = f"/api/v1/invoice-bases/{basis['id']}/cost-lines"
    barrier = threading.Barrier(4)
    statuses = []

    def send():
        try:
            barrier.wait()
            statuses.append(api.post(url, line_payload("SAME")).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [200, 200, 200, 201]
    assert CostLine.objects.filter(line_reference="SAME").count() == 1
