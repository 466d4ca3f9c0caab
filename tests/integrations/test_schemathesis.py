"""Property-based run of the whole API from its own OpenAPI schema (schemathesis, bounded examples):
whatever the generated input, the API answers without a 5xx and every error has the error shape."""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings

from tests.support.api import basis_payload, example1_payload

pytestmark = pytest.mark.django_db

MAX_EXAMPLES = 20


def _compat_many_more():
    """hypothesis-jsonschema 0.23 (under schemathesis 3.39) still calls `many.more()`, which newer
    Hypothesis releases replaced by iteration. Give it the old method back, for this test only."""
    from hypothesis.internal.conjecture import utils as cu

    if hasattr(cu.many, "more"):
        return

    def more(self):
        if self._depth is None:
            self._depth = self.data.depth
        if self._in_element:
            self._finish_element()
        if not self._decide():
            self._closed = True
            return False
        self.count += 1
        self._in_element = True
        self._rejected = False
        return True

    cu.many.more = more


def test_no_server_errors_for_generated_requests(api, settings):
    settings.ALLOWED_HOSTS = ["localhost", "testserver"]  # schemathesis' WSGI client calls it localhost
    # Something to find: a basis with lines and a related case, a shared cost.
    basis = api.post("/api/v1/invoice-bases", basis_payload()).json()
    api.post(f"/api/v1/invoice-bases/{basis['id']}/cost-lines/batch", example1_payload())
    api.post(f"/api/v1/invoice-bases/{basis['id']}/related-cases", {"source": "nettmelding", "external_id": "NM-1"})

    _compat_many_more()
    schemathesis.experimental.OPEN_API_3_1.enable()  # ninja emits OpenAPI 3.1
    headers = {"Authorization": f"Bearer {api.token}"}
    failures = []
    operations = 0
    # Like Django's test client: keep the test's database connection (and transaction) across requests.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        schema = schemathesis.from_wsgi("/api/v1/openapi.json", get_wsgi_application())
        for result in schema.get_all_operations():
            operations += 1
            check_operation(result.ok(), headers, failures)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    assert operations == 9
    assert not failures, failures[:5]


def check_operation(operation, headers, failures):
    @given(case=operation.as_strategy())
    @hsettings(max_examples=MAX_EXAMPLES, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    def run(case):
        response = case.call_wsgi(headers=headers)
        if response.status_code >= 500:
            failures.append((operation.verbose_name, case.path_parameters, case.body,
                             response.get_data(as_text=True)[:300]))
            return
        if response.status_code >= 400:
            body = response.json if response.is_json else None
            if not (isinstance(body, dict) and set(body) == {"error"}
                    and {"code", "message"} <= set(body["error"])):
                failures.append((operation.verbose_name, response.status_code, case.path_parameters,
                                 case.body, response.get_data(as_text=True)[:300]))

    run()
