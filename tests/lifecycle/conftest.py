import io
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest


def pdf_text(data: bytes) -> str:
    """The text of a PDF as a reader would copy it (non-breaking spaces as plain spaces)."""
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages).replace("\u00a0", " ")


class _StripeRefundFake(BaseHTTPRequestHandler):
    """The two Stripe endpoints a refund needs: read a checkout session (→ payment intent) and create a
    refund (idempotent by the Idempotency-Key header, as Stripe is)."""

    def log_message(self, *args):
        pass

    def _json(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):  # noqa: N802
        if self.path.startswith("/v1/checkout/sessions/"):
            sid = self.path.rsplit("/", 1)[-1]
            return self._json(200, {"id": sid, "object": "checkout.session", "payment_intent": f"pi_for_{sid}"})
        return self._json(404, {"error": {"type": "invalid_request_error", "message": "not found"}})

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
        params = {k: v[0] for k, v in parse_qs(body).items()}
        if self.path == "/v1/refunds":
            state = self.server.state
            key = self.headers.get("Idempotency-Key", "")
            if key in state["by_key"]:
                return self._json(200, state["by_key"][key])
            refund = {"id": f"re_{len(state['refunds']) + 1}", "object": "refund", "status": "succeeded",
                      "amount": int(params["amount"]), "payment_intent": params["payment_intent"]}
            state["refunds"].append(refund)
            state["by_key"][key] = refund
            return self._json(200, refund)
        return self._json(404, {"error": {"type": "invalid_request_error", "message": "not found"}})


@pytest.fixture
def stripe_refund_fake(settings):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _StripeRefundFake)
    server.state = {"refunds": [], "by_key": {}}
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.STRIPE_SECRET_KEY = "sk_test_lifecycle"
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{server.server_address[1]}"
    settings.PORTAL_STRIPE_MAX_NETWORK_RETRIES = 0
    yield server.state
    server.shutdown()
    server.server_close()
