"""The customer's whole journey in a real browser (Debian's chromium, headless, 360 px wide):
the set-password link from the offer e-mail (caught by a real SMTP sink), set a password, accept the
offer, pay the prepayment invoice by card through the fake Stripe checkout, see "Faktura betalt"."""

import re

import pytest
from playwright.sync_api import expect

from billing import services
from billing.models import Acceptance, Payment
from tests.support.browser import stripe_checkout_completed
from tests.support.factories import add_line, make_basis, make_customer

pytestmark = pytest.mark.browser

PASSWORD = "fjell-og-fjord-2026"


@pytest.mark.django_db(transaction=True)
def test_customer_sets_password_accepts_and_pays_by_card(role_groups, live_server, page, settings, smtp_sink, stripe_fake,
                                                         caseworker, artifacts_dir):
    from tests.support.factories import make_company

    settings.SITE_URL = live_server.url
    make_company()
    customer = make_customer(name="Kari Nordmann", email="kari.nordmann@example.com")
    basis = make_basis(customer=customer, prepayment_required=True, title="Ny tilknytning, Bakkeveien 2")
    add_line(basis, caseworker, description="Materiell", unit_price="18450.00")
    add_line(basis, caseworker, description="Arbeid", quantity="12.5", unit_price="845.00", unit="t")
    services.offer_send(basis=basis, by=caseworker)  # the documents app e-mails the offer after commit

    assert smtp_sink.received.wait(30), "the offer e-mail did not reach the SMTP sink"
    offer_mail = next(m for m in smtp_sink.messages if m["To"] == "kari.nordmann@example.com")
    body = offer_mail.get_body(preferencelist=("plain",)).get_content()
    link = re.search(r"http://\S+/portal/passord/\S+/\S+/", body)[0]

    page.set_viewport_size({"width": 360, "height": 780})
    page.goto(link)
    expect(page.get_by_role("heading", name="Velg passord")).to_be_visible()
    page.get_by_label("Nytt passord", exact=True).fill(PASSWORD)
    page.get_by_label("Bekreft nytt passord").fill(PASSWORD)
    page.get_by_role("button", name="Lagre passord og logg inn").click()

    expect(page.get_by_role("heading", name="Mine saker")).to_be_visible()
    expect(page.locator(".case")).to_contain_text("Tilbud sendt")
    expect(page.locator(".case")).to_contain_text("Les tilbudet og aksepter det")
    page.get_by_role("link", name="Se tilbudet").click()

    expect(page.locator("#offer-gross")).to_be_visible()
    expect(page.locator("#offer-gross")).to_have_text("29\u00a0012,50\u00a0kr")
    page.screenshot(path=str(artifacts_dir / "portal-offer-360.png"), full_page=True)
    page.get_by_label("Jeg har lest vilkårene").check()
    page.get_by_role("button", name="Aksepter tilbudet").click()

    expect(page.get_by_role("heading", name="Takk! Tilbudet er akseptert")).to_be_visible()
    page.get_by_role("link", name="Betal nå").click()

    expect(page.locator("#kid")).not_to_be_empty()
    expect(page.locator("#bank-account")).to_have_text("1234.56.78903")
    page.screenshot(path=str(artifacts_dir / "portal-invoice-360.png"), full_page=True)
    page.get_by_role("button", name=re.compile("^Betal nå")).click()

    # Stripe's (fake) hosted checkout
    expect(page.get_by_role("heading", name="Fake Stripe Checkout")).to_be_visible()
    expect(page.locator("#amount")).to_have_text("29012.50 NOK")
    page.get_by_role("button", name="Betal", exact=True).click()

    expect(page.locator("#payment-status")).to_contain_text("Betalingen din behandles")
    stripe_checkout_completed(page, live_server.url, stripe_fake)

    # the page polls (htmx) and shows the confirmed payment without a reload
    expect(page.locator("#payment-status")).to_contain_text("Faktura betalt", timeout=10_000)
    page.screenshot(path=str(artifacts_dir / "portal-paid-360.png"), full_page=True)

    acceptance = Acceptance.objects.get(basis=basis)
    assert acceptance.user.email == "kari.nordmann@example.com" and acceptance.ip_address == "127.0.0.1"
    assert "Chrome" in acceptance.user_agent
    assert Payment.objects.filter(invoice__basis=basis, status="confirmed", provider="stripe").count() == 1
    basis.refresh_from_db()
    assert basis.status_label == "Faktura betalt" and basis.work_release == "released"

    page.set_viewport_size({"width": 320, "height": 700})
    page.goto(f"{live_server.url}/portal/")
    expect(page.locator(".case")).to_contain_text("Faktura betalt")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 320  # no sideways scrolling
    page.screenshot(path=str(artifacts_dir / "portal-home-320.png"), full_page=True)
