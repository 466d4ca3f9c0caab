"""Reflow (WCAG 1.4.10): at 320 and 390 px the main pages of every role need no horizontal scrolling —
neither the page nor a table inside it — and the cells a user came for (amounts, status, the row's
buttons) are on screen; data tables become stacked rows with each cell labelled. At 1280 px the cost
line table shows its Endre/Slett buttons without scrolling. Screenshots of each page at 320, 390 and
1280 px go to var/test-artifacts/reflow-*.png."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.conftest import console_error_recorder
from tests.support.browser import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

NARROW = (320, 390)
WIDE = 1280
NEXT_FRAME = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"
# Parts a page loads with htmx when it opens (hx-trigger="load") are in place and no request is running.
HTMX_SETTLED = "() => !document.querySelector('[hx-trigger=\"load\"], .htmx-request')"

# What sticks out sideways: the page itself, a table wider than its box, any visible element past the
# right edge of the window.
OVERFLOW = """() => {
  const vw = document.documentElement.clientWidth;
  const name = el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
    (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\\s+/).join('.') : '');
  const found = [];
  if (document.documentElement.scrollWidth > window.innerWidth) {
    found.push(`page is ${document.documentElement.scrollWidth} px wide in a ${window.innerWidth} px window`);
  }
  for (const wrap of document.querySelectorAll('.table-wrap')) {
    if (wrap.scrollWidth > wrap.clientWidth + 1) {
      found.push(`${name(wrap.querySelector('table') || wrap)} scrolls: ${wrap.scrollWidth} > ${wrap.clientWidth}`);
    }
  }
  const outside = el => {
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && (r.right > vw + 1 || r.left < -1);
  };
  for (const el of document.querySelectorAll('body *')) {
    if (el.closest('.sr-only, .visually-hidden, .skip-link, [hidden]')) continue;
    if (el.parentElement && el.parentElement !== document.body && outside(el.parentElement)) continue;
    const r = el.getBoundingClientRect();
    if (outside(el)) {
      found.push(`${name(el)} "${(el.textContent || '').trim().slice(0, 30)}" spans ${Math.round(r.left)}–${Math.round(r.right)} px`);
    }
  }
  return found.slice(0, 8);
}"""

# Each element matching the selector is rendered and lies inside the window and inside every box that
# clips it (a cell scrolled out of its .table-wrap is not "visible" to anyone).
ON_SCREEN = """(sel) => {
  const vw = document.documentElement.clientWidth;
  const els = [...document.querySelectorAll(sel)];
  const off = [];
  for (const el of els) {
    const r = el.getBoundingClientRect();
    let ok = r.width > 0 && r.height > 0 && r.left >= -1 && r.right <= vw + 1;
    for (let p = el.parentElement; ok && p; p = p.parentElement) {
      const style = getComputedStyle(p);
      if (style.overflowX !== 'visible') {
        const b = p.getBoundingClientRect();
        ok = r.left >= b.left - 1 && r.right <= b.right + 1;
      }
    }
    if (!ok) off.push(`${(el.textContent || '').trim().slice(0, 30) || el.tagName} at ${Math.round(r.left)}–${Math.round(r.right)}`);
  }
  return {count: els.length, off};
}"""

# In a stacked table every data cell says what it is (data-label) unless it holds only buttons/links.
UNLABELLED = """() => {
  const found = [];
  for (const td of document.querySelectorAll('table.responsive tbody td')) {
    if (td.getBoundingClientRect().width === 0 || td.hasAttribute('data-label') || td.hasAttribute('colspan')) continue;
    if (!td.textContent.trim() || td.querySelector('button, a.button, form, input, select')) continue;
    found.push(td.textContent.trim().slice(0, 30));
  }
  return found.slice(0, 5);
}"""


class Reflow:
    def __init__(self, browser, base_url, artifacts):
        self.browser, self.base, self.artifacts = browser, base_url, artifacts
        self.problems: list[str] = []

    def context(self, username: str | None):
        context = self.browser.new_context(locale="nb-NO", viewport={"width": WIDE, "height": 900})
        page = context.new_page()
        console_error_recorder(page, self.problems)
        if username:
            log_in(page, self.base, username)
        return context, page

    def check(self, page, name: str, url: str | None, keys: tuple[str, ...] = (), *, ready: str | None = None):
        """Open `url` and check it at 320, 390 (reflow, key cells) and 1280 px (key cells, screenshot)."""
        if url is not None:
            response = page.goto(self.base + url)
            assert response.status == 200, f"{name}: {url} answered {response.status}"
        page.wait_for_function(HTMX_SETTLED)
        if ready:
            expect(page.locator(ready).first).to_be_visible()
        for width in (*NARROW, WIDE):
            page.set_viewport_size({"width": width, "height": 900})
            page.evaluate(NEXT_FRAME)
            self.problems += [f"{name} @{width}px: {p}" for p in page.evaluate(OVERFLOW)]
            if width in NARROW:
                self.problems += [f"{name} @{width}px: cell without data-label: {p}" for p in page.evaluate(UNLABELLED)]
            for sel in keys:
                found = page.evaluate(ON_SCREEN, sel)
                if not found["count"]:
                    self.problems.append(f"{name} @{width}px: nothing matches {sel}")
                self.problems += [f"{name} @{width}px: {sel} off screen: {o}" for o in found["off"]]
            page.screenshot(path=str(self.artifacts / f"reflow-{name}-{width}.png"), full_page=True)
        page.set_viewport_size({"width": WIDE, "height": 900})


@pytest.fixture
def reflow(browser, live_server, artifacts_dir):
    return Reflow(browser, live_server.url, artifacts_dir)


LONG = "Entreprenør, graving og legging av jordkabel TFXP 4x240 Al i eksisterende grøft langs Lia"


def test_caseworker_pages_reflow(role_groups, world, reflow, caseworker):  # noqa: F811
    from billing import services
    from billing.access import company_admin_grant
    from integrations import services as integrations
    from integrations.erp.services import export_run
    from integrations.models import Installer
    from tests.support.factories import accepted_basis, add_line, make_basis

    company_admin_grant(user=caseworker)
    w = world
    draft = make_basis(by=caseworker, title="Ny tilknytning, Lia 4")
    add_line(draft, caseworker, description="Materiell (kabel, kabelskap, sikringer)", unit_price="18450.00")
    add_line(draft, caseworker, description=LONG, quantity="12.5", unit="t", unit_price="123456.78")
    add_line(draft, caseworker, category="resealing", description="Replombering av måler", unit_price="1200.00")
    inst = Installer.objects.create(name="Elektroinstallatør Vestlandet og Sunnhordland AS", orgnr="923609016",
                                    email="prosjektleder.anleggsbidrag@elektroinstallator-vestlandet.example",
                                    phone="+47 55 11 22 33")
    integrations.related_case_link(basis=draft, by=caseworker, source="nettmelding", external_id="NM-2026-10411",
                                   title="Forhåndsmelding: ny tilknytning", installer=inst)
    add_line(w.ours.basis, caseworker, category="meter_work", description="Ekstra målerskap", unit_price="2500.00")
    services.change_notice_send(basis=w.ours.basis, by=caseworker)
    services.payment_register(invoice=w.ours.invoice, by=caseworker, amount=w.ours.invoice.gross_total,
                              method="bank_transfer", provider="manual", provider_reference="BANK-1")
    batch = export_run(by=caseworker)
    accepted = accepted_basis(by=caseworker, title="Boligfelt Solsiden, byggetrinn 1")
    add_line(accepted, caseworker, category="meter_work", description="Ekstra målerskap", unit_price="2500.00")

    lines = "#lines"
    context, page = reflow.context("sara")
    try:
        reflow.check(page, "worklist", "/arbeid/", ("table.worklist tbody td.num",))
        reflow.check(page, "basis-draft", f"/arbeid/grunnlag/{draft.pk}/",
                     (f"{lines} tbody td.num", f"{lines} button.button", "#related-cases table button"),
                     ready="#related-cases table")
        # Endre/Slett at 1280 px, on the same row as the line (not scrolled out of the table).
        row = page.locator(f"{lines} tr", has_text="Replombering av måler")
        expect(row.get_by_role("button", name="Endre «Replombering av måler»")).to_be_in_viewport()
        expect(row.get_by_role("button", name="Slett «Replombering av måler»")).to_be_in_viewport()
        # The inline edit row fits too.
        row.get_by_role("button", name="Endre «Replombering av måler»").click()
        expect(page.locator(f"{lines} tr.editing")).to_be_visible()
        reflow.check(page, "basis-line-editing", None, (f"{lines} tr.editing button",))
        reflow.check(page, "basis-accepted", f"/arbeid/grunnlag/{w.ours.basis.pk}/",
                     (f"{lines} tbody td.num", "#inv-h + .table-wrap td.num"), ready="#related-cases table")
        reflow.check(page, "basis-accepted-offer", f"/arbeid/grunnlag/{accepted.pk}/",
                     (f"{lines} tbody td.num", f"{lines} button.button"), ready="#related-cases")
        reflow.check(page, "basis-cases", f"/integrasjoner/grunnlag/{draft.pk}/saker/",
                     ("#related-cases table button",))
        reflow.check(page, "basis-create", "/arbeid/grunnlag/ny/")
        reflow.check(page, "shared-list", "/arbeid/felles/")
        reflow.check(page, "shared-detail", f"/arbeid/felles/{w.shared.pk}/")
        reflow.check(page, "overdue", "/arbeid/livslop/forfalte/")
        reflow.check(page, "expired", "/arbeid/livslop/utlopte-tilbud/")
        reflow.check(page, "refunds", "/arbeid/livslop/tilbakebetalinger/")
        reflow.check(page, "related-cases", "/integrasjoner/saker/", ("main table tbody td",))
        reflow.check(page, "notifications", "/integrasjoner/varsler/")
        reflow.check(page, "erp-export-log", "/erp/eksport/")
        if batch is not None:
            reflow.check(page, "erp-export-detail", f"/erp/eksport/{batch.pk}/")
        reflow.check(page, "erp-bank-imports", "/erp/bank/")
        reflow.check(page, "settings", "/arbeid/innstillinger/")
    finally:
        context.close()
    assert not reflow.problems, "\n".join(reflow.problems)


def test_customer_pages_reflow(role_groups, world, reflow, caseworker):  # noqa: F811
    from billing import services
    from tests.support.factories import add_line, make_basis

    w = world
    open_offer = make_basis(customer=w.ours.basis.customer, title="Garasje med lader, Lia 6")
    add_line(open_offer, caseworker, description="Materiell (kabel, kabelskap, sikringer)", unit_price="18450.00")
    add_line(open_offer, caseworker, description=LONG, quantity="12.5", unit="t", unit_price="123456.78")
    add_line(open_offer, caseworker, category="resealing", description="Replombering av måler", unit_price="1200.00")
    services.offer_send(basis=open_offer, by=caseworker)
    add_line(w.ours.basis, caseworker, category="meter_work", description="Ekstra målerskap", unit_price="2500.00")
    notice = services.change_notice_send(basis=w.ours.basis, by=caseworker)
    context, page = reflow.context("kari")
    try:
        reflow.check(page, "portal-home", "/portal/")
        reflow.check(page, "portal-offer", f"/portal/grunnlag/{open_offer.pk}/",
                     ("table.offer-lines tbody td.col-qty", "table.offer-lines tbody td.col-price",
                      "table.offer-lines tbody td.col-amount", "table.offer-lines tbody td.col-vat", "#offer-gross"))
        reflow.check(page, "portal-basis-accepted", f"/portal/grunnlag/{w.ours.basis.pk}/")
        reflow.check(page, "portal-invoices", "/portal/fakturaer/",
                     ("table.invoices td.to-pay", "table.invoices td.invoice-status"))
        reflow.check(page, "portal-invoice", f"/portal/fakturaer/{w.ours.invoice.pk}/")
        reflow.check(page, "portal-changes", "/portal/endring/")
        reflow.check(page, "portal-change", f"/portal/endring/{notice.pk}/", ("main table tbody td.num",))
        reflow.check(page, "portal-password", "/portal/passord/")
        reflow.check(page, "portal-accessibility", "/portal/tilgjengelighet/")
    finally:
        context.close()
    assert not reflow.problems, "\n".join(reflow.problems)


def test_installer_and_public_pages_reflow(role_groups, world, reflow):  # noqa: F811
    from integrations import services as integrations

    context, page = reflow.context("ivar")
    try:
        reflow.check(page, "installer-home", "/installator/", ("main table tbody td",))
        reflow.check(page, "installer-case", f"/installator/saker/{world.ours.case.pk}/")
    finally:
        context.close()
    context, page = reflow.context(None)
    try:
        link = integrations.installer_link_url(world.ours.case)
        reflow.check(page, "installer-link", link[link.index("/installator/"):])
        reflow.check(page, "login", "/login/")
        reflow.check(page, "login-link", "/portal/innlogging/lenke/")
    finally:
        context.close()
    assert not reflow.problems, "\n".join(reflow.problems)
