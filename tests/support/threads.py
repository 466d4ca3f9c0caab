"""Run one callable in N threads released at the same instant, each with its own DB connection."""

import threading

from django.db import connection


def run_at_once(n: int, func, timeout: float = 30.0) -> tuple[list, list]:
    """Call `func(i)` in `n` threads that all start together (a barrier); returns (results, errors).

    Every thread closes its own database connection, so the test database can be dropped afterwards.
    """
    barrier = threading.Barrier(n)
    results, errors = [None] * n, []
    lock = threading.Lock()

    def run(i):
        try:
            barrier.wait(timeout)
            results[i] = func(i)
        except Exception as exc:  # noqa: BLE001 - reported to the test
            with lock:
                errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    return results, errors
