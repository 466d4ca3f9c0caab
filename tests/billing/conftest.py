import pytest
from django.db import connection


@pytest.fixture
def stored_columns(db):
    """The database-only columns and their triggers (billing/migrations/0011–0014) are PostgreSQL's."""
    if connection.vendor != "postgresql":
        pytest.skip("the stored columns and their triggers are PostgreSQL's")
