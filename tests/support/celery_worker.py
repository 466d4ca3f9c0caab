"""Real Celery workers in tests: point this process at Redis on a queue of its own, start
`celery -A kundefaktura worker --pool=solo` on that queue, stop it warm with SIGTERM."""

import contextlib
import os
import signal
import subprocess
import sys
import uuid

import pytest
from django.db import connection
from kombu import pools as kombu_pools

from kundefaktura import celery_app
from tests.conftest import REPO_ROOT, redis_ping, require_service


def reset_celery_connections():
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
    """Point this process's Celery app at Redis on a queue of its own (every task, whatever its usual
    queue, goes there); restore afterwards."""
    require_service("Redis", lambda: redis_ping(redis_url))
    queue = f"kf-test-{uuid.uuid4().hex[:12]}"
    settings.CELERY_BROKER_URL = redis_url
    settings.CELERY_RESULT_BACKEND = redis_url
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_TASK_DEFAULT_QUEUE = queue
    settings.CELERY_QUEUE_NAMES = dict.fromkeys(settings.CELERY_QUEUE_NAMES, queue)
    reset_celery_connections()
    assert celery_app.conf.broker_url == redis_url and not celery_app.conf.task_always_eager
    yield queue
    reset_celery_connections()


def test_database_url() -> str:
    """The URL of the test database, for a worker process that must see the test's rows."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        pytest.skip("a worker process needs a database it can share (PostgreSQL)")
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


test_database_url.__test__ = False  # a helper, not a test


@contextlib.contextmanager
def celery_worker(queue: str, redis_url: str, log_path, database_url: str | None = None):
    """A solo worker consuming only `queue`; SIGTERM (warm shutdown) when the block ends."""
    env = {**os.environ, "CELERY_BROKER_URL": redis_url, "CELERY_RESULT_BACKEND": redis_url, "KF_TESTING": "1"}
    if database_url:
        env["DATABASE_URL"] = database_url
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "kundefaktura", "worker", "--pool=solo", "--concurrency=1",
             "--loglevel=INFO", "-Q", queue, "--hostname", f"{queue}@%h", "--without-gossip",
             "--without-mingle", "--without-heartbeat"],
            cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        print(open(log_path).read()[-3000:])
