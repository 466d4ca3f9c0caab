"""Receipts of customers' answers: issued once per answer, rendered after commit by the one pipeline,
sealed with the company's PAdES seal (validated with pyHanko against a CA made here; one altered byte
breaks it), or issued unsealed and marked so; attached to the confirmation e-mail; seen by the case
worker and the customer it belongs to, nobody else."""

import hashlib
import io
import shutil
import subprocess  # nosec B404 - runs the pyhanko CLI on a file the test wrote
import sys
from pathlib import Path

import pytest
from django.urls import reverse
from pypdf import PdfReader

from billing import services as billing
from billing.models import ChangeNotice
from offers import documents
from offers.models import OutboundEmail, Receipt
from offers.seal import SealError
from offers.services import receipt_issue
from tests.support.documents import pdf_text
from tests.support.factories import (
    accepted_basis,
    add_line,
    customer_basis,
    example1_lines,
    make_basis,
    make_customer,
)
from tests.support.seal import P12_PASSWORD, TimestampAuthority, make_pki, validate

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def seal(settings, pki):
    settings.RECEIPT_SEAL_P12 = str(pki.p12)
    settings.RECEIPT_SEAL_P12_PASSWORD = P12_PASSWORD
    return pki


def _accept_in_portal(client, basis):
    offer = basis.offers.get()
    return client.post(reverse("portal:accept", args=[basis.pk]),
                       {"offer_version": offer.version, "terms_read": "on"}, REMOTE_ADDR="203.0.113.7")


def _stored(receipt) -> bytes:
    receipt.refresh_from_db()
    with receipt.pdf.open("rb") as fh:
        return fh.read()


def test_sealed_receipt_of_a_portal_acceptance_validates_and_one_altered_byte_breaks_it(
        seal, company, customer_user, customer_client, oncommit, tmp_path, artifacts_dir):
    basis = customer_basis(customer_user, name="Kari Kunde", email="kari@example.com")
    with oncommit():
        response = _accept_in_portal(customer_client, basis)
    assert response.status_code == 302
    receipt = Receipt.objects.get(basis=basis)
    assert receipt.sealed and receipt.acceptance.decision == "accepted"
    content = _stored(receipt)
    assert receipt.pdf_sha256 == hashlib.sha256(content).hexdigest(), "its own SHA-256 is recorded"
    (artifacts_dir / "receipt-sealed.pdf").write_bytes(content)

    status = validate(content, seal.ca_cert)
    assert (status.intact, status.valid, status.trusted) == (True, True, True)
    assert status.coverage.name == "ENTIRE_FILE", "the seal covers the whole receipt"
    assert status.signing_cert.subject.native["common_name"] == "Fjordnett AS kvitteringssegl"

    text = " ".join(pdf_text(content).split())
    offer = basis.offers.get()
    for expected in ("Kvittering for aksept", basis.number, "Fjordnett AS", "Org.nr. 914 588 200", "Kari Kunde",
                     "Tilbud versjon 1", offer.pdf_sha256[:20], "58 592,90", "300,00", "58 892,90",
                     "203.0.113.7", "Akseptert", "Forseglet"):
        assert expected in text, expected
    assert "Ikke forseglet" not in text
    local = receipt.acceptance.at.astimezone(__import__("zoneinfo").ZoneInfo("Europe/Oslo"))
    assert local.isoformat(timespec="seconds") in text, "the time in Norwegian time, ISO"

    # One byte of the signed content changed (the producer string of the rendered PDF): the seal breaks.
    at = content.index(b"WeasyPrint")
    tampered = content[:at] + b"X" + content[at + 1:]
    broken = validate(tampered, seal.ca_cert)
    assert not broken.intact and not broken.bottom_line, "the document digest no longer matches"

    # Against another CA the intact seal is not trusted.
    other = make_pki(tmp_path / "other")
    assert not validate(content, other.ca_cert).trusted

    # The documented command line check says the same.
    pyhanko = shutil.which("pyhanko") or str(Path(sys.executable).with_name("pyhanko"))
    (tmp_path / "kvittering.pdf").write_bytes(content)
    (tmp_path / "endret.pdf").write_bytes(tampered)
    ok = subprocess.run([pyhanko, "sign", "validate", "--trust", str(seal.ca_pem), "--trust-replace",  # nosec B603
                         "--pretty-print", str(tmp_path / "kvittering.pdf")], capture_output=True, text=True,
                        timeout=60)
    assert ok.returncode == 0 and "judged VALID" in ok.stdout, ok.stdout + ok.stderr
    bad = subprocess.run([pyhanko, "sign", "validate", "--trust", str(seal.ca_pem), "--trust-replace",  # nosec B603
                          str(tmp_path / "endret.pdf")], capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0


def test_the_receipt_is_issued_once_and_never_rendered_again(seal, company, caseworker, oncommit):
    with oncommit():
        basis = accepted_basis(by=caseworker)
    receipt = Receipt.objects.get(basis=basis)
    first = _stored(receipt)
    assert receipt_issue(acceptance=receipt.acceptance) == receipt
    with oncommit():
        billing.offer_accept(basis=basis, by=caseworker)  # the same acceptance again
    assert Receipt.objects.filter(basis=basis).count() == 1
    assert documents.document_pdf_ensure("receipt", receipt.pk) == "exists"
    assert documents.document_pdf_bytes("receipt", receipt.pk)[1] == first, "the stored bytes, never re-sealed"


def test_unsealed_receipt_says_so(company, caseworker, oncommit, caseworker_client):
    with oncommit():
        basis = accepted_basis(by=caseworker)
    receipt = Receipt.objects.get(basis=basis)
    assert not receipt.sealed
    content = _stored(receipt)
    assert "/Sig" not in str(PdfReader(io.BytesIO(content)).trailer["/Root"].get("/AcroForm", {})), "no signature"
    text = pdf_text(content)
    assert "Ikke forseglet" in text and "Kvittering for aksept" in text
    page = caseworker_client.get(reverse("billing:basis_detail", args=[basis.pk])).content.decode()
    assert "Ikke forseglet" in page and receipt.pdf_sha256 in page
    assert "selskapets elektroniske segl er ikke satt opp" in page
    assert reverse("offers:pdf", args=["receipt", receipt.pk]) in page


def test_a_misconfigured_seal_stores_nothing_and_says_why(settings, seal, company, caseworker, oncommit):
    settings.RECEIPT_SEAL_P12_PASSWORD = "feil"
    basis = accepted_basis(by=caseworker)  # the render after commit is not run here
    receipt = Receipt.objects.get(basis=basis)
    with pytest.raises(SealError):
        documents.document_pdf_ensure("receipt", receipt.pk)
    receipt.refresh_from_db()
    assert not receipt.pdf_sha256 and not receipt.pdf, "never stored without the seal it promises"
    settings.RECEIPT_SEAL_P12_PASSWORD = P12_PASSWORD
    assert documents.document_pdf_ensure("receipt", receipt.pk) == "rendered"


def test_timestamped_seal_through_a_tsa_on_loopback(settings, seal, company, caseworker, oncommit):
    with TimestampAuthority(seal) as tsa:
        settings.RECEIPT_TSA_URL = tsa.url
        with oncommit():
            basis = accepted_basis(by=caseworker)
        assert tsa.requests >= 1
    status = validate(_stored(Receipt.objects.get(basis=basis)), seal.ca_cert)
    assert status.bottom_line and status.timestamp_validity is not None
    assert status.timestamp_validity.intact and status.timestamp_validity.valid
    assert status.timestamp_validity.trusted, "the timestamp chains to the CA"


@pytest.fixture
def notice_case(company, caseworker, customer_user, oncommit):
    customer = make_customer(name="Kari Kunde", email="kari@example.com")
    customer.user = customer_user
    customer.save(update_fields=["user"])
    with oncommit():
        basis = accepted_basis(by=caseworker, customer=customer)
        billing.invoices_issue(basis=basis, by=caseworker)
    add_line(basis, caseworker, category="meter_work", description="Ekstra målerskap", unit_price="2500.00")
    with oncommit():
        notice = billing.change_notice_send(basis=basis, by=caseworker)
    return basis, notice


def test_declined_change_notice_gets_a_receipt_and_a_confirmation_with_it(
        notice_case, customer_user, customer_client, oncommit, mailoutbox):
    basis, notice = notice_case
    with oncommit():
        response = customer_client.post(reverse("portal:change_notice", args=[notice.pk]),
                                        {"decision": "decline", "pdf_sha256": notice.pdf_sha256})
    assert response.status_code in (200, 302)
    notice.refresh_from_db()
    assert notice.status == ChangeNotice.Status.DECLINED
    receipt = Receipt.objects.get(change_notice=notice)
    text = " ".join(pdf_text(_stored(receipt)).split())
    for expected in ("Kvittering for svar på endringsvarsel", "Endringsvarsel versjon 1", "Avslått",
                     notice.pdf_sha256[:20], "2 500,00", "625,00", "3 125,00"):
        assert expected in text, expected
    mail = OutboundEmail.objects.get(dedupe_key=f"declined:change_notice:{notice.pk}")
    assert mail.attachments == [{"document": "receipt", "pk": receipt.pk}]
    assert "avslått" in mail.subject and "Endringen faktureres ikke" in mail.body_text
    [sent] = [m for m in mailoutbox if m.subject == mail.subject]
    [(filename, content, mimetype)] = sent.attachments
    assert filename == f"kvittering-{basis.number}-endring-v1.pdf" and mimetype == "application/pdf"
    assert hashlib.sha256(content).hexdigest() == receipt.pdf_sha256, "the stored receipt is what is mailed"
    page = customer_client.get(reverse("portal:change_notice", args=[notice.pk])).content.decode()
    assert reverse("portal:receipt_pdf", args=[receipt.pk]) in page


def test_acceptance_confirmation_waits_for_the_receipt_and_carries_it(
        company, caseworker, customer_user, customer_client, django_capture_on_commit_callbacks, mailoutbox,
        monkeypatch):
    render_tasks = []
    monkeypatch.setattr("offers.receivers.render_on_commit", lambda kind, pk: render_tasks.append((kind, pk)))
    basis = customer_basis(customer_user, name="Kari Kunde", email="kari@example.com")
    with django_capture_on_commit_callbacks(execute=False):
        _accept_in_portal(customer_client, basis)
    receipt = Receipt.objects.get(basis=basis)
    assert not receipt.pdf_sha256, "nothing rendered inside the answer's transaction"
    assert ("receipt", receipt.pk) not in render_tasks, "the e-mail carries it: only its delivery renders it"
    # No confirmation carries the receipt (the address was removed after the offer went): the render
    # task makes it.
    silent = make_basis(by=caseworker)
    example1_lines(silent, caseworker)
    billing.offer_send(basis=silent, by=caseworker)
    type(silent.customer).objects.filter(pk=silent.customer_id).update(email="")
    billing.offer_accept(basis=silent, by=caseworker)
    assert ("receipt", Receipt.objects.get(basis=silent).pk) in render_tasks
    mail = OutboundEmail.objects.get(dedupe_key__startswith="accepted:offer:")
    assert mail.attachments == [{"document": "receipt", "pk": receipt.pk}]
    # The e-mail is delivered before any render task ran: the delivery renders the receipt first.
    from offers.outbox import email_deliver

    email_deliver(mail.pk)
    receipt.refresh_from_db()
    assert receipt.pdf_sha256
    [sent] = [m for m in mailoutbox if "er akseptert" in m.subject]
    [(filename, content, _mimetype)] = sent.attachments
    assert hashlib.sha256(content).hexdigest() == receipt.pdf_sha256
    assert "Kvitteringen for svaret ditt er vedlagt" in sent.body


def test_who_may_download_a_receipt(company, caseworker, customer_user, make_user, installer_client,
                                    caseworker_client, customer_client, client, oncommit):
    mine = customer_basis(customer_user, name="Kari Kunde", email="kari@example.com")
    other_user = make_user("customer", username="per")
    theirs = customer_basis(other_user, name="Per Hansen", email="per@example.com")
    with oncommit():
        billing.offer_accept(basis=mine, by=customer_user)
        billing.offer_accept(basis=theirs, by=other_user)
    my_receipt, their_receipt = Receipt.objects.get(basis=mine), Receipt.objects.get(basis=theirs)
    portal_url = reverse("portal:receipt_pdf", args=[my_receipt.pk])
    mine_pdf = customer_client.get(portal_url + "?download=1")
    assert mine_pdf.status_code == 200 and mine_pdf["Content-Type"] == "application/pdf"
    assert "attachment" in mine_pdf["Content-Disposition"]
    assert hashlib.sha256(mine_pdf.content).hexdigest() == Receipt.objects.get(pk=my_receipt.pk).pdf_sha256
    assert customer_client.get(reverse("portal:receipt_pdf", args=[their_receipt.pk])).status_code == 404
    assert customer_client.get(reverse("offers:pdf", args=["receipt", their_receipt.pk])).status_code == 404
    assert caseworker_client.get(reverse("offers:pdf", args=["receipt", their_receipt.pk])).status_code == 200
    assert installer_client.get(reverse("offers:pdf", args=["receipt", my_receipt.pk])).status_code == 403
    assert installer_client.get(portal_url).status_code == 403
    assert client.get(portal_url).status_code == 302, "anonymous: to the login page"
    assert customer_client.get(reverse("portal:basis", args=[mine.pk])).content.decode().count(portal_url) == 1


def test_manage_check_reports_a_seal_that_cannot_be_opened(settings, seal):
    from django.core import checks

    assert [m for m in checks.run_checks() if m.id.startswith("offers.")] == []
    settings.RECEIPT_SEAL_P12_PASSWORD = "feil"
    [error] = [m for m in checks.run_checks() if m.id.startswith("offers.")]
    assert error.id == "offers.E001" and "RECEIPT_SEAL_P12_PASSWORD" in error.hint


def test_receipt_names_the_login_and_the_bankid_evidence(company, customer_user, customer_client, oncommit):
    import datetime as dt

    from billing.evidence import BANKID, LoginEvidence

    # A portal login with a password: the receipt says so.
    basis = customer_basis(customer_user, name="Kari Kunde", email="kari@example.com")
    with oncommit():
        _accept_in_portal(customer_client, basis)
    text = " ".join(pdf_text(_stored(Receipt.objects.get(basis=basis))).split())
    assert "Innlogging Passord" in text and "BankID" not in text

    # BankID: the assurance level, the time of authentication (Norwegian time, ISO) and the provider's sub.
    other = make_basis(customer=basis.customer)
    example1_lines(other)
    billing.offer_send(basis=other, by=None)
    at = dt.datetime(2026, 12, 4, 13, 5, 9, tzinfo=dt.UTC)
    with oncommit():
        billing.offer_accept(basis=other, by=customer_user, ip_address="198.51.100.4",
                             evidence=LoginEvidence(method=BANKID, acr="urn:bankid:substantial", auth_time=at,
                                                    sub="c0ffee-sub-42"))
    text = " ".join(pdf_text(_stored(Receipt.objects.get(basis=other))).split())
    for expected in ("Innlogging BankID", "urn:bankid:substantial", "2026-12-04T14:05:09+01:00", "c0ffee-sub-42",
                     "198.51.100.4"):
        assert expected in text, expected
