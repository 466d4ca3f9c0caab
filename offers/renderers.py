"""Documents: one renderer interface turning the document HTML templates into the on-screen preview
and the PDF, plus the context builders for offers and invoices and the store-once PDF logic.

Money is never computed here: offer totals come from the Offer row and `billing.money.totals` over the
offer snapshot, invoices from their snapshot (lines, vat_breakdown, totals); shared-cost figures from
`billing.services.shared_cost_allocation`.
"""

from __future__ import annotations

import base64
import contextlib
import gc
import hashlib
import logging
import mimetypes
import re
import threading
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation

log = logging.getLogger(__name__)

TEMPLATES = {"offer": "documents/offer.html", "invoice": "documents/invoice.html"}
CSS_PATH = Path(settings.BASE_DIR) / "templates" / "documents" / "document.css"


# --- the renderer interface ---------------------------------------------------------------------


class Renderer:
    """Turns a document template + context into HTML (the preview) and PDF bytes (the evidence)."""

    def html(self, template_name: str, context: dict, *, preview: bool = False) -> str:
        ctx = {**context, "preview": preview, "document_css": "" if preview else document_css()}
        with translation.override(context.get("language") or settings.LANGUAGE_CODE):
            return render_to_string(template_name, ctx)

    def pdf_from_html(self, html: str) -> bytes:  # pragma: no cover - interface
        raise NotImplementedError

    def pdf(self, template_name: str, context: dict) -> bytes:
        return self.pdf_from_html(self.html(template_name, context))


def _allowed_roots() -> list[Path]:
    roots = [Path(settings.MEDIA_ROOT), Path(settings.STATIC_ROOT)]
    roots += [Path(p) for p in getattr(settings, "STATICFILES_DIRS", [])]
    return [r.resolve() for r in roots]


@lru_cache(maxsize=1)
def _fetcher_class():
    from weasyprint.urls import URLFetcher

    class LocalOnlyURLFetcher(URLFetcher):
        """Serves data: URIs and files under MEDIA_ROOT / static only; everything else is refused, so a
        document never reaches the network."""

        def fetch(self, url, headers=None):
            if url.startswith("data:"):
                return super().fetch(url, headers)
            if url.startswith("file://"):
                from urllib.parse import unquote, urlsplit

                path = Path(unquote(urlsplit(url).path)).resolve()
                if any(path.is_relative_to(root) for root in _allowed_roots()) and path.is_file():
                    return super().fetch(url, headers)
            raise ValueError(f"external resource refused in documents: {url[:100]}")

    return LocalOnlyURLFetcher


class WeasyPrintRenderer(Renderer):
    """A4 PDFs with WeasyPrint; fonts (DejaVu) come from fontconfig, nothing from the network."""

    def __init__(self):
        import weasyprint  # noqa: F401 - imported once, lazily (it is slow to import)
        from weasyprint.text.fonts import FontConfiguration

        self._font_config = FontConfiguration()
        self._fetcher = _fetcher_class()(allowed_protocols=["data", "file"], timeout=2)

    def pdf_from_html(self, html: str) -> bytes:
        import weasyprint

        base_url = Path(settings.BASE_DIR / "static").resolve().as_uri() + "/"
        # One render at a time per process: WeasyPrint's Pango/fontconfig layer and the shared font
        # configuration are not safe across threads (two renders in threads hung in a test). Celery's
        # prefork workers render in separate processes, so the lock only serialises threaded servers
        # such as `make run` with eager tasks.
        with _render_lock, gc_paused():
            return weasyprint.HTML(string=html, base_url=base_url, url_fetcher=self._fetcher).write_pdf(
                font_config=self._font_config)


_render_lock = threading.Lock()


_gc_lock = threading.Lock()
_gc_depth = 0
_gc_was_enabled = True


@contextlib.contextmanager
def gc_paused():
    """Pause Python's cyclic garbage collector while a document is laid out.

    WeasyPrint allocates hundreds of thousands of small objects per document; each allocation burst
    triggers collections that scan the whole heap of a Django process (measured: a third of a 50-line
    offer's render time). The pause lasts one render (well under a second); the collector is switched
    back on afterwards — reference counting frees most objects during the render anyway, and the next
    regular collection takes the cycles. Nested and concurrent renders (threads) share one counter, so
    the collector is restored only when the last render leaves, and only if it was on before."""
    global _gc_depth, _gc_was_enabled
    with _gc_lock:
        if _gc_depth == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_depth += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_depth -= 1
            if _gc_depth == 0 and _gc_was_enabled:
                gc.enable()


@lru_cache(maxsize=1)
def get_renderer() -> Renderer:
    return WeasyPrintRenderer()


@lru_cache(maxsize=1)
def document_css() -> str:
    return CSS_PATH.read_text(encoding="utf-8")


# --- shared context -----------------------------------------------------------------------------


def _logo_data_uri(company) -> str:
    """The company logo inlined (data: URI), so neither the PDF nor the preview fetch anything."""
    if not company or not company.logo:
        return ""
    try:
        with company.logo.open("rb") as fh:
            data = fh.read()
    except (OSError, ValueError):
        log.warning("company logo %s is missing", company.logo.name)
        return ""
    mime = mimetypes.guess_type(company.logo.name)[0] or "image/png"
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def _company_context():
    from billing.models import CompanyProfile

    company = CompanyProfile.objects.filter(pk=1).first()
    return {"company": company, "logo": _logo_data_uri(company)}


def _dec(value) -> Decimal:
    return Decimal(str(value)) if value not in (None, "") else Decimal("0")


# --- offers -------------------------------------------------------------------------------------


def portal_url() -> str:
    return f"{settings.SITE_URL}/portal/"


def offer_context(offer) -> dict:
    """Everything the offer letter shows, from the Offer row and its snapshot."""
    from billing import money
    from billing.models import CostCategory, CostLine, SharedCostParticipant, VatCode
    from billing.services import CONTRIBUTION_CATEGORY, shared_cost_allocation

    basis = offer.basis
    customer = basis.customer
    snapshot = offer.snapshot or {}
    categories = {c.code: c for c in CostCategory.objects.all()}
    vat = {v.code: v for v in VatCode.objects.all()}
    raw = snapshot.get("lines", [])
    live = {ln.pk: ln for ln in CostLine.objects.filter(pk__in=[r.get("id") for r in raw if r.get("id")],
                                                        shared_cost__isnull=False).select_related("shared_cost")}
    allocations = {}
    groups: dict[str, dict] = {}
    for r in raw:
        code = r["category"]
        cat = categories.get(code)
        vc = vat.get(r["vat_code"])
        line = {"description": r["description"], "quantity": _dec(r["quantity"]), "unit": r["unit"],
                "unit_price": _dec(r["unit_price"]), "amount": _dec(r["amount"]), "vat_code": r["vat_code"],
                "vat_rate": vc.rate if vc else Decimal("0"), "customer_caused": r.get("customer_caused")}
        cl = live.get(r.get("id"))
        if cl is not None:
            shared = cl.shared_cost
            if shared.pk not in allocations:
                allocations[shared.pk] = shared_cost_allocation(shared)
            alloc = allocations[shared.pk]
            part = SharedCostParticipant.objects.filter(shared_cost=shared, basis=basis).first()
            line["shared"] = {"description": shared.description, "component_cost": alloc["total"],
                              "component_capacity": shared.capacity, "unit": shared.capacity_unit,
                              "allocation": shared.get_allocation_display(),
                              "capacity": part.capacity if part else None,
                              "share": alloc["shares"].get(part.pk) if part else None,
                              "expected_count": shared.expected_count}
        group = groups.setdefault(code, {"code": code, "label": cat.label if cat else code,
                                         "order": (cat.sort_order if cat else 999, code), "lines": []})
        group["lines"].append(line)
    deduction = _dec(snapshot.get("base_deduction"))
    rows_all = []
    for g in groups.values():
        rows = [(ln["vat_code"], ln["vat_rate"], ln["amount"]) for ln in g["lines"]]
        t = money.totals(rows)
        g["net"], g["vat"], g["gross"] = t.net, t.vat, t.gross
        g["vat_codes"] = sorted({(ln["vat_code"], ln["vat_rate"]) for ln in g["lines"]})
        g["outside_vat"] = {code for code, _rate in g["vat_codes"]} == {"O"}
        rows_all += rows
    if deduction:
        o = vat.get("O")
        rows_all.append(("O", o.rate if o else Decimal("0"), -deduction))
    totals = money.totals(rows_all)
    if (totals.net, totals.vat, totals.gross) != (offer.net, offer.vat, offer.gross):
        log.error("offer %s: snapshot totals differ from the stored totals", offer.pk)
    username = (customer.user.username if customer and customer.user_id else
                (customer.email or "").lower() if customer else "")
    return {
        **_company_context(),
        "doc_kind": "offer",
        "title": "Endringsvarsel" if offer.kind == "change" else "Tilbud",
        "offer": offer, "basis": basis, "customer": customer,
        "offer_date": timezone.localdate(offer.sent_at) if offer.sent_at else timezone.localdate(),
        "groups": sorted(groups.values(), key=lambda g: g["order"]),
        "deduction": deduction, "totals": totals,
        "vat_groups": totals.groups,
        "net": offer.net, "vat": offer.vat, "gross": offer.gross,
        "has_contribution": CONTRIBUTION_CATEGORY in groups or "O" in {r[0] for r in rows_all},
        "has_shared": any("shared" in ln for g in groups.values() for ln in g["lines"]),
        "portal_url": portal_url(), "username": username,
        "language": getattr(customer, "language", "") or settings.LANGUAGE_CODE,
    }


def rough_estimate_context(basis) -> dict:
    """The offer letter for a basis whose offer is not sent yet: "grovt overslag" (not binding), from
    the basis' current estimate lines, through the same snapshot and totals billing uses."""
    from billing import selectors
    from billing.models import CostLine, Offer

    lines = list(basis.lines.filter(phase=CostLine.Phase.ESTIMATE, is_change=False)
                 .select_related("category", "vat_code"))
    totals = selectors.basis_totals(basis, lines)
    draft = Offer(basis=basis, version=basis.offer_version + 1, valid_until=timezone.localdate(),
                  net=totals.net, vat=totals.vat, gross=totals.gross,
                  snapshot=selectors.offer_snapshot(basis, lines))
    return {**offer_context(draft), "rough": True, "title": "Grovt overslag", "offer_date": timezone.localdate()}


# --- invoices -----------------------------------------------------------------------------------


def _settlement_for(invoice, lines) -> list[dict] | None:
    """The final-settlement calculation that produced `invoice` (billing's record of the settlement), one
    row per VAT code the document settles: the settled amount, what was invoiced before, the difference."""
    from billing.models import AuditEvent

    settlement = None
    for ev in AuditEvent.objects.filter(basis_id=invoice.basis_id, action="billing.basis.final_settled"):
        if invoice.pk in (ev.data or {}).get("documents", []):
            settlement = ev.data.get("settlement") or {}
    if not settlement:
        return None
    codes = {ln.vat_code for ln in lines}
    rows = []
    for code, figures in sorted(settlement.items()):
        if codes and code not in codes:
            continue
        row = {"code": code, **{k: _dec(v) for k, v in figures.items()}}
        # Display signs only (the figures are billing's): what was invoiced before is subtracted.
        row["already_invoiced_negated"] = -row.get("already_invoiced", Decimal("0"))
        row["difference_abs"] = abs(row.get("difference", Decimal("0")))
        rows.append(row)
    return rows or None


# A settlement line written before its figures were stored formatted carries plain decimals
# ("etterberegnet 97350.00"); on paper they read as Norwegian amounts.
_PLAIN_AMOUNT = re.compile(r"(?<![\d.,])(\d+)\.(\d{2})(?![\d.,])")


def display_description(line) -> str:
    """A line's description as printed: a line without a cost line (written by the settlement) shows its
    plain decimal figures as Norwegian amounts ("97350.00" → "97 350,00 kr")."""
    text = line.description
    if getattr(line, "cost_line_id", None) is None and _PLAIN_AMOUNT.search(text):
        from billing.templatetags.money import nok

        text = _PLAIN_AMOUNT.sub(lambda m: nok(f"{m.group(1)}.{m.group(2)}"), text)
    return text


def invoice_context(invoice) -> dict:
    from billing.selectors import invoice_preceding

    seller, buyer = invoice.seller or {}, invoice.buyer or {}
    site = buyer.get("site") or {}
    credited = invoice.credited_invoice
    lines = list(invoice.lines.all())
    for ln in lines:
        ln.display_description = display_description(ln)
    settles = invoice.kind in ("final", "credit_note")
    return {
        **_company_context(),
        "doc_kind": "invoice",
        "title": invoice.get_kind_display(),
        "invoice": invoice, "seller": seller, "buyer": buyer,
        "seller_display_name": seller.get("name", ""),
        "site_lines": [x for x in (site.get("street"), f'{site.get("postal_code", "")} {site.get("city", "")}'.strip())
                       if x],
        "lines": lines,
        "preceding": invoice_preceding(invoice.pk) if invoice.kind == "final" and invoice.pk else [],
        "vat_groups": [{"code": g["code"], "rate": _dec(g["rate"]), "base": _dec(g["base"]), "vat": _dec(g["vat"])}
                       for g in invoice.vat_breakdown or []],
        "credited": credited,
        "settlement": _settlement_for(invoice, lines) if settles and invoice.pk else None,
        "is_credit_note": invoice.kind == "credit_note",
        "language": buyer.get("language") or settings.LANGUAGE_CODE,
    }


# --- documents: HTML, stored PDF ----------------------------------------------------------------


def _model(kind: str):
    from billing.models import Invoice, Offer

    return {"offer": Offer, "invoice": Invoice}[kind]


def document_context(kind: str, doc) -> dict:
    return offer_context(doc) if kind == "offer" else invoice_context(doc)


def document_html(kind: str, doc, *, preview: bool = False) -> str:
    return get_renderer().html(TEMPLATES[kind], document_context(kind, doc), preview=preview)


def document_filename(kind: str, doc) -> str:
    if kind == "offer":
        return f"Tilbud-{doc.basis.number}-v{doc.version}.pdf"
    prefix = "Kreditnota" if doc.kind == "credit_note" else "Faktura"
    return f"{prefix}-{doc.series}{doc.display_number}.pdf"


def document_pdf_ensure(kind: str, pk: int) -> str:
    """Render and store the PDF once. A stored PDF is evidence: when `pdf_sha256` is set nothing
    happens. Returns "exists" or "rendered". Draft invoices are never stored."""
    model = _model(kind)
    doc = model.objects.filter(pk=pk).only("pk", "pdf_sha256").first()
    if doc is None or doc.pdf_sha256:
        return "exists" if doc else "missing"
    with transaction.atomic():
        doc = model.objects.select_for_update().get(pk=pk)
        if doc.pdf_sha256:
            return "exists"
        if kind == "invoice" and doc.number is None:
            return "draft"
        content = get_renderer().pdf(TEMPLATES[kind], document_context(kind, doc))
        doc.pdf.save(document_filename(kind, doc), ContentFile(content), save=False)
        doc.pdf_sha256 = hashlib.sha256(content).hexdigest()
        doc.save(update_fields=["pdf", "pdf_sha256"])
    return "rendered"


def document_pdf_bytes(kind: str, pk: int) -> tuple[str, bytes]:
    """(filename, bytes) of the stored PDF, rendering it first if missing. Draft invoices are rendered
    on the fly (marked as draft) and never stored."""
    document_pdf_ensure(kind, pk)
    doc = _model(kind).objects.get(pk=pk)
    if not doc.pdf_sha256:
        return document_filename(kind, doc), get_renderer().pdf(TEMPLATES[kind], document_context(kind, doc))
    with doc.pdf.open("rb") as fh:
        content = fh.read()
    if hashlib.sha256(content).hexdigest() != doc.pdf_sha256:
        log.error("%s %s: stored PDF does not match its SHA-256", kind, pk)
    return document_filename(kind, doc), content
