"""BankID in a real browser against a real OpenID Connect provider on loopback (oidc-provider-mock's
own authorization page): a customer logged in with a password connects BankID, a new browser logs in
with BankID and accepts an offer above ACCEPTANCE_BANKID_ABOVE. Every page of ours on the way passes
axe (WCAG 2.1 A/AA) and logs no console error (so the CSP lets the forms go to the provider)."""

import copy
from decimal import Decimal

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from billing import services
from billing.models import Acceptance
from portal.models import BankIDLink
from tests.conftest import console_error_recorder
from tests.support.browser import log_in
from tests.support.factories import customer_basis
from tests.support.oidc import ACR, configure

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

SUB = "9f1c2d3e-bankid-kari"
AXE_OPTIONS = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
               "resultTypes": ["violations"]}


def _new_page(browser, problems):
    context = browser.new_context(locale="nb-NO")
    context.route("https://**/*", lambda route: route.abort())  # the provider page's CDN: no internet here
    page = context.new_page()
    console_error_recorder(page, problems)
    return context, page


def _axe_clean(page, name: str, problems: list[str]) -> None:
    for v in Axe().run(page, options=AXE_OPTIONS).response["violations"]:
        problems.append(f"{name}: {v['id']} ({v['impact']}): {v['help']}")


def _authenticate_at_provider(page, issuer: str, sub: str) -> None:
    page.wait_for_url(f"{issuer}/oauth2/authorize*")
    page.get_by_placeholder("sub").fill(sub)
    page.get_by_role("button", name="Authorize").click()


def test_customer_connects_bankid_logs_in_with_it_and_accepts_a_large_offer(
        role_groups, company, customer_user, live_server, browser, settings, oidc_provider, artifacts_dir):
    configure(settings, oidc_provider, above=Decimal("50000"))
    settings.SITE_URL = live_server.url
    csp = copy.deepcopy(settings.CONTENT_SECURITY_POLICY)  # as the settings do for a configured issuer
    csp["DIRECTIVES"]["form-action"].append(oidc_provider.issuer)
    settings.CONTENT_SECURITY_POLICY = csp
    oidc_provider.set_user(SUB)
    basis = customer_basis(customer_user)  # 58 892,90 kr incl. VAT
    offer_url = f"{live_server.url}/portal/grunnlag/{basis.pk}/"
    problems: list[str] = []

    # 1. Logged in with the password, Kari sees that this offer needs BankID, and connects it.
    context, page = _new_page(browser, problems)
    log_in(page, live_server.url, customer_user.username)
    page.goto(offer_url)
    expect(page.get_by_role("button", name="Bekreft med BankID")).to_be_visible()
    expect(page.get_by_role("button", name="Aksepter tilbudet")).to_have_count(0)
    _axe_clean(page, "offer needing BankID", problems)
    page.get_by_role("link", name="BankID").click()
    _axe_clean(page, "BankID page", problems)
    page.get_by_role("button", name="Koble til BankID").click()
    _authenticate_at_provider(page, oidc_provider.issuer, SUB)
    expect(page.locator("#bankid-status")).to_contain_text("koblet til BankID")
    assert BankIDLink.objects.get(user=customer_user).sub == SUB
    context.close()

    # 2. Another browser: a BankID nobody connected gets the explanation …
    context, page = _new_page(browser, problems)
    page.goto(f"{live_server.url}/login/")
    _axe_clean(page, "login with BankID button", problems)
    page.get_by_role("button", name="Logg inn med BankID").click()
    _authenticate_at_provider(page, oidc_provider.issuer, "someone-else")
    expect(page.get_by_role("heading", name="BankID er ikke koblet til en kundekonto")).to_be_visible()
    _axe_clean(page, "unknown BankID", problems)

    # 3. … and Kari's BankID logs in and accepts the offer above the amount.
    page.goto(f"{live_server.url}/login/")
    page.get_by_role("button", name="Logg inn med BankID").click()
    _authenticate_at_provider(page, oidc_provider.issuer, SUB)
    expect(page.get_by_role("heading", name="Mine saker")).to_be_visible()
    page.goto(offer_url)
    page.get_by_label("Jeg har lest vilkårene").check()
    page.screenshot(path=str(artifacts_dir / "portal-offer-bankid.png"), full_page=True)
    page.get_by_role("button", name="Aksepter tilbudet").click()
    expect(page.get_by_role("heading", name="Takk! Tilbudet er akseptert")).to_be_visible()
    context.close()

    acceptance = Acceptance.objects.get(basis=basis)
    assert (acceptance.login_method, acceptance.auth_acr, acceptance.auth_sub) == ("bankid", ACR, SUB)
    assert acceptance.auth_time is not None and acceptance.user == customer_user
    assert services.current_offer(basis).gross > Decimal("50000")
    # The provider's own page (its CDN stylesheet, favicon) is not ours to judge; the unknown-BankID page
    # answers 403 on purpose.
    ours = [p for p in problems if not p.startswith(f"console error on {oidc_provider.issuer}")
            and "status of 403" not in p]
    assert not ours, "\n".join(ours)
