"""Every document kind with long names and descriptions: a sane number of pages and nothing orphaned —
no page holding only the acceptance box, totals never separated from the lines they sum, category names
never split inside a word. Text is read per page with pypdf, as a reader turning the pages would.

Each rendered PDF is also written to var/test-artifacts/ with a PNG of each page
(`make test` installs poppler-utils for pdftoppm), for a person to look at."""

import datetime as dt
import io
import re
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from pypdf import PdfReader

from billing import services
from billing.models import Invoice, Payment
from offers import documents, renderers
from tests.support.documents import NBSP
from tests.support.factories import add_line, make_basis, make_customer

D = Decimal
pytestmark = pytest.mark.django_db

LONG_NAME = ("Borettslaget Solsiden Terrasse og Omegn Eiendomsutvikling Holding Aksjeselskap "
             "avdeling Vestlandet Nord og Sunnhordland")[:120]
CATEGORIES = ["connection_contribution", "transformer_delivery", "connection_contribution",
              "connection_contribution"]
TAXABLE_CATEGORIES = ["decommissioning", "relocation", "meter_work", "resealing"]
LINE_MARK = re.compile(r"Linje \d+")


def _description(i: int) -> str:
    text = (f"Linje {i}: graving av kabelgrøft og legging av jordkabel fra nettstasjonen til kundens "
            "inntakspunkt, inkludert masseutskifting, gjenfylling, komprimering, asfaltering av fortau, "
            "skilting og trafikkdirigering etter arbeidsvarslingsplanen, samt dokumentasjon og innmåling "
            "av traseen med koordinater for kartverket og nettselskapets dokumentasjonssystem")
    return text[:300]


def _pages(content: bytes) -> list[str]:
    reader = PdfReader(io.BytesIO(content))
    return [" ".join(page.extract_text().replace(NBSP, " ").split()) for page in reader.pages]


def _raw_text(content: bytes) -> str:
    reader = PdfReader(io.BytesIO(content))
    return "\n".join(page.extract_text() for page in reader.pages).replace(NBSP, " ")


def _save_artifact(name: str, content: bytes) -> None:
    """var/test-artifacts/<name>.pdf, and a PNG of each page when poppler's pdftoppm is installed."""
    out = Path(settings.BASE_DIR) / "var" / "test-artifacts"
    out.mkdir(parents=True, exist_ok=True)
    pdf = out / f"{name}.pdf"
    pdf.write_bytes(content)
    if shutil.which("pdftoppm"):
        subprocess.run(["pdftoppm", "-r", "60", "-png", str(pdf), str(out / name)], check=False, timeout=60)


def _stored(doc) -> bytes:
    doc.refresh_from_db()
    with doc.pdf.open("rb") as fh:
        return fh.read()


def _page_with(pages: list[str], text: str) -> int:
    found = [i for i, page in enumerate(pages) if text in page]
    assert found, f"{text!r} is on no page"
    return found[-1]


def _assert_sane(name: str, content: bytes, *, max_pages: int) -> list[str]:
    _save_artifact(name, content)
    pages = _pages(content)
    assert 1 <= len(pages) <= max_pages, (name, len(pages))
    for number, page in enumerate(pages, start=1):
        assert f"Side {number} av {len(pages)}" in page, (name, number)
        assert "{#" not in page and "{%" not in page, "no template syntax leaks onto the paper"
        assert LONG_NAME in page or number > 1, "the recipient's long name is printed whole on page 1"
    return pages


@pytest.fixture
def long_customer(company):
    return make_customer(name=LONG_NAME, email="styret@solsiden.example", kind="organisation",
                         orgnr="914500001", street="Solsidevegen 120, oppgang B", postal_code="5416",
                         city="Stord")


def _long_basis(caseworker, customer, n=40, **fields):
    basis = make_basis(by=caseworker, customer=customer, title="Ny tilknytning, boligfelt Solsiden trinn 3",
                       site_street="Solsidevegen 120", site_postal_code="5416", site_city="Stord",
                       metering_point_id="707057500000000124", **fields)
    for i in range(1, n + 1):
        cats = CATEGORIES if i % 3 else TAXABLE_CATEGORIES
        add_line(basis, caseworker, category=cats[i % len(cats)], description=_description(i),
                 quantity=str(1 + i % 7), unit="t", unit_price=f"{1000 + 37 * i}.50")
    return basis


def test_long_offer_keeps_the_acceptance_box_and_totals_with_their_content(
        company, caseworker, long_customer, oncommit):
    basis = _long_basis(caseworker, long_customer)
    with oncommit():
        offer = services.offer_send(basis=basis, by=caseworker)
    content = _stored(offer)
    pages = _assert_sane("offer", content, max_pages=10)
    # The acceptance box never stands alone on a page: the terms before it come along.
    box = _page_with(pages, "Slik aksepterer du tilbudet")
    assert "Vilkår" in pages[box] and "Tiårsregelen" in pages[box], "the terms come along with the box"
    # The totals are on a page with at least one cost line.
    total = _page_with(pages, "Totalt estimat inkl. MVA")
    assert LINE_MARK.search(pages[total]), pages[total]
    # The company name is printed once in the letterhead.
    assert pages[0].count("Fjordnett AS") == 1, pages[0][:300]


def test_long_invoices_credit_note_and_reminder(company, caseworker, long_customer, oncommit):
    basis = _long_basis(caseworker, long_customer)
    with oncommit():
        services.offer_send(basis=basis, by=caseworker)
        services.offer_accept(basis=basis, by=None)
    with oncommit():
        invoices = services.invoices_issue(basis=basis, by=caseworker)
    by_regime = {i.vat_regime: i for i in invoices}
    for regime, inv in by_regime.items():
        content = _stored(inv)
        pages = _assert_sane(f"invoice-{regime}", content, max_pages=8)
        grand = _page_with(pages, "Å betale")
        assert LINE_MARK.search(pages[grand]), "the totals are on a page with cost lines"
        raw = _raw_text(content)
        # Category names are whole words in their column, never "Anleggsbidra|g".
        labels = ("Anleggsbidrag", "Trafoutlevering") if regime == "O" else ("Sanering/riving", "Målerarbeid",
                                                                            "Replombering")
        for label in labels:
            assert label in raw, (regime, label)
        assert not re.search(r"Anleggsbidr?a?\n", raw)
        assert raw.count("Leveringsdato") == 1
    # Credit note of the taxable invoice.
    with oncommit():
        credit = services.invoice_credit(invoice=by_regime["taxable"], by=caseworker, reason="Feil sats")
    content = _stored(credit)
    pages = _assert_sane("credit-note", content, max_pages=8)
    assert "Kreditnotadato" in pages[0] and "Fakturadato" not in " ".join(pages)
    assert f"Krediterer faktura {by_regime['taxable'].number}" in pages[0]
    assert LINE_MARK.search(pages[_page_with(pages, "Kreditert beløp")])
    # Reminder on the overdue contribution invoice.
    o_invoice = by_regime["O"]
    with oncommit():
        reminder = services.reminder_send(invoice=o_invoice, on=o_invoice.due_date + dt.timedelta(days=15))
    assert reminder is not None
    pages = _assert_sane("reminder", _stored(reminder), max_pages=1)
    assert "1. purring" in pages[0] and "Å betale" in pages[0]


def test_long_change_notice_keeps_its_answer_box_with_the_terms(company, caseworker, long_customer, oncommit):
    basis = _long_basis(caseworker, long_customer, n=3)
    with oncommit():
        services.offer_send(basis=basis, by=caseworker)
        services.offer_accept(basis=basis, by=None)
    for i in range(100, 140):
        add_line(basis, caseworker, category="meter_work", description=_description(i), quantity="2",
                 unit="t", unit_price="845.00")
    with oncommit():
        notice = services.change_notice_send(basis=basis, by=caseworker)
    pages = _assert_sane("change-notice", _stored(notice), max_pages=10)
    box = _page_with(pages, "Slik svarer du")
    assert "Aksepterer du endringen" in pages[box] and "Avslår du endringen" in pages[box], \
        "the answer box is not alone on its page: the terms come along"
    assert "Akseptert estimat før endringen" in pages[box] and "Nytt estimat inkl. MVA" in pages[box]
    assert LINE_MARK.search(pages[_page_with(pages, "Endring inkl. MVA")])


def test_final_invoice_shows_settled_minus_invoiced_and_refers_to_the_prepayment(
        company, caseworker, long_customer, oncommit):
    basis = make_basis(by=caseworker, customer=long_customer, prepayment_required=True,
                       site_street="Solsidevegen 120", site_postal_code="5416", site_city="Stord")
    add_line(basis, caseworker, description="Anleggsbidrag, estimat", unit_price="100000.00")
    with oncommit():
        services.offer_send(basis=basis, by=caseworker)
        services.offer_accept(basis=basis, by=None)
    [prepay] = basis.invoices.all()
    services.payment_register(invoice=prepay, by=caseworker, amount=D("100000.00"), method=Payment.Method.MANUAL)
    add_line(basis, caseworker, description="Faktisk kostnad", unit_price="115000.00", phase="actual")
    with oncommit():
        [final] = services.final_settle(basis=basis, by=caseworker)
    assert final.kind == Invoice.Kind.FINAL
    content = _stored(final)
    pages = _assert_sane("final-invoice", content, max_pages=2)
    text = " ".join(pages)
    assert f"Tidligere fakturert forskuddsfaktura {prepay.number} av {prepay.issue_date:%d.%m.%Y}" in text
    assert "Oppgjort beløp (etterberegnet) 115 000,00 kr" in text
    assert f"Tidligere fakturert (forskuddsfaktura {prepay.number}) −100 000,00 kr" in text
    assert "Differanse å betale 15 000,00 kr" in text
    assert not re.search(r"(?<![\d.])\d{4,}\.\d\d(?![\d.])", text), "amounts are printed the Norwegian way, not 115000.00"
    assert "etterberegnet 115 000,00 kr" in text
    assert _page_with(pages, "Sluttoppgjør (kontrollforskriften") == _page_with(pages, "Differanse å betale")


def test_acceptance_box_is_never_alone_whatever_the_length(company, caseworker, long_customer, oncommit):
    """The same offer letter cut to 24…40 lines: wherever the page break falls, the page with the
    acceptance box holds more than the box, and the totals share a page with cost lines."""
    basis = _long_basis(caseworker, long_customer)
    with oncommit():
        offer = services.offer_send(basis=basis, by=caseworker)
    full = documents.offer_context(offer)
    renderer = renderers.get_renderer()
    for keep in range(24, 41, 2):
        groups, left = [], keep
        for g in full["groups"]:
            if left <= 0:
                break
            groups.append({**g, "lines": g["lines"][:left]})
            left -= len(groups[-1]["lines"])
        pages = _pages(renderer.pdf("documents/offer.html", {**full, "groups": groups}))
        box = _page_with(pages, "Slik aksepterer du tilbudet")
        assert "Vilkår" in pages[box] and "Tiårsregelen" in pages[box], (keep, pages[box])
        assert LINE_MARK.search(pages[_page_with(pages, "Totalt estimat inkl. MVA")]), keep


def test_document_header_names_the_company_once(company, caseworker, oncommit):
    basis = make_basis(by=caseworker)
    add_line(basis, caseworker, description="Materiell", unit_price="1000.00")
    with oncommit():
        offer = services.offer_send(basis=basis, by=caseworker)
    html = documents.document_html("offer", offer)
    header = html.split('<header class="letterhead">', 1)[1].split("</header>", 1)[0]
    assert header.count("Fjordnett AS") == 1, header
