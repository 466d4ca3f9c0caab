"""The documents a customer gets, each kind declared once in `DOCUMENTS`: its model, template, context
builder, file name and the FileField its PDF is stored in.

Everything that handles a document goes through the registry: the render task `offers.document_render`
(queued after commit by `offers/receivers.py` when billing records the event), the HTML preview, the
one PDF view (`offers/views.py`), the e-mail attachments (`offers/outbox.py`) and the permission check
(`offers/selectors.py`). A stored PDF is evidence: rendered once, its SHA-256 kept, never re-rendered.

Money is never computed here: offer totals come from the Offer row and `billing.money.totals` over the
offer snapshot, invoices from their snapshot (lines, vat_breakdown, totals), shared-cost figures from
billing's allocation, change-notice and reminder figures from their rows and billing's audit event.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import logging
import mimetypes
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from django.apps import apps
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from .renderers import get_renderer

log = logging.getLogger(__name__)


# --- shared context -----------------------------------------------------------------------------


def _logo_data_uri(company) -> str:
    """The company logo inlined (data: URI), so neither the PDF nor the preview fetch anything."""
    if not company or not company.logo:
        return ""
    try:  # through the storage: the row may be shared between threads (billing.selectors.reference)
        with company.logo.storage.open(company.logo.name, "rb") as fh:
            data = fh.read()
    except (OSError, ValueError):
        log.warning("company logo %s is missing", company.logo.name)
        return ""
    mime = mimetypes.guess_type(company.logo.name)[0] or "image/png"
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def company_context() -> dict:
    """The letterhead: the company profile and its logo."""
    from billing.selectors import company_profile

    company = company_profile()
    return {"company": company, "logo": _logo_data_uri(company)}


def _dec(value) -> Decimal:
    return Decimal(str(value)) if value not in (None, "") else Decimal("0")


def _event_data(action: str, basis_id: int, **match) -> dict:
    """The data of billing's newest audit event `action` on the basis whose data contains `match`: the
    figures billing recorded when it wrote the document's row (a document shows them, never recomputes)."""
    from billing.models import AuditEvent

    for event in AuditEvent.objects.filter(basis_id=basis_id, action=action).order_by("-at", "-pk"):
        data = event.data or {}
        if all(data.get(k) == v for k, v in match.items()):
            return data
    return {}


def portal_url() -> str:
    return f"{settings.SITE_URL}/portal/"


# --- offers -------------------------------------------------------------------------------------


def offer_context(offer) -> dict:
    """Everything the offer letter shows, from the Offer row and its snapshot."""
    from billing import money
    from billing.models import CostCategory, CostLine, SharedCostParticipant, VatCode
    from billing.selectors import CONTRIBUTION_CATEGORY, shared_cost_allocation

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
        group = groups.setdefault(code, {"code": code, "label": cat.display_label if cat else code,
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
        **company_context(),
        "doc_kind": "offer",
        "title": _("Endringsvarsel") if offer.kind == "change" else _("Tilbud"),
        "offer": offer, "basis": basis, "customer": customer,
        "offer_date": timezone.localdate(offer.sent_at) if offer.sent_at else timezone.localdate(),
        "groups": sorted(groups.values(), key=lambda g: g["order"]),
        "deduction": deduction, "totals": totals,
        "vat_groups": totals.groups,
        "net": offer.net, "vat": offer.vat, "gross": offer.gross,
        "has_contribution": CONTRIBUTION_CATEGORY in groups or "O" in {r[0] for r in rows_all},
        "has_shared": any("shared" in ln for g in groups.values() for ln in g["lines"]),
        "portal_url": portal_url(), "username": username,
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
    return {**offer_context(draft), "rough": True, "title": _("Grovt overslag"), "offer_date": timezone.localdate()}


def offer_filename(offer) -> str:
    return f"Tilbud-{offer.basis.number}-v{offer.version}.pdf"


# --- invoices and credit notes ------------------------------------------------------------------


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
        from billing.formatting import nok

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
        **company_context(),
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
    }


def invoice_filename(invoice) -> str:
    prefix = "Kreditnota" if invoice.kind == "credit_note" else "Faktura"
    return f"{prefix}-{invoice.series}{invoice.display_number}.pdf"


# --- change notices -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    """Net, VAT and gross of an amount as a document prints them."""

    gross: Decimal
    net: Decimal | None = None
    vat: Decimal | None = None


def _sent_event(notice) -> dict:
    return _event_data("billing.change_notice.sent", notice.basis_id, change_notice=notice.pk)


def change_notice_figures(notice) -> dict:
    """The change and the accepted estimate before and after it, as billing recorded them when it sent
    the notice: the notice row, and the estimate before the change from its `change_notice.sent` event."""
    data = _sent_event(notice)
    before = data.get("estimate_before_gross")
    return {"change": Figures(net=notice.net, vat=notice.vat, gross=notice.gross),
            "before": Figures(gross=_dec(before) if before is not None else notice.new_estimate_gross - notice.gross),
            "after": Figures(gross=notice.new_estimate_gross)}


def change_notice_context(notice) -> dict:
    from billing.selectors import current_offer

    basis = notice.basis
    superseded = _sent_event(notice).get("superseded")
    return {**company_context(), "notice": notice, "basis": basis, "customer": basis.customer,
            "lines": (notice.snapshot or {}).get("lines", []), **change_notice_figures(notice),
            "offer": current_offer(basis),
            "superseded": basis.change_notices.filter(version=superseded).first() if superseded else None}


def change_notice_filename(notice) -> str:
    return f"endringsvarsel-{notice.basis.number}-v{notice.version}.pdf"


# --- reminders ----------------------------------------------------------------------------------


def reminder_figures(reminder) -> dict:
    """What the reminder asks for, as billing recorded it when it sent the reminder: the invoice's
    balance, the unpaid fees of earlier reminders, the total to pay and the reminder's date."""
    invoice = reminder.invoice
    data = _event_data("billing.invoice.reminder_sent", invoice.basis_id, invoice=invoice.pk, step=reminder.step)
    outstanding = reminder.outstanding
    total = _dec(data.get("total")) if data.get("total") is not None else outstanding + reminder.fee
    date = dt.date.fromisoformat(data["date"]) if data.get("date") else timezone.localdate(reminder.sent_at)
    return {"outstanding": outstanding, "earlier_fees": total - outstanding - reminder.fee, "total": total,
            "on": date}


def reminder_context(reminder) -> dict:
    from billing import norwegian

    invoice = reminder.invoice
    letterhead = company_context()
    company = letterhead["company"]
    return {**letterhead, "reminder": reminder, "invoice": invoice, "basis": invoice.basis,
            **reminder_figures(reminder),
            "earlier": list(invoice.reminders.filter(step__lt=reminder.step).order_by("step")),
            "bank_account": norwegian.format_kontonr(company.bank_account if company else "")}


def reminder_filename(reminder) -> str:
    return f"purring-{reminder.step}-faktura-{reminder.invoice.number}.pdf"


# --- receipts of answers ------------------------------------------------------------------------


def oslo_iso(value) -> str:
    """A moment in Norwegian time, ISO 8601 to the second with its offset: 2026-12-04T14:05:09+01:00."""
    from zoneinfo import ZoneInfo

    return timezone.localtime(value, ZoneInfo("Europe/Oslo")).isoformat(timespec="seconds") if value else ""


def _login_label(method: str, channel: str) -> str:
    """How the person who answered had logged in, in words (an answer recorded before the login method
    was, or by a case worker on paper or phone, says so)."""
    from billing.models.offers import LoginMethod

    if not method and channel and channel != "portal":
        method = LoginMethod.STAFF
    return str(dict(LoginMethod.choices).get(method, "")) if method else _("Ikke registrert")


def receipt_answer(receipt) -> dict:
    """What was answered, by whom, when and how — from the acceptance or the change notice the receipt
    belongs to, the way billing stored them. Fields the answer may lack are read defensively."""
    from billing.models import Acceptance

    if receipt.change_notice_id:
        notice = receipt.change_notice
        user, channel = notice.answered_by, notice.answer_channel or "portal"
        return {
            "is_change": True, "document_label": _("Endringsvarsel"), "version": notice.version,
            "decision": notice.status, "document_sha256": notice.answer_pdf_sha256 or notice.pdf_sha256,
            "amounts": Figures(net=notice.net, vat=notice.vat, gross=notice.gross),
            "new_estimate_gross": notice.new_estimate_gross, "at": notice.answered_at, "user": user,
            "channel": channel, "ip_address": notice.ip_address or "", "note": notice.answer_note,
            "login_method": getattr(notice, "answer_login_method", ""),
            "auth_acr": getattr(notice, "answer_auth_acr", ""),
            "auth_time": getattr(notice, "answer_auth_time", None),
            "auth_sub": getattr(notice, "answer_auth_sub", ""),
        }
    answer = receipt.acceptance
    offer = answer.offer
    return {
        "is_change": False, "document_label": _("Tilbud"), "version": answer.offer_version,
        "decision": answer.decision, "document_sha256": answer.pdf_sha256,
        "amounts": Figures(net=offer.net, vat=offer.vat, gross=offer.gross), "new_estimate_gross": None,
        "at": answer.at, "user": answer.user, "channel": answer.channel or Acceptance.Channel.PORTAL,
        "ip_address": answer.ip_address or "", "note": answer.note,
        "login_method": getattr(answer, "login_method", ""), "auth_acr": getattr(answer, "auth_acr", ""),
        "auth_time": getattr(answer, "auth_time", None), "auth_sub": getattr(answer, "auth_sub", ""),
    }


def receipt_context(receipt) -> dict:
    from billing.models import Acceptance

    basis = receipt.basis
    answer = receipt_answer(receipt)
    user = answer["user"]
    channel = answer["channel"]
    return {
        **company_context(), "receipt": receipt, "basis": basis, "customer": basis.customer,
        **answer,
        "title": _("Kvittering for svar på endringsvarsel") if answer["is_change"] else _("Kvittering for aksept"),
        "decision_label": _("Akseptert") if answer["decision"] == "accepted" else _("Avslått"),
        "by_name": (user.get_full_name() or user.username) if user else "",
        "by_portal": channel == Acceptance.Channel.PORTAL,
        "channel_label": str(dict(Acceptance.Channel.choices).get(channel, channel)),
        "login_label": _login_label(answer["login_method"], channel),
        "bankid": answer["login_method"] == "bankid",
        "at_iso": oslo_iso(answer["at"]), "auth_time_iso": oslo_iso(answer["auth_time"]),
        "issued_iso": oslo_iso(receipt.created_at),
        "language": getattr(basis.customer, "language", "") or settings.LANGUAGE_CODE,
    }


def receipt_filename(receipt) -> str:
    what = f"endring-v{receipt.change_notice.version}" if receipt.change_notice_id else \
        f"tilbud-v{receipt.acceptance.offer_version}"
    return f"kvittering-{receipt.basis.number}-{what}.pdf"


def receipt_seal(receipt, content: bytes) -> bytes:
    """The company's seal on a receipt issued as sealed; an unsealed receipt is stored as rendered."""
    if not receipt.sealed:
        return content
    from .seal import seal_pdf

    what = (f"endringsvarsel versjon {receipt.change_notice.version}" if receipt.change_notice_id
            else f"tilbud versjon {receipt.acceptance.offer_version}")
    company = company_context()["company"]
    return seal_pdf(content, reason=f"Kvittering for svar på {what}, {receipt.basis.number}",
                    location=company.name if company else "")


# --- the registry -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Document:
    """One kind of document.

    `owner` is the lookup from the document to the portal user of the customer it belongs to (None:
    case workers only); `published` narrows what that customer sees (issued invoices, not drafts).
    A kind without `filename` is a preview only and never stored; `draft` says which rows are rendered
    on the fly (marked as draft) and never stored either. `seal` finishes the rendered PDF before it is
    stored (the company's electronic seal on receipts)."""

    kind: str
    model: str
    template: str
    context: Callable[[object], dict]
    filename: Callable[[object], str] | None = None
    file_field: str | None = "pdf"
    related: tuple[str, ...] = ()
    owner: str | None = "basis__customer__user"
    published: dict = field(default_factory=dict)
    draft: Callable[[object], bool] | None = None
    seal: Callable[[object, bytes], bytes] | None = None

    def get_model(self):
        return apps.get_model(self.model)

    def queryset(self):
        return self.get_model().objects.select_related(*self.related)

    def storable(self, doc) -> bool:
        return self.filename is not None and not (self.draft and self.draft(doc))


DOCUMENTS: dict[str, Document] = {d.kind: d for d in (
    Document("offer", "billing.Offer", "documents/offer.html", offer_context, offer_filename,
             related=("basis", "basis__customer")),
    # Credit notes are invoices (kind "credit_note"): the same model, template and context; the file
    # name and the title say which.
    Document("invoice", "billing.Invoice", "documents/invoice.html", invoice_context, invoice_filename,
             related=("basis", "basis__customer", "credited_invoice"), published={"number__isnull": False},
             draft=lambda invoice: invoice.number is None),
    Document("change_notice", "billing.ChangeNotice", "documents/change_notice.html", change_notice_context,
             change_notice_filename, related=("basis", "basis__customer")),
    Document("reminder", "billing.Reminder", "documents/reminder.html", reminder_context, reminder_filename,
             related=("invoice", "invoice__basis", "invoice__basis__customer"),
             owner="invoice__basis__customer__user"),
    # The receipt of an answer (acceptance, or a change notice accepted or declined), sealed when the
    # company's seal is configured.
    Document("receipt", "offers.Receipt", "documents/receipt.html", receipt_context, receipt_filename,
             related=("basis", "basis__customer", "acceptance", "acceptance__offer", "acceptance__user",
                      "change_notice", "change_notice__answered_by"), seal=receipt_seal),
    # What the offer letter would say now, before the offer is sent: shown to the case worker only.
    Document("rough_estimate", "billing.InvoiceBasis", "documents/offer.html", rough_estimate_context,
             file_field=None, related=("customer",), owner=None),
)}


def document(kind: str) -> Document:
    """The declaration of `kind` (KeyError for an unknown kind)."""
    return DOCUMENTS[kind]


# --- HTML, stored PDF ---------------------------------------------------------------------------


def document_language(doc) -> str:
    """The language a document is written in: the one its snapshot recorded (an issued invoice keeps
    the language it was issued in), else its customer's preference — found through the document's
    basis or invoice, so every kind in `DOCUMENTS` gets it without declaring anything."""
    own = getattr(doc, "language", None)
    if isinstance(own, str) and own:
        return _complete(own)
    snapshot = getattr(doc, "buyer", None)
    if isinstance(snapshot, dict) and snapshot.get("language"):
        return _complete(snapshot["language"])
    for path in ("customer", "basis.customer", "invoice.basis.customer", "offer.basis.customer"):
        obj = doc
        for name in path.split("."):
            obj = getattr(obj, name, None)
            if obj is None:
                break
        if obj is not None and getattr(obj, "language", None):
            return _complete(obj.language)
    return settings.LANGUAGE_CODE


def _complete(code: str) -> str:
    return code if code in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE


def document_context(kind: str, doc) -> dict:
    """The context of any kind, built in the document's language (titles and labels computed in Python
    are translated too); the renderer renders the template in the same language."""
    language = document_language(doc)
    with translation.override(language):
        return {**DOCUMENTS[kind].context(doc), "language": language}


def document_html(kind: str, doc, *, preview: bool = False) -> str:
    return get_renderer().html(DOCUMENTS[kind].template, document_context(kind, doc), preview=preview)


def document_pdf(kind: str, doc) -> bytes:
    decl = DOCUMENTS[kind]
    content = get_renderer().pdf(decl.template, document_context(kind, doc))
    return decl.seal(doc, content) if decl.seal else content


def document_filename(kind: str, doc) -> str:
    return DOCUMENTS[kind].filename(doc)


def document_stored(kind: str, pk: int) -> bool:
    """Whether the document's PDF is stored (its SHA-256 is recorded once the file is written)."""
    return DOCUMENTS[kind].get_model().objects.filter(pk=pk).exclude(pdf_sha256="").exists()


def document_pdf_ensure(kind: str, pk: int) -> str:
    """Render and store the PDF once. A stored PDF is evidence: when `pdf_sha256` is set nothing
    happens. Returns "exists", "rendered", "missing" or "draft" (drafts are never stored)."""
    decl = DOCUMENTS[kind]
    model = decl.get_model()
    doc = model.objects.filter(pk=pk).only("pk", "pdf_sha256").first()
    if doc is None or doc.pdf_sha256:
        return "exists" if doc else "missing"
    with transaction.atomic():
        doc = decl.queryset().select_for_update(of=("self",)).get(pk=pk)  # its rows for the context, in one query
        if doc.pdf_sha256:
            return "exists"
        if not decl.storable(doc):
            return "draft"
        content = document_pdf(kind, doc)
        getattr(doc, decl.file_field).save(document_filename(kind, doc), ContentFile(content), save=False)
        doc.pdf_sha256 = hashlib.sha256(content).hexdigest()
        doc.save(update_fields=[decl.file_field, "pdf_sha256"])
    return "rendered"


def document_pdf_bytes(kind: str, pk: int) -> tuple[str, bytes]:
    """(filename, bytes) of the stored PDF, rendering it first if missing. Draft invoices are rendered
    on the fly (marked as draft) and never stored."""
    decl = DOCUMENTS[kind]
    doc = decl.queryset().get(pk=pk)
    if not doc.pdf_sha256 and document_pdf_ensure(kind, pk) in ("rendered", "exists"):
        doc = decl.queryset().get(pk=pk)  # stored now, by this call or by another process meanwhile
    if not doc.pdf_sha256:
        return document_filename(kind, doc), document_pdf(kind, doc)
    with getattr(doc, decl.file_field).open("rb") as fh:
        content = fh.read()
    if hashlib.sha256(content).hexdigest() != doc.pdf_sha256:
        log.error("%s %s: stored PDF does not match its SHA-256", kind, pk)
    return document_filename(kind, doc), content


def stored_documents():
    """(kind, pk, stored file name, recorded SHA-256) of every stored PDF of every declared kind, for
    checking the files against their rows (`manage.py verify_documents`, after a restore)."""
    seen = set()
    for decl in DOCUMENTS.values():
        if decl.file_field is None or decl.filename is None or decl.model in seen:
            continue
        seen.add(decl.model)  # one model, several kinds (none today): its rows once
        rows = (decl.get_model().objects.exclude(pdf_sha256="").order_by("pk")
                .values_list("pk", decl.file_field, "pdf_sha256"))
        for pk, name, sha in rows.iterator(chunk_size=2000):
            yield decl.kind, pk, name, sha
