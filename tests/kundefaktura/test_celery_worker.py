"""A Celery round trip through a real worker process on Redis (required under CI=true)."""

import signal

import pytest

from kundefaktura.celery import ping
from tests.support.celery_worker import celery_worker

pytestmark = pytest.mark.services


@pytest.fixture
def worker(celery_on_redis, redis_url, tmp_path):
    """`celery -A kundefaktura worker --pool=solo` consuming only this test's queue."""
    with celery_worker(celery_on_redis, redis_url, tmp_path / "worker.log") as proc:
        yield proc


def test_ping_round_trip_through_a_real_worker_which_stops_on_sigterm(worker):
    # The task waits in Redis until the worker is up: no sleep needed to synchronise.
    result = ping.delay("x")
    assert result.get(timeout=20) == "x"
    assert result.successful()
    assert worker.poll() is None, "worker died during the test"
    # A deploy sends SIGTERM: the worker finishes warm and exits 0.
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=20) == 0
