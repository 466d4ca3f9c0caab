"""Offer letters, invoices and credit notes as PDF: what a customer, an accountant and the regulator
read in them (text extracted with pypdf), and that an issued document's PDF is never re-rendered."""

import datetime as dt
import hashlib
from decimal import Decimal

import pytest

from billing import services
from billing.models import Invoice, Payment
from offers import documents, renderers
from tests.support.documents import pdf_text, stored_pdf_text
from tests.support.factories import add_line, example1_lines, make_basis, make_customer

D = Decimal
pytestmark = pytest.mark.django_db

ORG_LINE = "Org.nr. 914 588 200 MVA Foretaksregisteret"
SITE = dict(site_street="Bakkeveien 2", site_postal_code="5010", site_city="Bergen",
            metering_point_id="707057500000000001")


def _offer(caseworker, oncommit, customer=None, **fields):
    basis = make_basis(by=caseworker, customer=customer, **{**SITE, **fields})
    example1_lines(basis, caseworker)
    with oncommit():
        offer = services.offer_send(basis=basis, by=caseworker)
    return basis, offer


def test_offer_letter_has_everything_the_customer_needs(company, caseworker, oncommit):
    basis, offer = _offer(caseworker, oncommit)
    text = stored_pdf_text(offer)
    for expected in ("Tilbud", basis.number, "Versjon 1", "Kari Nordmann", "Bakkeveien 2, 5010 Bergen",
                     "707057500000000001", offer.valid_until.strftime("%d.%m.%Y"),
                     "Anleggsbidrag", "Replombering", "Materiell", "12,5", "845,00", "23 780,40",
                     "57 392,90 kr", "300,00 kr", "58 892,90 kr", ORG_LINE,
                     "15 %", "Tiårsregelen", "/portal/",
                     "Brukernavn: kari@example.com"):
        assert expected in text, expected
    assert "estimat" in text and "grovt overslag" not in text, "the offer binds the company: estimat"
    assert offer.pdf_sha256 == hashlib.sha256(offer.pdf.open("rb").read()).hexdigest()


def test_offer_shows_prepayment_terms(company, caseworker, oncommit):
    _, offer = _offer(caseworker, oncommit, prepayment_required=True)
    assert "Forskudd: hele beløpet faktureres ved aksept" in stored_pdf_text(offer)


def test_norwegian_letters_render(company, caseworker, oncommit):
    customer = make_customer(name="Åse Ødegård Bæverfjord", street="Skjærgårdsveien 7", city="Tromsø",
                             email="ase@example.com")
    basis, offer = _offer(caseworker, oncommit, customer=customer, title="Tilkobling, Skjærgårdsveien 7")
    text = stored_pdf_text(offer)
    assert "Åse Ødegård Bæverfjord" in text
    assert "Skjærgårdsveien 7" in text and "Tromsø" in text and "Målepunkt-ID" in text


def test_offer_shows_shared_cost_calculation(company, caseworker, oncommit):
    shared, _ = services.shared_cost_create(
        by=caseworker, description="Nettstasjon Åsen 400 kVA", capacity=D("400"), capacity_unit="kVA",
        allocation="component_capacity",
        lines=[{"category": "transformer_delivery", "description": "Transformator", "unit_price": "480000.00"}])
    basis = make_basis(by=caseworker, **SITE)
    services.shared_cost_add_participant(shared_cost=shared, basis=basis, capacity=D("60"), by=caseworker)
    with oncommit():
        offer = services.offer_send(basis=basis, by=caseworker)
    text = " ".join(stored_pdf_text(offer).split())
    assert "Felles anlegg «Nettstasjon Åsen 400 kVA»" in text
    assert "komponentkostnad 480 000,00 kr" in text
    assert "din kapasitet 60 kVA" in text and "din andel 72 000,00 kr" in text


def _invoiced(caseworker, oncommit, **fields):
    basis = make_basis(by=caseworker, **{**SITE, **fields})
    example1_lines(basis, caseworker)
    with oncommit():
        services.offer_send(basis=basis, by=caseworker)
        services.offer_accept(basis=basis, by=None)
    with oncommit():
        invoices = services.invoices_issue(basis=basis, by=caseworker) if not fields.get("prepayment_required") \
            else list(basis.invoices.all())
    return basis, invoices


def test_invoices_carry_the_legal_contents(company, caseworker, oncommit):
    basis, invoices = _invoiced(caseworker, oncommit)
    by_regime = {i.vat_regime: i for i in invoices}
    o, s = by_regime["O"], by_regime["taxable"]
    text_o, text_s = stored_pdf_text(o), stored_pdf_text(s)
    for inv, text in ((o, text_o), (s, text_s)):
        for expected in ("Faktura", f"Fakturanummer {inv.number}", inv.issue_date.strftime("%d.%m.%Y"),
                         inv.due_date.strftime("%d.%m.%Y"), "Fjordnett AS", ORG_LINE, "Kari Nordmann",
                         "Bakkeveien 2, 5010 Bergen", "707057500000000001", "Leveringsdato",
                         "1234.56.78903", f"KID {inv.kid}", basis.number):
            assert expected in text, (inv.vat_regime, expected)
    flat_o = " ".join(text_o.split())
    assert "Sum utenfor merverdiavgiftsloven (ingen MVA) 57 392,90 kr" in flat_o
    assert "Anleggsbidrag er utenfor merverdiavgiftsloven – ingen MVA" in flat_o
    assert "0,00 kr" not in text_o and "MVA totalt" not in text_o, "no 0,00 VAT row on a contribution invoice"
    for text in (text_o, text_s):
        assert text.count("Leveringsdato") == 1, "the delivery date is printed once"
    assert "MVA S 25 % av 1 200,00 kr 300,00 kr" in text_s and "1 500,00 kr" in text_s
    assert "MVA totalt (NOK) 300,00 kr" in text_s


def test_prepayment_invoice(company, caseworker, oncommit):
    _, invoices = _invoiced(caseworker, oncommit, prepayment_required=True)
    assert invoices and all(i.kind == Invoice.Kind.PREPAYMENT for i in invoices)
    assert "Forskuddsfaktura" in stored_pdf_text(invoices[0])


def test_change_invoice(company, caseworker, oncommit):
    basis, _ = _invoiced(caseworker, oncommit)
    add_line(basis, caseworker, category="meter_work", description="Ekstra målerskap", unit_price="2000.00")
    with oncommit():
        notice = services.change_notice_send(basis=basis, by=caseworker)
        services.change_notice_answer(notice=notice, by=None, decision="accepted")
    with oncommit():
        [inv] = services.invoices_issue(basis=basis, by=caseworker)
    assert inv.kind == Invoice.Kind.CHANGE
    text = stored_pdf_text(inv)
    assert "Endringsfaktura" in text and "Ekstra målerskap" in text and "2 500,00 kr" in text


def test_credit_note_names_the_invoice_it_corrects(company, caseworker, oncommit):
    _, invoices = _invoiced(caseworker, oncommit)
    original = next(i for i in invoices if i.vat_regime == "taxable")
    with oncommit():
        credit = services.invoice_credit(invoice=original, by=caseworker, reason="Feil adresse")
    text = stored_pdf_text(credit)
    assert "Kreditnota" in text and f"Kreditnotanummer {credit.number}" in text
    assert f"korrigerer faktura {original.number} datert {original.issue_date:%d.%m.%Y}" in text
    assert "1 500,00 kr" in text and ORG_LINE in text
    assert "KID" not in text, "a credit note is not paid"


def test_final_invoice_shows_the_settlement(company, caseworker, oncommit):
    basis = make_basis(by=caseworker, prepayment_required=True, **SITE)
    add_line(basis, caseworker, description="Anleggsbidrag, estimat", unit_price="80000.00")
    with oncommit():
        services.offer_send(basis=basis, by=caseworker)
        services.offer_accept(basis=basis, by=None)
    [prepay] = basis.invoices.all()
    services.payment_register(invoice=prepay, by=caseworker, amount=D("80000.00"), method=Payment.Method.MANUAL)
    add_line(basis, caseworker, description="Faktisk kostnad", unit_price="97350.00", phase="actual")
    with oncommit():
        [final] = services.final_settle(basis=basis, by=caseworker)
    assert final.kind == Invoice.Kind.FINAL
    text = " ".join(stored_pdf_text(final).split())
    assert "Sluttfaktura" in text and "Sluttoppgjør (kontrollforskriften § 16-11)" in text
    assert "92 000,00" in text, "the cap (estimate + 15 %) is shown"
    assert "12 000,00 kr" in text and f"KID {final.kid}" in text


def test_issued_invoice_pdf_is_never_re_rendered(company, caseworker, oncommit, monkeypatch):
    _, invoices = _invoiced(caseworker, oncommit)
    inv = invoices[0]
    inv.refresh_from_db()
    sha, name = inv.pdf_sha256, inv.pdf.name
    assert sha

    def boom(*a, **k):
        raise AssertionError("an issued document must not be rendered again")

    monkeypatch.setattr(renderers.WeasyPrintRenderer, "pdf_from_html", boom)
    assert documents.document_pdf_ensure("invoice", inv.pk) == "exists"
    filename, content = documents.document_pdf_bytes("invoice", inv.pk)
    inv.refresh_from_db()
    assert (inv.pdf_sha256, inv.pdf.name) == (sha, name)
    assert hashlib.sha256(content).hexdigest() == sha


def test_the_stylesheet_parsed_once_gives_the_same_pdf_as_the_self_contained_html(
        company, caseworker, oncommit, monkeypatch):
    import weasyprint

    _, offer = _offer(caseworker, oncommit)
    invoices = _invoiced(caseworker, oncommit)[1]
    parsed = []
    real_css = weasyprint.CSS

    def counting_css(*args, **kwargs):
        parsed.append(kwargs.get("string", "")[:20])
        return real_css(*args, **kwargs)

    monkeypatch.setattr(weasyprint, "CSS", counting_css)
    renderer = renderers.WeasyPrintRenderer()
    for kind, doc in (("offer", offer), ("invoice", invoices[0])):
        decl = documents.document(kind)
        context = documents.document_context(kind, doc)
        self_contained = renderer.html(decl.template, context)
        assert "<style>" in self_contained and "<style>" not in renderer.html(decl.template, context,
                                                                             inline_css=False)
        assert renderer.pdf(decl.template, context) == renderer.pdf_from_html(self_contained), kind
    assert len(parsed) == 1, "document.css is parsed once per renderer, however many documents"
    assert "<style>" not in renderer.html(decl.template, context, preview=True), "the preview links it"


def test_a_pdf_stored_meanwhile_by_another_process_is_served_as_stored(company, caseworker, monkeypatch):
    basis = make_basis(by=caseworker, **SITE)
    example1_lines(basis, caseworker)
    offer = services.offer_send(basis=basis, by=caseworker)  # no commit hooks: nothing rendered yet
    assert not offer.pdf_sha256
    real_ensure = documents.document_pdf_ensure

    def boom(*args):
        raise AssertionError("a stored PDF must be served as stored, not rendered again")

    def another_process_stores_it_first(kind, pk):
        assert real_ensure(kind, pk) == "rendered"
        monkeypatch.setattr(documents, "document_pdf", boom)
        return "exists"  # what this process's call sees after the other one's

    monkeypatch.setattr(documents, "document_pdf_ensure", another_process_stores_it_first)
    _, content = documents.document_pdf_bytes("offer", offer.pk)
    offer.refresh_from_db()
    assert hashlib.sha256(content).hexdigest() == offer.pdf_sha256


def test_documents_fetch_nothing_from_outside(company):
    renderer = renderers.WeasyPrintRenderer()
    html = ('<html><body><p>Hei</p><img src="http://198.51.100.1/x.png">'
            '<img src="file:///etc/passwd"></body></html>')
    assert "Hei" in pdf_text(renderer.pdf_from_html(html)), "refused resources do not break the document"
    for url in ("http://198.51.100.1/x.png", "https://example.com/font.woff", "file:///etc/passwd"):
        with pytest.raises(ValueError):
            renderer._fetcher.fetch(url)
    assert renderer._fetcher.fetch("data:text/plain,hei").read() == b"hei"


def test_logo_is_on_the_letterhead(company, caseworker, oncommit):
    from django.core.files.base import ContentFile

    png = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                        "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")
    company.logo.save("logo.png", ContentFile(png))
    _, offer = _offer(caseworker, oncommit)
    ctx = documents.offer_context(offer)
    assert ctx["logo"].startswith("data:image/png;base64,")
    html = documents.document_html("offer", offer)
    assert 'class="logo" src="data:image/png' in html


def test_offer_date_and_validity(company, caseworker, oncommit):
    basis = make_basis(by=caseworker, **SITE)
    example1_lines(basis, caseworker)
    valid = dt.date.today() + dt.timedelta(days=45)
    with oncommit():
        offer = services.offer_send(basis=basis, by=caseworker, valid_until=valid)
    assert f"Gyldig til {valid:%d.%m.%Y}" in stored_pdf_text(offer)


def test_fixed_line_table_keeps_long_texts_and_large_amounts(company, caseworker, oncommit):
    """The line tables have a fixed layout (set column widths, for render speed): a long description
    wraps inside its column and a large amount is still printed whole."""
    basis = make_basis(by=caseworker, **SITE)
    long_word = "Kabelgrøftgravingsentreprenørarbeid" * 3
    add_line(basis, caseworker, description=f"Graving {long_word} langs hele eiendomsgrensen mot nord",
             quantity="1", unit_price="9876543.21")
    with oncommit():
        offer = services.offer_send(basis=basis, by=caseworker)
    text = stored_pdf_text(offer)
    assert "9 876 543,21" in text
    assert "langs hele eiendomsgrensen mot nord" in " ".join(text.split())
    assert "Kabelgrøftgraving" in text


def test_gc_is_paused_only_while_rendering_and_restored(company, monkeypatch):
    import gc
    import threading

    import weasyprint

    renderer = renderers.WeasyPrintRenderer()
    assert gc.isenabled()
    assert "Hei" in pdf_text(renderer.pdf_from_html("<p>Hei</p>"))
    assert gc.isenabled(), "the collector is back on after a render"

    seen_during_render = []
    real_write_pdf = weasyprint.HTML.write_pdf

    def spying_write_pdf(self, *args, **kwargs):
        seen_during_render.append(gc.isenabled())
        return real_write_pdf(self, *args, **kwargs)

    monkeypatch.setattr(weasyprint.HTML, "write_pdf", spying_write_pdf)
    renderer.pdf_from_html("<p>Hei</p>")
    assert seen_during_render == [False], "paused while WeasyPrint works"

    # Concurrent paused sections (threads): the collector stays off until the last one leaves.
    all_inside, release, seen = threading.Barrier(4), threading.Event(), []

    def section():
        with renderers.gc_paused():
            all_inside.wait(timeout=10)
            seen.append(gc.isenabled())
            release.wait(timeout=10)

    threads = [threading.Thread(target=section) for _ in range(4)]
    for t in threads:
        t.start()
    while len(seen) < 4 and any(t.is_alive() for t in threads):
        threading.Event().wait(0.01)
    assert seen == [False] * 4 and not gc.isenabled()
    release.set()
    for t in threads:
        t.join(timeout=10)
    assert gc.isenabled(), "the collector is back on after concurrent sections"

    with pytest.raises(ValueError), renderers.gc_paused():
        raise ValueError("the render failed")
    assert gc.isenabled(), "and after a failed render"
    gc.disable()
    try:
        with renderers.gc_paused():
            pass
        assert not gc.isenabled(), "a collector that was off stays off"
    finally:
        gc.enable()
