"""A Celery round trip through a real worker process on Redis (required under CI=true)."""

import os
import signal
import subprocess
import sys
import uuid

import pytest
from kombu import pools as kombu_pools

from kundefaktura import celery_app
from kundefaktura.celery import ping
from tests.conftest import REPO_ROOT, redis_ping, require_service

pytestmark = pytest.mark.services


def _reset_celery_connections():
    """Drop cached producer pools and result backends so a changed broker URL is used.

    kombu keeps connection and producer pools in a process-wide registry keyed by URL; closing one
    without removing it would leave later tests with "Acquire on closed pool", so reset the
    registry as a whole.
    """
    kombu_pools.reset()
    celery_app._pool = None
    amqp = celery_app.__dict__.get("amqp")
    if amqp is not None:
        amqp._producer_pool = None
    if hasattr(celery_app._local, "backend"):
        del celery_app._local.backend


@pytest.fixture
def celery_on_redis(settings, redis_url):
    """Point this process's Celery app at Redis on a queue of its own; restore afterwards."""
    require_service("Redis", lambda: redis_ping(redis_url))
    queue = f"kf-test-{uuid.uuid4().hex[:12]}"
    settings.CELERY_BROKER_URL = redis_url
    settings.CELERY_RESULT_BACKEND = redis_url
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_TASK_DEFAULT_QUEUE = queue
    _reset_celery_connections()
    assert celery_app.conf.broker_url == redis_url and not celery_app.conf.task_always_eager
    yield queue
    _reset_celery_connections()


@pytest.fixture
def worker(celery_on_redis, redis_url, tmp_path):
    """`celery -A kundefaktura worker --pool=solo` consuming only this test's queue."""
    env = {**os.environ, "CELERY_BROKER_URL": redis_url, "CELERY_RESULT_BACKEND": redis_url,
           "KF_TESTING": "1"}
    log_path = tmp_path / "worker.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "kundefaktura", "worker", "--pool=solo",
             "--concurrency=1", "--loglevel=INFO", "-Q", celery_on_redis, "--hostname",
             f"{celery_on_redis}@%h", "--without-gossip", "--without-mingle", "--without-heartbeat"],
            cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
    try:
        yield proc
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        print(log_path.read_text())


def test_ping_round_trip_through_a_real_worker_which_stops_on_sigterm(worker):
    # The task waits in Redis until the worker is up: no sleep needed to synchronise.
    result = ping.delay("x")
    assert result.get(timeout=20) == "x"
    assert result.successful()
    assert worker.poll() is None, "worker died during the test"
    # A deploy sends SIGTERM: the worker finishes warm and exits 0.
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=20) == 0
