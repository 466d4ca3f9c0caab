"""Queueing Celery tasks from services without importing the tasks module.

Tasks sit above services (a task loads rows and calls one service), so a service names the task it
wants run instead of importing it. `enqueue_on_commit` hands the task to Celery once the current
transaction has committed — a rolled-back change queues nothing — and a broker that is down is
logged, not raised: the work is an outbox row first, and that outbox's sweeper
(`kundefaktura/outbox.py`) queues it again later.
"""

from __future__ import annotations

import logging

from django.db import transaction

log = logging.getLogger(__name__)


def task_by_name(name: str):
    """The registered Celery task called `name` (every app's tasks module is loaded on first use)."""
    from kundefaktura.celery import app

    if name not in app.tasks:
        app.loader.import_default_modules()  # runs autodiscover_tasks in a process that is not a worker
    return app.tasks[name]


def enqueue(name: str, *args, countdown: float | None = None, **kwargs) -> bool:
    """Queue task `name` now; False (and a warning) when the broker cannot be reached."""
    try:
        task_by_name(name).apply_async(args=args, kwargs=kwargs or None, countdown=countdown)
    except KeyError:
        raise
    except Exception:  # noqa: BLE001 - the outbox row is safe; its sweeper queues it again
        log.warning("could not queue task %s%r; the outbox sweeper will retry", name, args, exc_info=True)
        return False
    return True


def enqueue_on_commit(name: str, *args, countdown: float | None = None, **kwargs) -> None:
    """Queue task `name` after the current transaction commits (at once outside a transaction)."""
    task_by_name(name)  # an unknown task name fails here, inside the caller's transaction
    transaction.on_commit(lambda: enqueue(name, *args, countdown=countdown, **kwargs))
