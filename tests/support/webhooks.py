"""A local receiver of the outbound status notifications, checking their HMAC signature as a
subscriber's system would, and the events one basis sends from offer to work release."""

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.conftest import free_port

SECRET = "delt-hemmelighet-123"


class Receiver:
    """A local webhook receiver. `mode`: "ok" (204), "error" (503). `stop()` makes it unreachable."""

    def __init__(self, secret):
        self.secret = secret
        self.received = []  # payloads with a verified signature
        self.arrived = threading.Condition()
        self.rejected = 0
        self.mode = "ok"
        self.port = free_port()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                expected = "sha256=" + hmac.new(receiver.secret.encode(), body, hashlib.sha256).hexdigest()
                signature = self.headers.get("X-Kundefaktura-Signature", "")
                if not hmac.compare_digest(signature, expected):
                    receiver.rejected += 1
                    self.send_response(401)
                elif receiver.mode == "error":
                    self.send_response(503)
                else:
                    with receiver.arrived:
                        receiver.received.append(json.loads(body))
                        receiver.arrived.notify_all()
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}/hooks/kundefaktura"

    def start(self):
        if self.thread is None:
            self.server = self.server if self.server.socket.fileno() != -1 else ThreadingHTTPServer(
                ("127.0.0.1", self.port), self.server.RequestHandlerClass)
            self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
            self.thread.start()

    def wait_for(self, count, timeout=30):
        """Block until `count` notifications have arrived (no sleeping)."""
        with self.arrived:
            return self.arrived.wait_for(lambda: len(self.received) >= count, timeout=timeout)

    def stop(self):
        if self.thread is not None:
            self.server.shutdown()
            self.server.server_close()
            self.thread.join()
            self.thread = None


def events(receiver):
    return [(p["event"], p["to_status"] or p["work_release"]) for p in receiver.received]


FLOW = [("invoice_basis.status_changed", "offer_sent"), ("invoice_basis.status_changed", "accepted"),
        ("invoice_basis.work_release_changed", "released")]
