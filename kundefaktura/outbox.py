"""Outbox sweepers: functions the periodic task `kundefaktura.outbox_sweep` calls (every minute).

Each app that keeps an outbox appends a callable taking no arguments and returning the number of rows
it re-queued, e.g. in its AppConfig.ready():

    from kundefaktura.outbox import SWEEPERS
    SWEEPERS.append(my_sweeper)

A sweeper re-queues rows whose Celery task was lost (broker down when the row committed, worker died);
delivery tasks claim rows with a conditional UPDATE, so a duplicate task is harmless.
"""

import logging

log = logging.getLogger(__name__)

SWEEPERS: list = []


def register(func):
    """Decorator/function form of `SWEEPERS.append` (idempotent)."""
    if func not in SWEEPERS:
        SWEEPERS.append(func)
    return func


def sweep_all() -> dict:
    """Run every sweeper; one failing sweeper does not stop the others."""
    result = {}
    for func in list(SWEEPERS):
        name = f"{func.__module__}.{func.__qualname__}"
        try:
            result[name] = func()
        except Exception:  # noqa: BLE001 - a sweeper must not break the others
            log.exception("outbox sweeper %s failed", name)
            result[name] = "error"
    return result
