"""PostgreSQL binds the parameters itself and keeps a connection's frequent queries prepared
(kundefaktura/settings.py); a statement with more parameters than the server can bind still runs
(kundefaktura/pgcursor.py)."""

import pytest
from django.db import connection

from billing.models import CostCategory
from kundefaktura.pgcursor import MAX_BOUND_PARAMETERS, Cursor, unprepared


@pytest.fixture(autouse=True)
def postgres(db):
    if connection.vendor != "postgresql":
        pytest.skip("server-side binding is PostgreSQL's")


def test_the_connection_binds_on_the_server():
    connection.ensure_connection()
    assert issubclass(connection.connection.cursor_factory, Cursor)
    assert connection.settings_dict["OPTIONS"]["server_side_binding"] is True


def test_a_query_run_often_is_prepared():
    codes = ["ANLEGG", "MONTASJE"]
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")
    threshold = connection.settings_dict["OPTIONS"]["prepare_threshold"]
    for _ in range(threshold + 1):
        list(CostCategory.objects.filter(code__in=codes).values_list("pk", flat=True))
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements WHERE statement LIKE %s",
                       ['%"billing_costcategory"%'])
        statements = [row[0] for row in cursor.fetchall()]
    assert any("$1" in text for text in statements), statements


def test_more_parameters_than_the_server_can_bind():
    ids = list(CostCategory.objects.values_list("pk", flat=True))
    assert ids
    many = ids + list(range(-1, -MAX_BOUND_PARAMETERS - 10, -1))  # 65 545 more, none of them a row
    assert len(many) > MAX_BOUND_PARAMETERS
    assert sorted(CostCategory.objects.filter(pk__in=many).values_list("pk", flat=True)) == sorted(ids)
    # Text with a literal % still reads right once the values are merged into it.
    names = CostCategory.objects.filter(pk__in=many, label__contains="%").count()
    assert names == CostCategory.objects.filter(label__contains="%").count()


def test_statements_run_unprepared_are_never_kept():
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")
    threshold = connection.settings_dict["OPTIONS"]["prepare_threshold"]
    with unprepared():
        for _ in range(threshold + 2):
            list(CostCategory.objects.filter(code__in=["ANLEGG"]).values_list("pk", flat=True))
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
                       ['%"billing_costcategory"%'])
        assert cursor.fetchone()[0] == 0
    for _ in range(threshold + 1):  # outside it, the same statement is prepared again
        list(CostCategory.objects.filter(code__in=["ANLEGG"]).values_list("pk", flat=True))
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
                       ['%"billing_costcategory"%'])
        assert cursor.fetchone()[0] == 1
