"""Two systems (or a retrying client) sending the same line at the same moment: one line, no error."""

import pytest
from django.db import connection

from billing.models import CostLine
from tests.support.api import basis_payload, line_payload
from tests.support.threads import run_at_once

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_same_line_sent_twice_at_once_gives_one_line(api):
    if connection.vendor != "postgresql":
        pytest.skip("needs row locks (PostgreSQL)")
    basis = api.post("/api/v1/invoice-bases", basis_payload()).json()
    url = f"/api/v1/invoice-bases/{basis['id']}/cost-lines"
    responses, errors = run_at_once(4, lambda _i: api.post(url, line_payload("SAME")))
    assert not errors
    assert sorted(r.status_code for r in responses) == [200, 200, 200, 201]
    assert CostLine.objects.filter(line_reference="SAME").count() == 1
