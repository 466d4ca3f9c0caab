"""A case worker, in a real browser: creates a basis, adds three lines inline (the totals change
without a page reload), sends the offer and sees "Tilbud sendt"."""

import re

import pytest
from playwright.sync_api import expect

from billing.models import InvoiceBasis
from tests.support.browser import fill_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]
NBSP = "\u00a0"


def test_caseworker_builds_a_basis_inline_and_sends_the_offer(live_server, page, caseworker, company,
                                                              artifacts_dir):
    page.goto(f"{live_server.url}/arbeid/grunnlag/ny/")
    fill_login(page, caseworker.username)
    expect(page.get_by_role("heading", name="Nytt fakturagrunnlag")).to_be_visible()

    page.get_by_label("Tittel").fill("Ny tilknytning, Lia 4")
    page.get_by_label("Navn på ny kunde").fill("Lise Lia")
    page.get_by_label("E-post").fill("lise@example.com")
    page.get_by_label("Anleggsadresse").fill("Lia 4")
    page.get_by_role("button", name="Opprett grunnlag").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Ny tilknytning, Lia 4")
    expect(page.locator("#basis-status")).to_contain_text("Under arbeid")

    # A marker on the window survives only if the page is never reloaded.
    page.evaluate("() => { window.__noReload = 'still here'; }")
    gross = page.locator("#total-gross")
    expect(gross).to_have_text(f"0,00{NBSP}kr")

    lines = [("connection_contribution", "Materiell", "1", "18450"),
             ("connection_contribution", "Arbeid", "12,5", "845"),
             ("resealing", "Replombering", "1", "1200")]
    expected_gross = [f"18{NBSP}450,00{NBSP}kr", f"29{NBSP}012,50{NBSP}kr", f"30{NBSP}512,50{NBSP}kr"]
    for (category, description, quantity, price), total in zip(lines, expected_gross, strict=True):
        form = page.locator("#line-add")
        form.get_by_label("Kategori").select_option(category)
        form.get_by_label("Beskrivelse").fill(description)
        form.get_by_label("Antall").fill(quantity)
        form.get_by_label("Enhetspris").fill(price)
        form.get_by_role("button", name="Legg til linje").click()
        expect(page.locator("#lines")).to_contain_text(description)
        expect(gross).to_have_text(total)
    # VAT of the re-sealing line (25 % of 1 200,00) in the breakdown
    expect(page.locator("#total-vat")).to_have_text(f"300,00{NBSP}kr")

    # An inline error appears beside the field, still without a reload.
    form = page.locator("#line-add")
    form.get_by_label("Beskrivelse").fill("Feil")
    form.get_by_label("Antall").fill("0")
    form.get_by_label("Enhetspris").fill("10")
    form.get_by_role("button", name="Legg til linje").click()
    expect(page.locator("#line-add")).to_contain_text("Antall må være større enn null.")
    expect(gross).to_have_text(expected_gross[-1])
    assert page.evaluate("() => window.__noReload") == "still here"

    page.screenshot(path=str(artifacts_dir / "workspace-basis-lines.png"), full_page=True)

    page.get_by_role("link", name="Send tilbud").click()
    expect(page.locator("#action-form")).to_be_visible()
    page.get_by_role("button", name="Bekreft: Send tilbud").click()
    expect(page.locator("#basis-status")).to_contain_text("Tilbud sendt")
    expect(page.locator(".messages")).to_contain_text("Tilbud sendt")
    page.screenshot(path=str(artifacts_dir / "workspace-offer-sent.png"), full_page=True)
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"FG-\d{4}-\d{6} · Ny tilknytning, Lia 4"))
    basis = InvoiceBasis.objects.get(title="Ny tilknytning, Lia 4")
    assert basis.status == "offer_sent" and basis.lines.count() == 3


def test_caseworker_selects_all_and_sends_offers_in_bulk(live_server, page, caseworker, company, artifacts_dir):
    from tests.support.factories import add_line, make_basis

    for i in range(3):
        add_line(make_basis(by=caseworker, title=f"Bulk {i}"), caseworker)
    page.goto(f"{live_server.url}/arbeid/")
    fill_login(page, caseworker.username)
    # The select-all handler is bound by a deferred script: under load a click can come before it.
    page.wait_for_load_state("load")
    page.get_by_label("Velg alle på siden").check()
    expect(page.locator("input[name=ids]:checked")).to_have_count(3)
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Send tilbud for valgte").click()
    expect(page.locator("#bulk-progress")).to_contain_text("3 av 3 ferdig", timeout=30_000)
    expect(page.locator("#bulk-progress")).to_contain_text("Fullført")
    page.screenshot(path=str(artifacts_dir / "workspace-bulk.png"), full_page=True)
    page.get_by_role("link", name="Arbeidsliste").first.click()
    expect(page.locator(".chips")).to_contain_text("Tilbud sendt 3")
    # Searching filters the list in place as the case worker types.
    page.get_by_label("Søk").fill("Bulk 1")
    expect(page.locator("table.worklist tbody tr")).to_have_count(1)
    expect(page.locator("table.worklist tbody")).to_contain_text("Bulk 1")


def test_caseworker_opens_the_header_panel_and_saves_it(live_server, page, caseworker, company):
    """The header form is loaded when its panel opens; saving it works as when it came with the page."""
    from tests.support.factories import make_basis

    basis = make_basis(by=caseworker, title="Ny tilknytning, Lia 4")
    page.goto(f"{live_server.url}/arbeid/grunnlag/{basis.pk}/")
    fill_login(page, caseworker.username)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Ny tilknytning, Lia 4")
    title = page.locator("#header-edit").get_by_label("Tittel")
    expect(title).to_have_count(0)
    page.get_by_text("Endre kunde og anlegg").click()
    expect(title).to_have_value("Ny tilknytning, Lia 4")
    title.fill("Ny tilknytning, Lia 6")
    page.locator("#header-edit").get_by_role("button", name="Lagre").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Ny tilknytning, Lia 6")
    expect(page.locator(".messages")).to_contain_text("Grunnlaget er lagret.")
