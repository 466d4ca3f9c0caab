"""One pipeline for every document: each kind is declared once, rendered after commit by the same task,
attached to its e-mail and served by the one PDF view with the same permission rules."""

import datetime as dt
import hashlib

import pytest
from django.urls import reverse

from billing import services as billing
from billing.models import ChangeNotice, Reminder
from offers import documents
from offers.models import OutboundEmail
from tests.support.documents import pdf_text
from tests.support.factories import accepted_basis, add_line, make_customer

pytestmark = pytest.mark.django_db


def test_every_document_kind_is_declared_once():
    assert set(documents.DOCUMENTS) == {"offer", "invoice", "change_notice", "reminder", "receipt", "rough_estimate"}
    for kind, declaration in documents.DOCUMENTS.items():
        assert declaration.kind == kind
        assert declaration.template.startswith("documents/") and callable(declaration.context)
        if declaration.filename:
            assert declaration.get_model()._meta.get_field(declaration.file_field)
    rough = documents.DOCUMENTS["rough_estimate"]
    assert (rough.filename, rough.file_field) == (None, None), "a preview, never stored"


@pytest.fixture
def change_case(company, caseworker, customer_user):
    customer = make_customer(name="Kari Kunde", email="kari@example.com")
    customer.user = customer_user
    customer.save()
    basis = accepted_basis(by=caseworker, customer=customer)
    billing.invoices_issue(basis=basis, by=caseworker)
    add_line(basis, caseworker, category="meter_work", description="Ekstra målerskap", unit_price="2500.00")
    return basis


def _send_notice(basis, caseworker):
    from billing.services import change_notice_send

    return change_notice_send(basis=basis, by=caseworker)


def test_change_notice_is_rendered_after_commit_and_attached_to_its_email(
        change_case, caseworker, smtp_sink, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        notice = _send_notice(change_case, caseworker)
        assert not ChangeNotice.objects.get(pk=notice.pk).pdf_sha256, "nothing is rendered in the transaction"
        mail = OutboundEmail.objects.get(kind="change_notice", basis=change_case)
        assert mail.attachments == [{"document": "change_notice", "pk": notice.pk}]
    for callback in callbacks:
        callback()
    notice.refresh_from_db()
    assert notice.pdf_sha256 == hashlib.sha256(notice.pdf.read()).hexdigest()
    [msg] = [m for m in smtp_sink.messages if "Endringsvarsel for" in m["Subject"]]
    [(filename, content)] = [(p.get_filename(), p.get_content()) for p in msg.iter_attachments()]
    assert filename == f"endringsvarsel-{change_case.number}-v1.pdf"
    assert hashlib.sha256(content).hexdigest() == notice.pdf_sha256, "the stored PDF is the one sent"
    text = pdf_text(content)
    assert "3 125,00" in text and "58 892,90" in text and "62 017,90" in text


def test_change_notice_pdf_through_the_one_view(change_case, caseworker, caseworker_client, customer_client,
                                                make_user):
    from django.test import Client

    notice = _send_notice(change_case, caseworker)  # no commit: the view renders the missing PDF
    staff_url = reverse("billing:change_notice_pdf", args=[notice.pk])
    portal_url = reverse("portal:change_notice_pdf", args=[notice.pk])
    for client, url in ((caseworker_client, staff_url), (customer_client, portal_url)):
        response = client.get(url)
        assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
        assert f'filename="endringsvarsel-{change_case.number}-v1.pdf"' in response["Content-Disposition"]
        assert "Ekstra målerskap" in pdf_text(response.content)
    notice.refresh_from_db()
    assert hashlib.sha256(customer_client.get(portal_url).content).hexdigest() == notice.pdf_sha256
    assert customer_client.get(staff_url).status_code == 403
    assert caseworker_client.get(portal_url).status_code == 403
    other = Client()
    other.force_login(make_user("customer", username="ola"), backend="django.contrib.auth.backends.ModelBackend")
    assert other.get(portal_url).status_code == 404


def test_reminder_is_rendered_after_commit_with_the_figures_billing_recorded(
        company, caseworker, django_capture_on_commit_callbacks):
    import time_machine

    from billing.services import reminder_send

    with time_machine.travel(dt.datetime(2026, 3, 2, 8, tzinfo=dt.UTC), tick=False):
        basis = accepted_basis(by=caseworker)
        invoice = billing.invoices_issue(basis=basis, by=caseworker)[0]
    with time_machine.travel(dt.datetime(2026, 4, 30, 8, tzinfo=dt.UTC), tick=False), \
            django_capture_on_commit_callbacks(execute=True):
        reminder = reminder_send(invoice=invoice)
        assert not Reminder.objects.get(pk=reminder.pk).pdf_sha256
    reminder.refresh_from_db()
    assert reminder.pdf_sha256
    text = pdf_text(reminder.pdf.read())
    assert "1. purring" in text and "30.04.2026" in text and invoice.kid in text
    mail = OutboundEmail.objects.get(kind="reminder", invoice=invoice)
    assert mail.attachments == [{"document": "reminder", "pk": reminder.pk}]


def test_an_email_with_an_unrendered_document_is_rendered_on_the_render_queue_before_it_is_sent(
        change_case, caseworker, smtp_sink, django_capture_on_commit_callbacks):
    # An e-mail worker never renders: the prepare task (render queue) stores the PDF, then queues the send.
    from celery.signals import task_prerun

    from kundefaktura.celery import queue_for

    seen = []

    def record(task=None, args=None, **kw):
        if task.name.startswith("offers.email"):
            notice_stored = bool(ChangeNotice.objects.filter(basis=change_case).exclude(pdf_sha256="").exists())
            seen.append((task.name, queue_for(task.name), notice_stored))

    task_prerun.connect(record, weak=False)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            _send_notice(change_case, caseworker)
    finally:
        task_prerun.disconnect(record)
    prepare_queue, send_queue = queue_for("offers.email_prepare"), queue_for("offers.email_send")
    assert prepare_queue == queue_for("offers.document_render") != send_queue
    assert seen == [("offers.email_prepare", prepare_queue, False), ("offers.email_send", send_queue, True)]
    assert [m for m in smtp_sink.messages if "Endringsvarsel for" in m["Subject"]]


def test_an_email_whose_documents_are_stored_goes_straight_to_the_email_queue(
        change_case, caseworker, django_capture_on_commit_callbacks):
    from offers import outbox
    from offers.tasks import email_prepare

    with django_capture_on_commit_callbacks(execute=True):
        notice = _send_notice(change_case, caseworker)
    notice.refresh_from_db()
    assert notice.pdf_sha256
    row = OutboundEmail.objects.get(kind="change_notice", basis=change_case)
    assert outbox._unstored_documents(row) == []
    assert email_prepare(row.pk) == "skipped", "a row already sent is not prepared again"
