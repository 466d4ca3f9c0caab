"""SMTP on a port of the test's own: a temporary refusal is retried, a dead server ends in "failed" with
the error on the basis page, and the case worker's "send again" delivers it once the server is back."""

import pytest
from aiosmtpd.controller import Controller
from django.urls import reverse
from django.utils import timezone

from billing import services as billing
from offers import services
from offers.models import OutboundEmail
from tests.conftest import free_port
from tests.support.factories import example1_lines, make_basis, make_company
from tests.support.mail import SmtpSink

pytestmark = pytest.mark.django_db


class FlakySink(SmtpSink):
    """Answers 451 (try again later) to the first `refusals` messages, then accepts."""

    def __init__(self, refusals=0):
        super().__init__()
        self.refusals = refusals

    async def handle_DATA(self, server, session, envelope):
        if self.refusals:
            self.refusals -= 1
            return "451 4.3.0 Midlertidig feil, prøv igjen"
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def smtp(settings):
    """Start/stop an SMTP server on one fixed port; Django's SMTP backend points at it."""
    port = free_port()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 3
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    running = []

    class Server:
        def start(self, handler):
            controller = Controller(handler, hostname="127.0.0.1", port=port)
            controller.start()
            running.append(controller)
            return handler

        def stop(self):
            while running:
                running.pop().stop()

    server = Server()
    yield server
    server.stop()


def _due_now(row):
    OutboundEmail.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())


def _offer(caseworker, capture):
    make_company()
    basis = make_basis(by=caseworker)
    example1_lines(basis, caseworker)
    with capture(execute=True):
        billing.offer_send(basis=basis, by=caseworker)
    return basis, OutboundEmail.objects.get(basis=basis, kind="offer")


def test_temporary_refusal_is_retried_with_backoff_and_then_delivered_once(
        smtp, caseworker, settings, django_capture_on_commit_callbacks):
    sink = smtp.start(FlakySink(refusals=2))
    basis, row = _offer(caseworker, django_capture_on_commit_callbacks)
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("queued", 1) and "451" in row.last_error
    waits = [(row.next_attempt_at - timezone.now()).total_seconds()]
    _due_now(row)
    with django_capture_on_commit_callbacks(execute=True):
        services.email_deliver(row.pk)
    row.refresh_from_db()
    waits.append((row.next_attempt_at - timezone.now()).total_seconds())
    assert waits[1] > waits[0] * 1.5, f"backoff grows: {waits}"
    _due_now(row)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.email_deliver(row.pk) == "sent"
    assert services.email_deliver(row.pk) == "skipped"  # a duplicate task sends nothing
    assert len(sink.messages) == 1


def test_smtp_dead_fails_visibly_and_send_again_delivers_once_it_is_back(
        smtp, caseworker, caseworker_client, settings, django_capture_on_commit_callbacks):
    settings.EMAIL_MAX_ATTEMPTS = 2
    basis, row = _offer(caseworker, django_capture_on_commit_callbacks)  # nothing listens: refused
    _due_now(row)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.email_deliver(row.pk) == "failed"
    row.refresh_from_db()
    assert row.attempts == 2 and row.last_error
    page = caseworker_client.get(reverse("billing:basis_detail", args=[basis.pk])).content.decode()
    assert "Feilet" in page and row.last_error[:25] in page and "Send på nytt" in page
    basis.refresh_from_db()
    assert basis.status == "offer_sent"  # the offer stands; only the e-mail failed

    sink = smtp.start(SmtpSink())
    with django_capture_on_commit_callbacks(execute=True):
        response = caseworker_client.post(reverse("offers:email_resend", args=[row.pk]))
    assert response.status_code == 302
    row.refresh_from_db()
    assert row.status == "sent" and len(sink.messages) == 1
    assert sink.messages[0]["To"] == basis.customer.email
