"""A Celery worker keeps its database connection from task to task, under Django's rules for keeping one
(kundefaktura/celery.py, settings.CELERY_DB_REUSE_MAX): a new connection per task cost every task of a
bulk job a PostgreSQL backend of its own."""

import time
from types import SimpleNamespace

import pytest
from celery.fixups.django import DjangoWorkerFixup
from celery.signals import task_postrun, task_prerun
from django.conf import settings
from django.db import connection, transaction

from kundefaktura.celery import app


@pytest.fixture(autouse=True)
def postgres(transactional_db):
    # Workers run on PostgreSQL; Django never closes SQLite's in-memory test database.
    if connection.vendor != "postgresql":
        pytest.skip("the workers' database is PostgreSQL")


class _Task:
    """What the handlers read of a Celery task: its name and whether it runs eagerly."""

    name = "tests.fake"

    def __init__(self, *, eager: bool):
        self.request = SimpleNamespace(is_eager=eager)


def _task(*, eager: bool):
    return _Task(eager=eager)


def _run_task_signals(task):
    """What a worker sends around one task (its body does not matter here)."""
    task_prerun.send(sender=task, task_id="t-1", task=task, args=(), kwargs={})
    task_postrun.send(sender=task, task_id="t-1", task=task, args=(), kwargs={}, retval=None, state="SUCCESS")


def _connected():
    connection.ensure_connection()
    connection.close_at = None  # as with CONN_MAX_AGE=None, whatever the test database's setting
    return connection.connection


@pytest.mark.django_db(transaction=True)
def test_a_healthy_connection_is_kept_for_the_next_task():
    raw = _connected()
    for _ in range(3):
        _run_task_signals(_task(eager=False))
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    assert connection.connection is raw


@pytest.mark.django_db(transaction=True)
def test_a_connection_past_its_age_is_closed_after_the_task():
    _connected()
    connection.close_at = time.monotonic() - 1
    _run_task_signals(_task(eager=False))
    assert connection.connection is None


@pytest.mark.django_db(transaction=True)
def test_a_connection_left_in_a_transaction_is_closed():
    _connected()
    connection.set_autocommit(False)  # a task that broke off inside a transaction
    task_postrun.send(sender=None, task_id="t-2", task=_task(eager=False), args=(), kwargs={}, retval=None,
                      state="FAILURE")
    assert connection.connection is None
    connection.set_autocommit(True)


@pytest.mark.django_db(transaction=True)
def test_an_eager_task_inside_a_transaction_leaves_the_callers_connection_alone():
    with transaction.atomic():
        raw = _connected()
        _run_task_signals(_task(eager=True))
        assert connection.connection is raw
        assert connection.in_atomic_block


@pytest.mark.django_db(transaction=True)
def test_celerys_django_fixup_no_longer_closes_the_connection_around_every_task():
    fixup = DjangoWorkerFixup(app)
    assert fixup.db_reuse_max == settings.CELERY_DB_REUSE_MAX > 1
    raw = _connected()
    fixup.on_task_prerun(sender=_task(eager=False))
    fixup.on_task_postrun(sender=_task(eager=False))
    assert connection.connection is raw
