"""Receipts through the outbox: the customer gets one confirmation per acceptance and one receipt per
payment, however often the trigger fires; the offer page shows the terms next to the checkbox."""

from decimal import Decimal as D

import pytest
from django.urls import reverse
from django.utils import timezone

from billing import selectors, services
from billing.models import AuditEvent, ChangeNotice, Invoice, Payment
from billing.signals import audit_recorded
from offers.models import OutboundEmail
from tests.support.factories import accepted_basis, add_line, customer_basis, make_customer

pytestmark = pytest.mark.django_db


def _accept(client, basis, version=1):
    return client.post(reverse("portal:accept", args=[basis.pk]), {"offer_version": version, "terms_read": "on"})


def _resend_signal(action):
    event = AuditEvent.objects.filter(action=action).latest("pk")
    audit_recorded.send(sender=AuditEvent, event=event)


def test_accepting_in_the_portal_sends_one_confirmation_with_version_amount_time_and_pdf_link(
        company, customer_client, customer_user):
    basis = customer_basis(customer_user)
    offer = services.current_offer(basis)
    assert _accept(customer_client, basis).status_code == 302
    assert _accept(customer_client, basis).status_code == 302  # double submit
    _resend_signal("billing.basis.accepted")  # the trigger fires again
    [mail] = OutboundEmail.objects.filter(kind=OutboundEmail.Kind.ACCEPTANCE)
    assert mail.to == "kari@example.com" and mail.basis == basis
    assert basis.number in mail.subject and "akseptert" in mail.subject
    body = mail.body_text
    assert f"tilbud {basis.number}, versjon 1, er akseptert" in body
    assert "Akseptert beløp inkl. MVA: 58\u00a0892,90\u00a0kr" in body
    accepted_at = timezone.localtime(offer.acceptances.get().at)
    assert accepted_at.strftime("%d.%m.%Y kl. %H:%M") in body
    assert "Akseptert av: Kari Kunde, i kundeportalen" in body
    assert reverse("portal:offer_pdf", args=[offer.pk]) in body
    assert "{%" not in body and "{{" not in body


def test_accepted_change_notice_sends_one_confirmation(company, caseworker, customer_client, customer_user):
    customer = make_customer(name="Kari Kunde", email="kari@example.com")
    customer.user = customer_user
    customer.save()
    basis = accepted_basis(by=caseworker, customer=customer)
    services.invoices_issue(basis=basis, by=caseworker)
    add_line(basis, caseworker, category="meter_work", description="Ekstra målerskap", unit_price="2500.00")
    notice = services.change_notice_send(basis=basis, by=caseworker)
    url = reverse("portal:change_notice", args=[notice.pk])
    for _ in range(2):
        resp = customer_client.post(url, {"decision": "accept", "pdf_sha256": notice.pdf_sha256})
        assert resp.status_code == 302
    _resend_signal("billing.change_notice.accepted")
    notice.refresh_from_db()
    assert notice.status == ChangeNotice.Status.ACCEPTED
    [mail] = OutboundEmail.objects.filter(kind=OutboundEmail.Kind.ACCEPTANCE, dedupe_key__contains="change")
    assert f"endringsvarsel versjon 1 for {basis.number} er akseptert" in mail.body_text
    assert "Akseptert endring inkl. MVA: 3\u00a0125,00\u00a0kr" in mail.body_text
    assert "Nytt estimat inkl. MVA: 62\u00a0017,90\u00a0kr" in mail.body_text
    assert reverse("portal:change_notice_pdf", args=[notice.pk]) in mail.body_text


def test_card_payment_with_the_local_provider_sends_one_receipt(company, customer_client, customer_user, settings):
    settings.PAYMENT_PROVIDER = "local"
    settings.DEBUG = True
    basis = customer_basis(customer_user, prepayment=True)
    services.offer_accept(basis=basis, by=customer_user)
    invoice = Invoice.objects.filter(basis=basis, kind="prepayment", vat_regime="O").get()
    start = customer_client.post(reverse("portal:invoice_pay", args=[invoice.pk]),
                                 {"attempt": "6f1c1a52-6d43-4c1b-9a53-1f3a3d3e0b11"})
    payment = Payment.objects.get(invoice=invoice)
    assert start["Location"] == reverse("portal:local_checkout", args=[payment.pk])
    customer_client.post(start["Location"], {"decision": "approve"})
    customer_client.post(start["Location"], {"decision": "approve"})
    _resend_signal("billing.payment.confirmed")
    [mail] = OutboundEmail.objects.filter(kind=OutboundEmail.Kind.RECEIPT)
    assert mail.invoice == invoice and mail.to == "kari@example.com"
    assert invoice.display_number in mail.subject
    body = mail.body_text
    assert "Betalt beløp: 57\u00a0392,90\u00a0kr" in body
    assert "Betalingsmåte: kort" in body
    assert "Fakturaen er betalt i sin helhet" in body
    assert reverse("portal:invoice", args=[invoice.pk]) in body


def test_part_payment_receipt_says_what_remains(company, customer_user):
    basis = customer_basis(customer_user, prepayment=True)
    services.offer_accept(basis=basis, by=customer_user)
    invoice = Invoice.objects.filter(basis=basis, kind="prepayment", vat_regime="O").get()
    services.payment_register(invoice=invoice, by=None, amount="10000.00", method="bank_transfer",
                              provider="bank", provider_reference="ref-1")
    services.payment_register(invoice=invoice, by=None, amount="10000.00", method="bank_transfer",
                              provider="bank", provider_reference="ref-1")  # the same bank line again
    [mail] = OutboundEmail.objects.filter(kind=OutboundEmail.Kind.RECEIPT)
    remaining = selectors.amount_owed(invoice)
    assert remaining == invoice.gross_total - D("10000.00")
    assert "Betalt beløp: 10\u00a0000,00\u00a0kr" in mail.body_text
    assert "Betalingsmåte: bankoverføring" in mail.body_text
    assert "Gjenstår å betale: 47\u00a0392,90\u00a0kr" in mail.body_text


def test_offer_page_shows_the_terms_next_to_the_checkbox_with_the_pdf_link(company, customer_client, customer_user):
    basis = customer_basis(customer_user)
    offer = services.current_offer(basis)
    page = customer_client.get(reverse("portal:basis", args=[basis.pk])).content.decode()
    form = page.split(f'action="{reverse("portal:accept", args=[basis.pk])}"')[1].split("</form>")[0]
    details = form.split('<details class="terms-details">')[1].split("</details>")[0]
    assert "Les vilkårene" in details
    assert "Betalingsfrist 14 dager fra fakturadato." in details  # the same terms as in the offer PDF
    assert "Tiårsregelen" in details and 'id="offer-terms"' in details
    assert reverse("portal:offer_pdf", args=[offer.pk]) in details
    checkbox = form.split('name="terms_read"')[0].rsplit("<input", 1)[1] + form.split('name="terms_read"')[1]
    assert 'aria-describedby="offer-terms"' in checkbox.split(">")[0]
    assert "Jeg har lest vilkårene over" in form
    missing = customer_client.post(reverse("portal:accept", args=[basis.pk]), {"offer_version": 1})
    assert missing.status_code == 422
    assert 'aria-describedby="offer-terms id_terms_read_error"' in missing.content.decode()
