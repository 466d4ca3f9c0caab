"""E-mail: offer and invoice e-mails through Django's SMTP backend to a real local SMTP server
(aiosmtpd), portal access by a set-password link, retries with backoff, failure on the timeline,
resend by the case worker, the outbox sweeper, and no duplicates."""

import re
from decimal import Decimal

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.utils import timezone
from django.utils.http import urlsafe_base64_decode

from billing import services as billing
from billing.models import AuditEvent, Customer, Invoice
from billing.status import Status
from kundefaktura.accounts.roles import CUSTOMER, user_has_role
from offers import services
from offers.models import Attachment, OutboundEmail
from tests.support.documents import example_basis, pdf_text
from tests.support.factories import add_line

D = Decimal
pytestmark = pytest.mark.django_db


def _attachment(company_terms=b"%PDF-1.4 vilkaar"):
    from django.core.files.base import ContentFile

    doc = Attachment(title="Leveringsvilkår", always=True)
    doc.file.save("vilkaar.pdf", ContentFile(company_terms), save=True)
    return doc


def test_offer_email_reaches_the_customer_with_pdf_terms_and_set_password_link(
        company, caseworker, smtp_sink, oncommit):
    _attachment()
    basis = example_basis(caseworker)
    with oncommit():
        offer = billing.offer_send(basis=basis, by=caseworker)
    [msg] = smtp_sink.messages
    assert msg["To"] == "kari@example.com" and basis.number in msg["Subject"]
    files = {part.get_filename(): part.get_content() for part in msg.iter_attachments()}
    assert set(files) == {f"Tilbud-{basis.number}-v1.pdf", "Leveringsvilkår.pdf"}
    assert basis.number in pdf_text(files[f"Tilbud-{basis.number}-v1.pdf"])
    body = msg.get_body(preferencelist=("plain",)).get_content()
    assert "Brukernavn: kari@example.com" in body and "/portal/" in body
    # The portal user exists (role customer, no password) and the link lets exactly that user set one.
    customer = Customer.objects.get(pk=basis.customer_id)
    user = customer.user
    assert user.username == "kari@example.com" and user_has_role(user, CUSTOMER)
    assert not user.has_usable_password(), "no password is ever made up or mailed"
    link = re.search(r"https?://\S+/portal/\S+/(?P<uid>[\w-]+)/(?P<token>[\w-]+)/", body)
    assert link, body
    assert urlsafe_base64_decode(link["uid"]).decode() == str(user.pk)
    assert default_token_generator.check_token(user, link["token"])
    # The link works: the portal's set-password page answers for it.
    from django.test import Client
    from django.urls import resolve

    path = "/" + link.group(0).split("://", 1)[1].split("/", 1)[1]
    assert resolve(path).view_name == "portal:set_password"
    page = Client().get(path, follow=True)
    assert page.status_code == 200
    row = OutboundEmail.objects.get(basis=basis)
    assert row.status == OutboundEmail.Status.SENT and row.attempts == 1
    assert AuditEvent.objects.filter(basis=basis, action="offers.email.sent").exists()
    offer.refresh_from_db()
    assert offer.pdf_sha256


def test_sending_the_same_offer_twice_sends_one_email(company, caseworker, smtp_sink, oncommit):
    basis = example_basis(caseworker)
    with oncommit():
        billing.offer_send(basis=basis, by=caseworker)
    with oncommit():
        billing.offer_send(basis=basis, by=caseworker)
    assert len(smtp_sink.messages) == 1 and basis.emails.count() == 1
    add_line(basis, caseworker, category="fee", description="Gebyr", unit_price="500.00")
    with oncommit():
        billing.offer_send(basis=basis, by=caseworker)
    assert len(smtp_sink.messages) == 2, "a new version is a new e-mail"
    assert smtp_sink.messages[1].get_body(("plain",)).get_content().count("versjon 2") == 1


def test_invoice_emails_carry_the_invoice_pdfs(company, caseworker, smtp_sink, oncommit):
    basis = example_basis(caseworker)
    with oncommit():
        billing.offer_send(basis=basis, by=caseworker)
        billing.offer_accept(basis=basis, by=None)
    with oncommit():
        invoices = billing.invoices_issue(basis=basis, by=caseworker)
    invoice_mails = [m for m in smtp_sink.messages if "Faktura" in m["Subject"]]
    assert len(invoice_mails) == len(invoices) == 2
    for inv in invoices:
        inv.refresh_from_db()
        assert inv.sent_at is not None and inv.status == Invoice.Status.SENT
        msg = next(m for m in invoice_mails if str(inv.number) in m["Subject"])
        [att] = list(msg.iter_attachments())
        text = pdf_text(att.get_content())
        assert f"KID {inv.kid}" in text and str(inv.number) in text


def test_smtp_down_retries_with_backoff_then_fails_visibly_without_touching_the_status(
        company, caseworker, smtp_down, settings, oncommit, client):
    settings.EMAIL_MAX_ATTEMPTS = 3
    basis = example_basis(caseworker)
    with oncommit():
        billing.offer_send(basis=basis, by=caseworker)
    row = OutboundEmail.objects.get(basis=basis)
    assert row.status == OutboundEmail.Status.QUEUED and row.attempts == 1
    assert "Connection refused" in row.last_error or "Errno" in row.last_error
    first_wait = row.next_attempt_at - timezone.now()
    assert first_wait.total_seconds() > 30
    assert services.email_deliver(row.pk) == "skipped", "not due yet"
    waits = [first_wait]
    for _ in range(2):
        OutboundEmail.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
        with oncommit():
            status = services.email_deliver(row.pk)
        row.refresh_from_db()
        if row.next_attempt_at:
            waits.append(row.next_attempt_at - timezone.now())
    assert status == "failed" and row.status == OutboundEmail.Status.FAILED and row.attempts == 3
    assert waits[1] > waits[0], "exponential backoff"
    failed = AuditEvent.objects.get(basis=basis, action="offers.email.failed")
    assert row.last_error and row.last_error in failed.note
    basis.refresh_from_db()
    assert basis.status == Status.OFFER_SENT, "an e-mail failure never rolls back the basis"
    # The case worker sees it on the basis page (the partial the workspace includes).
    request = RequestFactory().get(f"/arbeid/{basis.pk}/")
    request.user = caseworker
    html = render_to_string("documents/_basis_emails.html", {"basis": basis, "is_caseworker": True}, request=request)
    assert "Feilet" in html and row.last_error[:20] in html and "Send på nytt" in html


def test_resend_by_the_case_worker(company, caseworker, caseworker_client, customer_client, smtp_down, settings,
                                   oncommit):
    settings.EMAIL_MAX_ATTEMPTS = 1
    basis = example_basis(caseworker)
    with oncommit():
        billing.offer_send(basis=basis, by=caseworker)
    row = OutboundEmail.objects.get(basis=basis)
    assert row.status == OutboundEmail.Status.FAILED
    from django.urls import reverse

    url = reverse("offers:email_resend", args=[row.pk])
    assert customer_client.post(url).status_code == 403
    assert caseworker_client.get(url).status_code == 405
    # SMTP is back.
    from aiosmtpd.controller import Controller

    from tests.support.mail import SmtpSink

    sink, port = SmtpSink(), settings.EMAIL_PORT
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        with oncommit():
            response = caseworker_client.post(url, {"next": "/arbeid/"})
    finally:
        controller.stop()
    assert response.status_code == 302 and response["Location"] == "/arbeid/"
    row.refresh_from_db()
    assert row.status == OutboundEmail.Status.SENT and not row.last_error
    assert len(sink.messages) == 1
    assert AuditEvent.objects.filter(basis=basis, action="offers.email.resend").exists()


def test_sweeper_delivers_rows_whose_task_was_lost(company, caseworker, smtp_sink, oncommit, monkeypatch):
    from kundefaktura.outbox import SWEEPERS, sweep_all
    from offers import tasks

    def broker_down(*a, **k):
        raise ConnectionError("broker down")

    basis = example_basis(caseworker)
    monkeypatch.setattr(tasks.email_send, "apply_async", broker_down)
    with oncommit():
        billing.offer_send(basis=basis, by=caseworker)
    row = OutboundEmail.objects.get(basis=basis)
    assert row.status == OutboundEmail.Status.QUEUED and smtp_sink.messages == []
    monkeypatch.undo()
    OutboundEmail.objects.filter(pk=row.pk).update(created_at=timezone.now() - timezone.timedelta(minutes=5))
    assert services.outbox_sweep in SWEEPERS
    assert tasks.outbox_sweep.name == "kundefaktura.outbox_sweep"
    sweep_all()
    row.refresh_from_db()
    assert row.status == OutboundEmail.Status.SENT and len(smtp_sink.messages) == 1


def test_a_row_is_sent_once_even_if_two_tasks_run(company, caseworker, smtp_sink, oncommit):
    with oncommit():
        row = services.email_queue(kind="other", to="ola@example.com", subject="Hei", template="invoice",
                                   context={"buyer": {"name": "Ola"}, "is_credit_note": True,
                                            "invoice": None})
    assert services.email_deliver(row.pk) == "skipped"
    row.refresh_from_db()
    assert row.status == OutboundEmail.Status.SENT and len(smtp_sink.messages) == 1
