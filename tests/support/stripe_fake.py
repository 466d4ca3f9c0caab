"""A small threaded fake of the Stripe HTTP API, driven through the real `stripe` client.

Covers what the portal uses: Checkout Sessions (create with idempotency keys, retrieve, expire), charges,
refunds and payment intents, plus a hosted "checkout page" (GET /checkout/<id>) whose Pay button marks
the session paid and redirects to its success_url, like Stripe Checkout does. `event()` builds a webhook
payload; `post_webhook` signs it and posts it to the portal's webhook URL. The fixture `stripe_fake` points
the settings at a running fake. `paid_session()` makes a session the customer has paid, so a payment
registered by hand can be refunded; refunds are idempotent by the Idempotency-Key header, as Stripe's are.
"""

from __future__ import annotations

import html
import itertools
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import pytest
import stripe

WEBHOOK_SECRET = "whsec_test_portal"


def parse_form(body: str) -> dict:
    """`a[b][0][c]=1` form encoding → nested dicts/lists."""
    root: dict = {}
    for key, value in parse_qsl(body, keep_blank_values=True):
        parts = re.findall(r"[^\[\]]+", key)
        node = root
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if last:
                node[part] = value
            else:
                node = node.setdefault(part, {})
    return _lists(root)


def _lists(node):
    if isinstance(node, dict):
        if node and all(k.isdigit() for k in node):
            return [_lists(node[k]) for k in sorted(node, key=int)]
        return {k: _lists(v) for k, v in node.items()}
    return node


class FakeStripe:
    def __init__(self):
        self.sessions: dict[str, dict] = {}
        self.charges: dict[str, dict] = {}
        self.refunds: dict[str, dict] = {}
        self.payment_intents: dict[str, dict] = {}
        self.idempotent: dict[str, dict] = {}
        self.requests: list[dict] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> FakeStripe:
        self._thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def _id(self, prefix):
        return f"{prefix}_test_{next(self._ids):06d}"

    # --- state changes a real customer/Stripe would make ---------------------------------------

    def pay(self, session_id: str) -> dict:
        with self._lock:
            s = self.sessions[session_id]
            if s["payment_status"] != "paid":
                pi, ch = self._id("pi"), self._id("ch")
                self.payment_intents[pi] = {"id": pi, "object": "payment_intent", "amount": s["amount_total"],
                                            "currency": s["currency"], "status": "succeeded", "latest_charge": ch}
                self.charges[ch] = {"id": ch, "object": "charge", "amount": s["amount_total"], "currency": s["currency"],
                                    "payment_intent": pi, "paid": True, "refunded": False, "amount_refunded": 0}
                s.update(payment_status="paid", status="complete", payment_intent=pi)
            return s

    def paid_session(self, amount: int, currency: str = "nok") -> dict:
        """A checkout session the customer has already paid (amount in øre), as a webhook would report it."""
        with self._lock:
            session = self._create_session({
                "mode": "payment", "success_url": "http://testserver/ok", "cancel_url": "http://testserver/cancel",
                "line_items": [{"price_data": {"unit_amount": str(amount), "currency": currency}, "quantity": "1"}]})
        return self.pay(session["id"])

    def expire(self, session_id: str) -> dict:
        with self._lock:
            s = self.sessions[session_id]
            if s["status"] == "open":
                s["status"] = "expired"
            return s

    def refund(self, charge_id: str, amount: int | None = None) -> dict:
        with self._lock:
            ch = self.charges[charge_id]
            amount = amount if amount is not None else ch["amount"] - ch["amount_refunded"]
            re_id = self._id("re")
            refund = {"id": re_id, "object": "refund", "amount": amount, "charge": charge_id,
                      "payment_intent": ch["payment_intent"], "currency": ch["currency"], "status": "succeeded"}
            self.refunds[re_id] = refund
            ch["amount_refunded"] += amount
            ch["refunded"] = ch["amount_refunded"] >= ch["amount"]
            return refund

    def event(self, type_: str, obj: dict, event_id: str | None = None) -> bytes:
        return json.dumps({"id": event_id or self._id("evt"), "object": "event", "type": type_,
                           "api_version": "2024-06-20", "created": int(time.time()),
                           "data": {"object": obj}, "livemode": False}).encode()

    # --- HTTP --------------------------------------------------------------------------------

    def _create_session(self, params: dict) -> dict:
        sid = self._id("cs")
        amount = sum(int(li["price_data"]["unit_amount"]) * int(li.get("quantity", 1))
                     for li in params.get("line_items", []))
        currency = params["line_items"][0]["price_data"]["currency"] if params.get("line_items") else "nok"
        session = {"id": sid, "object": "checkout.session", "mode": params.get("mode"), "status": "open",
                   "payment_status": "unpaid", "amount_total": amount, "currency": currency,
                   "payment_method_types": params.get("payment_method_types", []),
                   "client_reference_id": params.get("client_reference_id"),
                   "metadata": params.get("metadata", {}), "customer_email": params.get("customer_email"),
                   "success_url": params["success_url"], "cancel_url": params["cancel_url"],
                   "expires_at": int(params["expires_at"]) if params.get("expires_at") else None,
                   "payment_intent": None, "url": f"{self.url}/checkout/{sid}"}
        self.sessions[sid] = session
        return session

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, status, body, content_type="application/json", headers=None):
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def _not_found(self, what):
                self._send(404, {"error": {"type": "invalid_request_error", "code": "resource_missing",
                                           "message": f"No such {what}"}})

            def _record(self, params):
                fake.requests.append({"method": self.command, "path": self.path, "params": params,
                                      "idempotency_key": self.headers.get("Idempotency-Key"),
                                      "authorization": self.headers.get("Authorization")})

            def do_GET(self):
                parts = urlsplit(self.path)
                query = dict(parse_qsl(parts.query))
                self._record(query)
                path = parts.path
                if m := re.fullmatch(r"/v1/checkout/sessions/([\w]+)", path):
                    s = fake.sessions.get(m[1])
                    return self._send(200, s) if s else self._not_found("checkout.session")
                if m := re.fullmatch(r"/v1/charges/([\w]+)", path):
                    c = fake.charges.get(m[1])
                    return self._send(200, c) if c else self._not_found("charge")
                if m := re.fullmatch(r"/v1/payment_intents/([\w]+)", path):
                    p = fake.payment_intents.get(m[1])
                    return self._send(200, p) if p else self._not_found("payment_intent")
                if path == "/v1/refunds":
                    data = [r for r in fake.refunds.values() if r["charge"] == query.get("charge")]
                    return self._send(200, {"object": "list", "data": data, "has_more": False, "url": "/v1/refunds"})
                if m := re.fullmatch(r"/checkout/([\w]+)", path):
                    s = fake.sessions.get(m[1])
                    if not s:
                        return self._send(404, b"not found", "text/plain")
                    amount = f"{s['amount_total'] / 100:.2f}"
                    page = (f"<!DOCTYPE html><html lang='nb'><head><meta charset='utf-8'>"
                            f"<meta name='viewport' content='width=device-width'><title>Fake Stripe Checkout</title>"
                            "<link rel='icon' href='data:,'>"
                            f"</head><body><h1>Fake Stripe Checkout</h1><p id='amount'>{amount} "
                            f"{html.escape(s['currency'].upper())}</p>"
                            f"<form method='post' action='/checkout/{s['id']}/pay'>"
                            f"<label>Kortnummer <input name='card' value='4242 4242 4242 4242'></label>"
                            f"<button type='submit'>Betal</button></form>"
                            f"<form method='post' action='/checkout/{s['id']}/cancel'>"
                            f"<button type='submit'>Avbryt</button></form></body></html>")
                    return self._send(200, page.encode(), "text/html; charset=utf-8")
                self._not_found(path)

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                params = parse_form(self.rfile.read(length).decode())
                self._record(params)
                path = urlsplit(self.path).path
                key = self.headers.get("Idempotency-Key")
                if path == "/v1/checkout/sessions":
                    with fake._lock:
                        if key and key in fake.idempotent:
                            return self._send(200, fake.idempotent[key], headers={"Idempotent-Replayed": "true"})
                        session = fake._create_session(params)
                        if key:
                            fake.idempotent[key] = session
                    return self._send(200, session)
                if m := re.fullmatch(r"/v1/checkout/sessions/([\w]+)/expire", path):
                    s = fake.sessions.get(m[1])
                    if not s:
                        return self._not_found("checkout.session")
                    if s["status"] != "open":  # like Stripe: only an open session can be expired
                        return self._send(400, {"error": {
                            "type": "invalid_request_error", "code": "checkout_session_not_open",
                            "message": f"Only Checkout Sessions with a status of `open` can be expired; "
                                       f"this one is `{s['status']}`."}})
                    return self._send(200, fake.expire(s["id"]))
                if path == "/v1/refunds":
                    charge = params.get("charge") or fake.payment_intents.get(params.get("payment_intent"), {}).get(
                        "latest_charge")
                    if charge not in fake.charges:
                        return self._not_found("charge")
                    with fake._lock:  # like Stripe: the same Idempotency-Key answers the same refund
                        if key and key in fake.idempotent:
                            return self._send(200, fake.idempotent[key], headers={"Idempotent-Replayed": "true"})
                    refund = fake.refund(charge, int(params["amount"]) if "amount" in params else None)
                    if key:
                        fake.idempotent[key] = refund
                    return self._send(200, refund)
                if m := re.fullmatch(r"/checkout/([\w]+)/(pay|cancel)", path):
                    s = fake.sessions.get(m[1])
                    if not s:
                        return self._send(404, b"not found", "text/plain")
                    if m[2] == "pay":
                        fake.pay(s["id"])
                        target = s["success_url"]
                    else:
                        target = s["cancel_url"]
                    target = target.replace("{CHECKOUT_SESSION_ID}", s["id"])
                    return self._send(303, b"", "text/plain", headers={"Location": target})
                self._not_found(path)

        return Handler


@pytest.fixture
def stripe_fake(settings):
    fake = FakeStripe().start()
    settings.PAYMENT_PROVIDER = "stripe"
    settings.STRIPE_SECRET_KEY = "sk_test_portal"
    settings.STRIPE_API_BASE = fake.url
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.PORTAL_STRIPE_MAX_NETWORK_RETRIES = 0
    yield fake
    fake.stop()


def signed(payload: bytes, secret: str = WEBHOOK_SECRET) -> dict:
    header = stripe.WebhookSignature.generate_signature_header(payload.decode(), secret)
    return {"HTTP_STRIPE_SIGNATURE": header}


def post_webhook(client, payload: bytes, secret: str = WEBHOOK_SECRET):
    return client.post("/portal/stripe/webhook/", data=payload, content_type="application/json",
                       **signed(payload, secret))
