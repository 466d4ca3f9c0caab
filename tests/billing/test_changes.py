"""Change notices: lines added after acceptance are notified, answered in the portal, then invoiced."""

from decimal import Decimal as D

import pytest
from django.urls import reverse

from billing import selectors, services
from billing.errors import ConflictError, TransitionError
from billing.models import ChangeNotice, Invoice
from offers.models import OutboundEmail
from tests.support.documents import pdf_text
from tests.support.factories import accepted_basis, add_line, make_customer


@pytest.fixture
def invoiced_case(company, caseworker, customer_user):
    customer = make_customer(name="Kari Kunde", email="kari@example.com")
    customer.user = customer_user
    customer.save()
    basis = accepted_basis(by=caseworker, customer=customer)
    services.invoices_issue(basis=basis, by=caseworker)
    return basis


def _change(basis, caseworker, description="Ekstra målerskap", price="2500.00", category="meter_work"):
    return add_line(basis, caseworker, category=category, description=description, unit_price=price)


def test_change_lines_wait_for_an_accepted_notice_then_become_a_change_invoice(
        invoiced_case, caseworker, customer_client, customer_user, django_capture_on_commit_callbacks):
    basis = invoiced_case
    line = _change(basis, caseworker)
    assert line.is_change
    with pytest.raises(TransitionError, match="ingen nye"):
        services.invoices_issue(basis=basis, by=caseworker)

    with django_capture_on_commit_callbacks(execute=True):  # the PDF is rendered after commit
        notice = services.change_notice_send(basis=basis, by=caseworker)
    notice.refresh_from_db()
    assert notice.version == 1 and notice.gross == D("3125.00")
    assert notice.new_estimate_gross == D("58892.90") + D("3125.00")
    text = pdf_text(notice.pdf.read())
    assert "Endringsvarsel" in text and "Ekstra målerskap" in text
    assert "3 125,00" in text and "62 017,90" in text, "the notice shows the change and the new estimate"
    mail = OutboundEmail.objects.get(kind="change_notice")
    assert mail.to == "kari@example.com" and mail.attachments == [{"document": "change_notice", "pk": notice.pk}]
    assert f"/portal/endring/{notice.pk}/" in mail.body_text

    page = customer_client.get(reverse("portal:change_notice", args=[notice.pk]))
    assert page.status_code == 200 and "Ekstra målerskap" in page.content.decode()
    resp = customer_client.post(reverse("portal:change_notice", args=[notice.pk]),
                                {"decision": "accept", "pdf_sha256": notice.pdf_sha256},
                                HTTP_USER_AGENT="Testleser/1.0", REMOTE_ADDR="10.1.2.3")
    assert resp.status_code == 302
    notice.refresh_from_db()
    assert notice.status == ChangeNotice.Status.ACCEPTED
    assert (notice.answered_by, notice.ip_address, notice.user_agent) == (customer_user, "10.1.2.3", "Testleser/1.0")
    assert notice.answer_pdf_sha256 == notice.pdf_sha256 and notice.answered_at is not None

    [change_invoice] = services.invoices_issue(basis=basis, by=caseworker)
    assert change_invoice.kind == Invoice.Kind.CHANGE and change_invoice.gross_total == D("3125.00")
    from offers import documents

    invoice_text = pdf_text(documents.document_pdf_bytes("invoice", change_invoice.pk)[1])
    assert "Endringsfaktura" in invoice_text and "Ekstra målerskap" in invoice_text and "3 125,00" in invoice_text
    assert selectors.accepted_estimate(basis).gross == D("62017.90")


def test_newer_notice_supersedes_older_and_old_version_is_refused(invoiced_case, caseworker, customer_user,
                                                                 django_capture_on_commit_callbacks):
    basis = invoiced_case
    _change(basis, caseworker)
    with django_capture_on_commit_callbacks(execute=True):
        v1 = services.change_notice_send(basis=basis, by=caseworker)
    assert services.change_notice_send(basis=basis, by=caseworker) == v1, "same content: same notice"
    _change(basis, caseworker, description="Graving", price="4000.00", category="connection_contribution")
    with django_capture_on_commit_callbacks(execute=True):
        v2 = services.change_notice_send(basis=basis, by=caseworker)
    v1.refresh_from_db()
    v2.refresh_from_db()
    assert (v1.status, v2.version, v2.gross) == (ChangeNotice.Status.SUPERSEDED, 2, D("7125.00"))
    assert v1.pdf and v1.pdf_sha256 != v2.pdf_sha256, "the old PDF is kept"
    with pytest.raises(TransitionError, match="versjon 2") as exc:
        services.change_notice_answer(notice=v1, by=customer_user, decision="accepted")
    assert exc.value.code == "superseded"
    with pytest.raises(ConflictError):
        services.change_notice_answer(notice=v2, by=customer_user, decision="accepted", pdf_sha256=v1.pdf_sha256)


def test_declined_change_stays_visible_and_is_not_invoiced(invoiced_case, caseworker, customer_client,
                                                           caseworker_client):
    basis = invoiced_case
    _change(basis, caseworker)
    notice = services.change_notice_send(basis=basis, by=caseworker)
    resp = customer_client.post(reverse("portal:change_notice", args=[notice.pk]),
                                {"decision": "decline", "reason": "For dyrt"})
    assert resp.status_code == 302
    notice.refresh_from_db()
    assert notice.status == ChangeNotice.Status.DECLINED and notice.answer_note == "For dyrt"
    with pytest.raises(TransitionError):
        services.invoices_issue(basis=basis, by=caseworker)
    again = customer_client.post(reverse("portal:change_notice", args=[notice.pk]), {"decision": "accept"})
    assert again.status_code == 409 and "allerede besvart" in again.content.decode()
    page = caseworker_client.get(reverse("billing:changes", args=[basis.pk])).content.decode()
    declined = page.split('id="declined-h"')[1].split("</section>")[0]
    assert "Ekstra målerskap" in declined and "For dyrt" in page


def test_caseworker_sends_and_invoices_from_the_changes_page(invoiced_case, caseworker, caseworker_client,
                                                             customer_user):
    basis = invoiced_case
    _change(basis, caseworker)
    url = reverse("billing:changes", args=[basis.pk])
    assert "Send endringsvarsel" in caseworker_client.get(url).content.decode()
    assert caseworker_client.post(url, {"action": "send"}).status_code == 302
    notice = basis.change_notices.get()
    services.change_notice_answer(notice=notice, by=customer_user, decision="accepted")
    assert caseworker_client.post(url, {"action": "invoice"}, follow=True).content.decode().count("Endringsfaktura")
    assert basis.invoices.filter(kind=Invoice.Kind.CHANGE).count() == 1


def test_portal_change_notice_is_404_for_other_customers(invoiced_case, caseworker, make_user, installer_client):
    from django.test import Client

    _change(invoiced_case, caseworker)
    notice = services.change_notice_send(basis=invoiced_case, by=caseworker)
    other = make_user("customer", username="ola")
    other_customer = make_customer(name="Ola", email="ola@example.com")
    other_customer.user = other
    other_customer.save()
    client = Client()
    client.force_login(other, backend="django.contrib.auth.backends.ModelBackend")
    for name in ("portal:change_notice", "portal:change_notice_pdf"):
        assert client.get(reverse(name, args=[notice.pk])).status_code == 404
    assert client.post(reverse("portal:change_notice", args=[notice.pk]), {"decision": "accept"}).status_code == 404
    assert "Ekstra" not in client.get(reverse("portal:change_notices")).content.decode()
    assert installer_client.get(reverse("portal:change_notice", args=[notice.pk])).status_code == 403
    notice.refresh_from_db()
    assert notice.status == ChangeNotice.Status.SENT


def test_an_answer_before_the_worker_rendered_the_pdf_is_bound_to_the_stored_pdf(invoiced_case, caseworker,
                                                                                 customer_client):
    """The PDF is rendered after commit by a worker; a customer who answers first still answers a stored
    document: the portal stores it before the answer is recorded."""
    _change(invoiced_case, caseworker)
    notice = services.change_notice_send(basis=invoiced_case, by=caseworker)  # no worker has run yet
    assert not notice.pdf_sha256
    resp = customer_client.post(reverse("portal:change_notice", args=[notice.pk]), {"decision": "accept"})
    assert resp.status_code == 302
    notice.refresh_from_db()
    assert notice.status == ChangeNotice.Status.ACCEPTED
    assert len(notice.pdf_sha256) == 64 and notice.answer_pdf_sha256 == notice.pdf_sha256
    assert "Ekstra målerskap" in pdf_text(notice.pdf.read())
