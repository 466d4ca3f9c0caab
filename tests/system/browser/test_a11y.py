"""Every main page of every role, in a real browser, checked with axe-core (WCAG 2.1 A/AA) at desktop
width (1280 px) and phone width (390 px), in its normal state and with form errors; no page logs a
console error (a CSP violation, a failed request, a script error). Screenshots of each page at both
widths go to var/test-artifacts/a11y-*.png.

One browser for the session; one context per role."""

from __future__ import annotations

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from tests.conftest import console_error_recorder
from tests.support.browser import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
AXE_OPTIONS = {"runOnly": {"type": "tag", "values": [*WCAG_TAGS, "best-practice"]},
               "resultTypes": ["violations"]}
WIDTHS = (1280, 390)

# Every IDREF in aria-describedby / aria-labelledby / aria-controls names an element on the page.
DANGLING_IDREFS = """() => {
  const bad = [];
  for (const attr of ["aria-describedby", "aria-labelledby", "aria-controls"]) {
    for (const el of document.querySelectorAll(`[${attr}]`)) {
      for (const id of el.getAttribute(attr).split(/\\s+/).filter(Boolean)) {
        if (!document.getElementById(id)) bad.push(`${attr}=${id} on <${el.tagName.toLowerCase()} id=${el.id}>`);
      }
    }
  }
  return bad;
}"""

NEXT_FRAME = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"
# Parts a page loads with htmx when it opens (hx-trigger="load") are in place and no request is running.
HTMX_SETTLED = "() => !document.querySelector('[hx-trigger=\"load\"], .htmx-request')"

_axe = Axe()


def _findings(results) -> list[str]:
    """WCAG A/AA violations of any impact; best-practice findings that are serious or critical."""
    found = []
    for v in results.response["violations"]:
        wcag = any(tag in WCAG_TAGS for tag in v["tags"])
        if wcag or v["impact"] in ("serious", "critical"):
            targets = ", ".join(str(n["target"]) for n in v["nodes"][:3])
            found.append(f"{v['id']} ({v['impact']}): {v['help']} — {targets}")
    return found


class Checker:
    """Collects console errors and axe findings per page; the test asserts both lists are empty."""

    def __init__(self, browser, base_url, artifacts_dir):
        self.browser, self.base, self.artifacts = browser, base_url, artifacts_dir
        self.problems: list[str] = []

    def context(self, username: str | None, locale: str = "nb-NO"):
        # A Norwegian browser (the checks below read the bokmål labels); `lang` must say bokmål.
        context = self.browser.new_context(locale=locale, viewport={"width": WIDTHS[0], "height": 900},
                                           permissions=["clipboard-read", "clipboard-write"])
        page = context.new_page()
        console_error_recorder(page, self.problems)
        if username:
            log_in(page, self.base, username)
        return context, page

    def check(self, page, name: str, url: str | None = None, *, status: int = 200, lang: str = "nb"):
        """Open `url` (or keep the current page) and check it at each width."""
        if url is not None:
            response = page.goto(self.base + url)
            assert response.status == status, f"{name}: {url} answered {response.status}"
        page.wait_for_function(HTMX_SETTLED)
        assert page.evaluate("() => document.documentElement.lang") == lang, f"{name}: lang is not {lang}"
        for ref in page.evaluate(DANGLING_IDREFS):
            self.problems.append(f"{name}: dangling {ref}")
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 900})
            page.evaluate(NEXT_FRAME)  # the page's resize handlers have run
            self.problems += [f"{name} @{width}px: {f}" for f in _findings(_axe.run(page, options=AXE_OPTIONS))]
            page.screenshot(path=str(self.artifacts / f"a11y-{name}-{width}.png"), full_page=True)
        page.set_viewport_size({"width": WIDTHS[0], "height": 900})

    def failed_submit(self, page, name: str, lang: str = "nb"):
        """After a failed full-page submit: the title says so and focus is on the error summary,
        whose links lead to fields that exist."""
        expect(page).to_have_title(re.compile(r"^(Feil|Error): "))
        summary = page.locator("#error-summary")
        expect(summary).to_be_focused()
        for href in summary.locator("a").evaluate_all("links => links.map(a => a.getAttribute('href'))"):
            assert page.locator(href).count() == 1, f"{name}: summary link {href} leads nowhere"
        self.check(page, name, lang=lang)


@pytest.fixture
def checker(browser, live_server, artifacts_dir):
    return Checker(browser, live_server.url, artifacts_dir)


def test_public_pages(role_groups, company, checker):
    context, page = checker.context(None)
    try:
        checker.check(page, "login", "/login/")
        page.get_by_label("Brukernavn").fill("finnes-ikke")
        page.get_by_label("Passord").fill("feil-passord")
        page.get_by_role("button", name="Logg inn").click()
        checker.failed_submit(page, "login-error")
        checker.check(page, "login-link", "/portal/innlogging/lenke/")
        page.get_by_role("button", name="Send lenke").click()
        checker.failed_submit(page, "login-link-error")
        expect(page.locator("#id_email_error")).to_contain_text("Feltet er påkrevet")
        checker.check(page, "accessibility-statement", "/portal/tilgjengelighet/")
        expect(page.get_by_role("heading", level=1)).to_have_text("Tilgjengelighetserklæring")
        expect(page.locator("main")).to_contain_text(company.email)
    finally:
        context.close()
    # An English-preferring browser gets the English page, lang="en", Django's own messages included.
    context, page = checker.context(None, locale="en-GB")
    try:
        checker.check(page, "login-en", "/login/", lang="en")
        page.get_by_role("button", name="Log in").click()
        checker.failed_submit(page, "login-en-error", lang="en")
        checker.check(page, "login-link-en", "/portal/innlogging/lenke/", lang="en")
        page.get_by_role("button", name="Send link").click()
        expect(page.locator("#id_email_error")).to_contain_text("This field is required")
    finally:
        context.close()
    assert not checker.problems, "\n".join(checker.problems)


@pytest.mark.long(30)
def test_caseworker_pages(role_groups, world, checker, caseworker):
    from billing.access import company_admin_grant
    from tests.support.factories import add_line, make_basis

    company_admin_grant(user=caseworker)  # the settings page is for company admins
    w = world
    draft = make_basis(by=caseworker, title="Ny tilknytning, Lia 4")
    add_line(draft, caseworker, description="Materiell", unit_price="18450.00")
    context, page = checker.context("sara")
    try:
        checker.check(page, "worklist", "/arbeid/")
        checker.check(page, "basis-accepted", f"/arbeid/grunnlag/{w.ours.basis.pk}/")
        page.get_by_role("link", name="Registrer betaling").click()  # the action panel (htmx)
        expect(page.locator("#action-form")).to_be_visible()
        checker.check(page, "basis-action-panel")
        page.get_by_role("button", name=re.compile("^Bekreft")).click()
        checker.failed_submit(page, "basis-action-panel-error")
        checker.check(page, "basis-draft", f"/arbeid/grunnlag/{draft.pk}/")

        # Cost lines inline (htmx): add with an error, add, edit, delete — no console error (CSP).
        form = page.locator("#line-add")
        form.get_by_label("Beskrivelse").fill("Arbeid")
        form.get_by_label("Antall").fill("0")
        form.get_by_label("Enhetspris").fill("845")
        form.get_by_role("button", name="Legg til linje").click()
        expect(form).to_contain_text("Antall må være større enn null.")
        checker.check(page, "basis-line-error")
        form.get_by_label("Antall").fill("12,5")
        form.get_by_role("button", name="Legg til linje").click()
        expect(page.locator("#lines")).to_contain_text("Arbeid")
        row = page.locator("#lines tr", has_text="Arbeid")
        row.get_by_role("button", name=re.compile("^Endre")).click()
        editing = page.locator("#lines tr.editing")
        editing.get_by_label("Beskrivelse").fill("Arbeid, montør")
        editing.get_by_role("button", name="Lagre").click()
        expect(page.locator("#lines")).to_contain_text("Arbeid, montør")
        page.once("dialog", lambda d: d.accept())
        page.locator("#lines tr", has_text="Arbeid, montør").get_by_role("button", name=re.compile("^Slett")).click()
        expect(page.locator("#lines")).not_to_contain_text("Arbeid, montør")

        checker.check(page, "basis-create", "/arbeid/grunnlag/ny/")
        page.get_by_label("Målepunkt-ID").fill("12345")
        page.get_by_role("button", name="Opprett grunnlag").click()
        checker.failed_submit(page, "basis-create-error")

        checker.check(page, "action-payment", f"/arbeid/grunnlag/{w.ours.basis.pk}/handling/payment/")
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        page.get_by_role("button", name=re.compile("^Bekreft")).click()
        checker.failed_submit(page, "action-payment-error")

        checker.check(page, "shared-list", "/arbeid/felles/")
        checker.check(page, "shared-detail", f"/arbeid/felles/{w.shared.pk}/")
        checker.check(page, "shared-create", "/arbeid/felles/ny/")
        page.get_by_role("button", name=re.compile("^Opprett")).click()
        checker.failed_submit(page, "shared-create-error")

        checker.check(page, "settings", "/arbeid/innstillinger/")
        page.get_by_label("Organisasjonsnummer").fill("123")
        page.get_by_role("button", name="Lagre").click()
        checker.failed_submit(page, "settings-error")

        from integrations.erp.services import export_run  # the world's prepayment invoice is exported

        batch = export_run(by=caseworker)
        checker.check(page, "erp-export-log", "/erp/eksport/")
        if batch is not None:
            checker.check(page, "erp-export-detail", f"/erp/eksport/{batch.pk}/")
        checker.check(page, "erp-bank-imports", "/erp/bank/")
        checker.check(page, "offer-preview", f"/dokumenter/offer/{w.ours.offer.pk}/")
        checker.check(page, "invoice-preview", f"/dokumenter/invoice/{w.ours.invoice.pk}/")
        for name, url in [("overdue", "/arbeid/livslop/forfalte/"), ("refunds", "/arbeid/livslop/tilbakebetalinger/"),
                          ("expired", "/arbeid/livslop/utlopte-tilbud/"), ("related-cases", "/integrasjoner/saker/"),
                          ("notifications", "/integrasjoner/varsler/")]:
            checker.check(page, name, url)
    finally:
        context.close()
    assert not checker.problems, "\n".join(checker.problems)


def test_customer_pages(role_groups, world, checker, customer_user, caseworker):
    from billing import services
    from tests.support.factories import add_line, example1_lines, make_basis

    w = world
    open_offer = make_basis(customer=w.ours.basis.customer, title="Garasje, Lia 6")
    example1_lines(open_offer)
    services.offer_send(basis=open_offer, by=caseworker)
    add_line(w.ours.basis, caseworker, category="meter_work", description="Ekstra målerskap", unit_price="2500.00")
    notice = services.change_notice_send(basis=w.ours.basis, by=caseworker)
    context, page = checker.context("kari")
    try:
        checker.check(page, "portal-home", "/portal/")
        checker.check(page, "portal-offer", f"/portal/grunnlag/{open_offer.pk}/")
        page.get_by_role("button", name="Aksepter tilbudet").click()
        checker.failed_submit(page, "portal-offer-error")
        checker.check(page, "portal-basis-accepted", f"/portal/grunnlag/{w.ours.basis.pk}/")
        checker.check(page, "portal-invoices", "/portal/fakturaer/")
        checker.check(page, "portal-invoice", f"/portal/fakturaer/{w.ours.invoice.pk}/")
        page.get_by_role("button", name="Kopier KID").click()
        expect(page.get_by_role("status").filter(has_text="KID er kopiert")).to_have_count(1)  # announced
        assert page.evaluate("() => navigator.clipboard.readText()") == w.ours.invoice.kid
        checker.check(page, "portal-payment-done", f"/portal/fakturaer/{w.ours.invoice.pk}/betaling-fullfort/")
        checker.check(page, "portal-changes", "/portal/endring/")
        checker.check(page, "portal-change", f"/portal/endring/{notice.pk}/")
        checker.check(page, "portal-password", "/portal/passord/")
        page.get_by_role("button", name="Lagre passord").click()
        checker.failed_submit(page, "portal-password-error")
        checker.check(page, "portal-accessibility", "/portal/tilgjengelighet/")
    finally:
        context.close()
    assert not checker.problems, "\n".join(checker.problems)


def test_installer_pages(role_groups, world, checker):
    context, page = checker.context("ivar")
    try:
        checker.check(page, "installer-home", "/installator/")
        checker.check(page, "installer-case", f"/installator/saker/{world.ours.case.pk}/")
    finally:
        context.close()
    assert not checker.problems, "\n".join(checker.problems)
