"""Real services the fault tests start and stop themselves, on spare ports."""

import subprocess
import threading

import pytest

from tests.conftest import free_port
from tests.support.factories import make_company


class OwnRedis:
    """A redis-server of the test's own (no persistence), stoppable and restartable on the same port."""

    def __init__(self):
        self.port = free_port()
        self.proc = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--daemonize", "no"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for line in self.proc.stdout:  # wait for the server to say it is ready (no polling)
            if "Ready to accept connections" in line:
                break
        else:
            raise RuntimeError(f"redis-server did not start (exit {self.proc.wait()})")
        # Keep draining its output so a full pipe never blocks it.
        threading.Thread(target=self.proc.stdout.read, daemon=True).start()
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.proc = None


@pytest.fixture
def own_redis():
    import shutil

    if not shutil.which("redis-server"):
        pytest.skip("redis-server is not installed")
    server = OwnRedis().start()
    yield server
    server.stop()


@pytest.fixture
def company(role_groups):  # noqa: F811
    return make_company()
