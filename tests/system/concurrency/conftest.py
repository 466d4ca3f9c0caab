import pytest
from django.db import connection

from tests.support.factories import make_company


@pytest.fixture
def postgres_only(transactional_db):
    if connection.vendor != "postgresql":
        pytest.skip("row locks and concurrent connections need PostgreSQL")


@pytest.fixture
def company(role_groups):  # noqa: F811
    return make_company()


@pytest.fixture
def no_documents():
    """Leave out the PDFs and e-mails that follow offers and invoices (offers' audit listener): tests
    about numbering or locking set up twenty bases and need not render forty PDFs to do it."""
    from billing.signals import audit_recorded
    from offers.receivers import on_audit

    assert audit_recorded.disconnect(dispatch_uid="offers.on_audit")
    yield
    audit_recorded.connect(on_audit, dispatch_uid="offers.on_audit")
