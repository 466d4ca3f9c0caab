"""Structured logs: LOG_FORMAT=json gives one JSON object per line with the request id (kept from a sane
X-Request-ID, else new, and returned), the user id and the basis; secrets never reach the output."""

import io
import json
import logging
import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from kundefaktura import logs
from kundefaktura.celery import _bind_task_log_context, _reset_task_log_context, ping
from tests.conftest import TEST_PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def log_output():
    """The root logger's output through the production handler setup (context filter + formatter)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(logs.ContextFilter())
    handler.setFormatter(logs.JsonFormatter())
    root, request_log = logging.getLogger(), logging.getLogger("kundefaktura.request")
    old_levels = root.level, request_log.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    request_log.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(old_levels[0])
        request_log.setLevel(old_levels[1])


def _lines(stream) -> list[dict]:
    text = stream.getvalue()
    assert text, "nothing was logged: the test would prove nothing"
    return [json.loads(line) for line in text.splitlines()]  # every line is one JSON object


def test_json_lines_carry_request_user_and_basis_and_never_a_secret(
        log_output, company, caseworker, customer_user, django_capture_on_commit_callbacks):
    from tests.support.factories import example1_lines, make_basis, make_customer

    customer = make_customer(email=customer_user.email)
    basis = make_basis(customer=customer, by=caseworker)
    example1_lines(basis, caseworker)

    worker = Client()
    worker.post("/login/", {"username": caseworker.username, "password": "feil-passord-hemmelig"})
    assert worker.post("/login/", {"username": caseworker.username, "password": TEST_PASSWORD}).status_code == 302
    page = worker.get(reverse("billing:basis_detail", args=[basis.pk]), HTTP_X_REQUEST_ID="lb-0123456789abcdef")
    assert page["X-Request-ID"] == "lb-0123456789abcdef"  # a sane incoming id is kept and returned
    hostile = worker.get("/arbeid/?q=x", HTTP_X_REQUEST_ID="<script>alert(1)</script>")
    assert re.fullmatch(r"[0-9a-f]{16}", hostile["X-Request-ID"])  # replaced by a fresh one
    with django_capture_on_commit_callbacks(execute=True):  # the offer, with the set-password link
        sent = worker.post(reverse("billing:basis_action", args=[basis.pk, "send_offer"]), {})
    assert sent.status_code in (200, 302) and len(mail.outbox) == 1
    with django_capture_on_commit_callbacks(execute=True):
        Client().post(reverse("portal:login_link"), {"email": customer_user.email})
    # Links with tokens, in the path and in a query string, and a bearer token.
    link = re.search(r"/portal/innlogging/lenke/[^\s]+", "\n".join(m.body for m in mail.outbox)).group(0)
    Client().get(link)
    Client().get("/login/?token=hemmelig-spoerring&next=/arbeid/")
    Client(HTTP_AUTHORIZATION="Bearer kf_hemmelig_bearer").get("/api/v1/invoice-bases/1")
    logging.getLogger("kundefaktura.test").warning("webhook with %s", "Stripe-Signature: t=1,v1=abc123hemmelig")

    lines = _lines(log_output)
    seen = next(x for x in lines if x.get("path") == f"/arbeid/grunnlag/{basis.pk}/")
    assert seen["request_id"] == "lb-0123456789abcdef" and seen["user_id"] == caseworker.pk
    assert seen["basis_id"] == basis.pk and seen["status"] == 200 and seen["level"] == "INFO"
    assert {"ts", "logger", "message", "method", "duration_ms"} <= set(seen)
    assert any(x.get("basis") == basis.number for x in lines), "a service's line names the basis number"
    assert any(x.get("path") == "/login/" and "token" not in x["path"] for x in lines)

    secrets = [TEST_PASSWORD, "feil-passord-hemmelig", "hemmelig-spoerring", "kf_hemmelig_bearer",
               "abc123hemmelig", link.split("/lenke/")[1].strip("/")]
    for message in mail.outbox:
        secrets += re.findall(r"/(?:lenke|passord)/[^\s]+", message.body)
        secrets += [line for line in message.body.splitlines() if len(line) > 40]  # e-mail body text
    output = log_output.getvalue()
    assert [s for s in secrets if s and s in output] == []


def test_plain_lines_are_readable_with_the_context_at_the_end():
    record = logging.LogRecord("kundefaktura.x", logging.INFO, __file__, 1, "sent %s", ("password=abc",), None)
    with logs.bound(request_id="r-12345678", user_id=7):
        logs.ContextFilter().filter(record)
    line = logs.PlainFormatter().format(record)
    assert line.endswith("INFO kundefaktura.x sent password=[redacted] [request_id=r-12345678 user_id=7]")


def test_a_celery_task_logs_with_its_name_and_id(log_output):
    _bind_task_log_context(task_id="t-1", task=ping)
    logging.getLogger("offers.outbox").info("e-mail sent")
    _reset_task_log_context(task_id="t-1")
    logging.getLogger("offers.outbox").info("after the task")
    first, after = _lines(log_output)
    assert (first["task"], first["task_id"]) == ("kundefaktura.ping", "t-1")
    assert "task" not in after
