"""How the application talks to PostgreSQL."""

import pytest


@pytest.mark.django_db
def test_postgresql_connections_run_without_jit():
    """Short web queries must not pay for JIT compilation (30 of 89 ms on the overdue filter)."""
    from django.db import connection

    assert connection.vendor == "postgresql", "make test runs on PostgreSQL"
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "off"
