"""A customer who reads English sees the offer, accepts and pays in English — in a browser that speaks
Norwegian — and then switches the portal to nynorsk in the header: the next offer's PDF is nynorsk."""

import re
import subprocess

import pytest
from playwright.sync_api import expect

from billing import services
from billing.models import Customer
from tests.support.browser import fill_login, stripe_checkout_completed
from tests.support.factories import add_line, make_basis, make_customer

pytestmark = pytest.mark.browser


def pdf_words(content: bytes) -> str:
    """The PDF's text as poppler's pdftotext reads it."""
    result = subprocess.run(["pdftotext", "-layout", "-", "-"], input=content, capture_output=True, check=True)
    return result.stdout.decode().replace("\u00a0", " ")


@pytest.mark.django_db(transaction=True)
def test_english_customer_accepts_and_pays_then_gets_a_nynorsk_offer(
        role_groups, live_server, page, settings, stripe_fake, caseworker, make_user, artifacts_dir):
    from kundefaktura.accounts.roles import CUSTOMER
    from tests.support.factories import make_company

    settings.SITE_URL = live_server.url
    make_company()
    user = make_user(CUSTOMER, username="john", first_name="John", last_name="Smith", email="john@example.com")
    customer = make_customer(name="John Smith", email="john@example.com", language="en")
    customer.user = user
    customer.save(update_fields=["user"])
    basis = make_basis(customer=customer, prepayment_required=True, title="New connection, Bakkeveien 2")
    add_line(basis, caseworker, description="Materiell", unit_price="18450.00")
    services.offer_send(basis=basis, by=caseworker)

    # Before login the browser's language (Norwegian); after login the customer's own (English).
    page.goto(f"{live_server.url}/login/")
    expect(page.locator("html")).to_have_attribute("lang", "nb")
    fill_login(page, "john")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", name="My cases")).to_be_visible()
    expect(page.locator(".case")).to_contain_text("Offer sent")
    page.get_by_role("link", name="View the offer").click()

    expect(page.locator("#offer-gross")).to_have_text("18\u00a0450,00\u00a0kr")  # Norwegian figures
    expect(page.get_by_role("cell", name="Connection charge (anleggsbidrag)").first).to_be_visible()
    page.get_by_label("I have read the terms above").check()
    page.get_by_role("button", name="Accept the offer").click()
    expect(page.get_by_role("heading", name="Thank you! The offer has been accepted")).to_be_visible()
    page.get_by_role("link", name="Pay now").click()

    expect(page.get_by_role("heading", name="Pay by card")).to_be_visible()
    expect(page.get_by_text("Remember the KID number")).to_be_visible()
    page.get_by_role("button", name=re.compile("^Pay .* now$")).click()
    expect(page.get_by_role("heading", name="Fake Stripe Checkout")).to_be_visible()
    page.get_by_role("button", name="Betal", exact=True).click()  # (the fake checkout's own button)
    expect(page.locator("#payment-status")).to_contain_text("Your payment is being processed")
    stripe_checkout_completed(page, live_server.url, stripe_fake)
    expect(page.locator("#payment-status")).to_contain_text("Invoice paid", timeout=10_000)
    page.screenshot(path=str(artifacts_dir / "portal-paid-en.png"), full_page=True)

    # The language switch in the header: the customer chooses nynorsk, and it is saved.
    page.get_by_role("button", name="Norsk nynorsk").click()
    expect(page.locator("html")).to_have_attribute("lang", "nn")
    expect(page.locator("#payment-status")).to_contain_text("Faktura betalt")
    assert Customer.objects.get(pk=customer.pk).language == "nn"

    second = make_basis(customer=customer, title="Garasje med lader")
    add_line(second, caseworker, description="Materiell", unit_price="9000.00")
    services.offer_send(basis=second, by=caseworker)
    page.goto(f"{live_server.url}/portal/grunnlag/{second.pk}/")
    expect(page.get_by_role("button", name="Aksepter tilbodet")).to_be_visible()
    href = page.get_by_role("link", name="Opne tilbodet som PDF").get_attribute("href")
    pdf = page.request.get(f"{live_server.url}{href}")
    assert pdf.ok and pdf.headers["content-type"] == "application/pdf"
    text = pdf_words(pdf.body())
    for nynorsk in ("Tilbodsnummer", "Slik aksepterer du tilbodet", "Brukarnamn", "Anleggsbidraget dekkjer berre"):
        assert nynorsk in text, nynorsk
    assert "Tilbudsnummer" not in text and "Brukernavn" not in text and "9 000,00 kr" in text
