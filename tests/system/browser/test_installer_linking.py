"""In a real browser: the case worker opens a manual basis, links a related case to an installer found by
search, fixes a form with errors, links a second case with a new installer, removes it again — all in
the panel on the basis page, with the timeline following and focus where work continues. The installer
then sees the basis on their own page, and the copied link shows it without login. axe-core finds no
WCAG 2.1 A/AA violation in any of these states, at 1280 and 390 px."""

import re

import pytest
from playwright.sync_api import expect

from tests.system.browser.test_a11y import Checker

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def checker(browser, live_server, artifacts_dir):
    return Checker(browser, live_server.url, artifacts_dir)


def test_case_worker_links_installer_and_case_from_the_basis_page(role_groups, company, caseworker, installer_user,
                                                                   checker, settings, live_server):
    from integrations.models import Installer, RelatedCase
    from tests.support.factories import add_line, make_basis

    settings.SITE_URL = live_server.url
    elektro = Installer.objects.create(name="Elektro Vest AS", orgnr="919876506", email="post@elektrovest.example")
    elektro.users.add(installer_user)
    Installer.objects.create(name="Lysverket Elektro AS", orgnr="974760673")
    basis = make_basis(by=caseworker, title="Ny tilknytning, Lia 4")
    add_line(basis, caseworker, description="Materiell", unit_price="18450.00")

    context, page = checker.context("sara")
    try:
        page.goto(f"{checker.base}/arbeid/grunnlag/{basis.pk}/")
        panel = page.locator("#related-cases")
        expect(panel.locator("#case-link")).to_have_count(1)  # the panel has replaced the static list
        checker.check(page, "related-panel")

        panel.locator("summary", has_text="Knytt til sak og installatør").click()
        form = panel.locator("#case-link")
        # A failed submit: every error at once, beside its field, the summary focused.
        form.locator("summary", has_text="Ny installatør").click()
        form.get_by_label("Organisasjonsnummer").fill("919876507")
        form.get_by_role("button", name="Knytt til grunnlaget").click()
        summary = panel.locator("#case-link-errors")
        expect(summary).to_be_focused()
        expect(summary).to_contain_text("Saksnummer: Feltet er påkrevet")
        expect(summary).to_contain_text("Navn: Skriv navnet på installatøren.")
        expect(summary).to_contain_text("Organisasjonsnummer: Ugyldig organisasjonsnummer")
        expect(panel.get_by_label("Organisasjonsnummer")).to_have_attribute("aria-invalid", "true")
        checker.check(page, "related-panel-error")
        panel.get_by_label("Organisasjonsnummer").fill("")

        # Search an installer by name (htmx), pick it, link the case.
        panel.get_by_label("Saksnummer").fill("NM-2026-20001")
        panel.get_by_label("Tittel").fill("Forhåndsmelding: ny tilknytning")
        panel.get_by_label("Søk etter installatør").fill("elektro vest")
        hit = panel.get_by_role("radio", name=re.compile("^Elektro Vest AS"))
        expect(hit).to_have_count(1)
        expect(panel.get_by_role("radio", name=re.compile("^Lysverket"))).to_have_count(0)
        hit.check()
        checker.check(page, "related-panel-search")
        panel.get_by_role("button", name="Knytt til grunnlaget").click()
        done = panel.locator(".message-success")
        expect(done).to_have_text("Nettmelding NM-2026-20001 er knyttet til grunnlaget. Installatør: Elektro Vest AS.")
        expect(done).to_be_focused()
        row = panel.locator("tr", has_text="NM-2026-20001")
        expect(row).to_contain_text("Elektro Vest AS")
        expect(page.locator("#timeline")).to_contain_text("Relatert sak koblet til")
        checker.check(page, "related-panel-linked")

        # A second case with a new installer, created here; then removed again.
        panel.locator("summary", has_text="Knytt til sak og installatør").click()
        panel.get_by_label("Kilde").select_option(label="Arbeidsordre")
        panel.get_by_label("Saksnummer").fill("AO-77")
        panel.locator("summary", has_text="Ny installatør").click()
        panel.get_by_label("Navn:").fill("Fjordkraft Installasjon AS")
        panel.get_by_label("Organisasjonsnummer").fill("920 112 218")
        panel.get_by_label("Telefon").fill("+47 55 20 30 41")
        panel.get_by_label("Saksnummer").press("Enter")  # Enter submits with the main button
        expect(panel.locator(".message-success")).to_contain_text("Arbeidsordre AO-77 er knyttet til grunnlaget.")
        expect(panel.locator("tr", has_text="AO-77")).to_contain_text("Fjordkraft Installasjon AS")
        assert Installer.objects.get(orgnr="920112218").phone == "+47 55 20 30 41"
        page.once("dialog", lambda d: d.accept())
        panel.get_by_role("button", name="Fjern AO-77 fra grunnlaget").click()
        expect(panel.locator(".message-success")).to_have_text("Arbeidsordre AO-77 er fjernet fra grunnlaget.")
        expect(panel.locator("tr", has_text="AO-77")).to_have_count(0)
        expect(page.locator("#timeline")).to_contain_text("Relatert sak fjernet")

        # The link for the installer: copied, and it works without login.
        panel.get_by_role("button", name="Kopier lenken til installatøren for NM-2026-20001").click()
        expect(page.get_by_role("status").filter(has_text="Lenken til installatøren er kopiert")).to_have_count(1)
        link = page.evaluate("() => navigator.clipboard.readText()")
        assert link.startswith(f"{live_server.url}/installator/lenke/")
    finally:
        context.close()
    assert list(RelatedCase.objects.values_list("external_id", "installer__name")) == [
        ("NM-2026-20001", "Elektro Vest AS")]

    context, page = checker.context("ivar")
    try:
        checker.check(page, "installer-home-linked", "/installator/")
        expect(page.get_by_role("link", name="Nettmelding NM-2026-20001")).to_be_visible()
        expect(page.locator("main")).to_contain_text(basis.number)
        page.get_by_role("link", name="Nettmelding NM-2026-20001").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Nettmelding NM-2026-20001")
        expect(page.locator("main")).to_contain_text(basis.number)
    finally:
        context.close()

    context, page = checker.context(None)
    try:
        page.goto(link)
        expect(page.get_by_role("heading", level=1)).to_have_text("Nettmelding NM-2026-20001")
        expect(page.locator("main")).to_contain_text("Skrivebeskyttet")
        checker.check(page, "installer-link-linked")
    finally:
        context.close()
    assert not checker.problems, "\n".join(checker.problems)


def test_the_related_cases_page_passes_axe(role_groups, company, caseworker, checker):
    from integrations import services
    from integrations.models import Installer
    from tests.support.factories import make_basis

    basis = make_basis(by=caseworker, title="Ny tilknytning, Lia 4")
    installer = Installer.objects.create(name="Elektro Vest AS", orgnr="919876506")
    services.related_case_link(basis=basis, by=caseworker, source="nettmelding", external_id="NM-1",
                               installer=installer)
    context, page = checker.context("sara")
    try:
        checker.check(page, "related-cases-page", f"/integrasjoner/grunnlag/{basis.pk}/saker/")
        checker.check(page, "related-cases-page-edit", f"/integrasjoner/grunnlag/{basis.pk}/saker/?endre="
                      f"{basis.related_cases.get().pk}")
        page.get_by_label("Tittel").fill("Ferdigmelding")
        page.get_by_role("button", name="Lagre endringen").click()
        expect(page.locator("#related-cases .message-success")).to_have_text("Nettmelding NM-1 er oppdatert. "
                                                                             "Installatør: Elektro Vest AS.")
        expect(page.locator("#related-cases tr", has_text="NM-1")).to_contain_text("Ferdigmelding")
    finally:
        context.close()
    assert not checker.problems, "\n".join(checker.problems)
