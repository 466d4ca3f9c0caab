"""In a real browser: the customer accepts the offer in the portal and downloads the receipt of the
acceptance; the case worker finds it in the evidence section of the basis page and downloads the same
bytes. The downloaded receipt carries the company's seal, which pyHanko validates against the CA that
issued the seal certificate (made here). axe-core finds nothing on the pages involved."""

import hashlib
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.support.seal import P12_PASSWORD, make_pki, validate
from tests.system.browser.test_a11y import Checker

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def checker(browser, live_server, artifacts_dir):
    return Checker(browser, live_server.url, artifacts_dir)


def _download(page, link) -> bytes:
    with page.expect_download() as info:
        link.click()
    return Path(info.value.path()).read_bytes()


def test_customer_accepts_and_both_sides_download_the_sealed_receipt(
        role_groups, company, caseworker, customer_user, checker, settings, live_server, tmp_path, artifacts_dir):
    from offers.models import Receipt
    from tests.support.factories import customer_basis

    pki = make_pki(tmp_path / "pki")
    settings.RECEIPT_SEAL_P12, settings.RECEIPT_SEAL_P12_PASSWORD = str(pki.p12), P12_PASSWORD
    settings.SITE_URL = live_server.url
    basis = customer_basis(customer_user, name="Kari Kunde", email="kari@example.com")

    context, page = checker.context("kari")
    try:
        page.goto(f"{checker.base}/portal/grunnlag/{basis.pk}/")
        page.get_by_label("Jeg har lest vilkårene over").check()
        page.get_by_role("button", name="Aksepter tilbudet").click()
        expect(page.get_by_role("heading", name="Takk! Tilbudet er akseptert")).to_be_visible()
        link = page.get_by_role("link", name="Last ned kvitteringen for aksepten (PDF)")
        checker.check(page, "portal-accepted-receipt")
        from_portal = _download(page, link)
    finally:
        context.close()

    receipt = Receipt.objects.get(basis=basis)
    assert hashlib.sha256(from_portal).hexdigest() == receipt.pdf_sha256
    (artifacts_dir / "receipt-browser.pdf").write_bytes(from_portal)
    status = validate(from_portal, pki.ca_cert)
    assert status.bottom_line and status.coverage.name == "ENTIRE_FILE"

    context, page = checker.context("sara")
    try:
        page.goto(f"{checker.base}/arbeid/grunnlag/{basis.pk}/")
        evidence = page.locator("#evidence")
        expect(evidence).to_contain_text("Aksept av tilbud versjon 1")
        expect(evidence).to_contain_text("Forseglet")
        expect(evidence).to_contain_text(receipt.pdf_sha256)
        checker.check(page, "basis-evidence")
        from_basis_page = _download(page, evidence.get_by_role("link", name="Aksept av tilbud versjon 1 (PDF)"))
    finally:
        context.close()
    assert from_basis_page == from_portal, "one receipt, the same stored bytes for both"
    assert checker.problems == []
