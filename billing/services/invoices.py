"""Invoices and credit notes: issue from the accepted estimate, credit, issue a proposed draft
credit note. An issued document is a snapshot (seller, buyer, lines, totals)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from billing import money, norwegian
from billing.clock import today
from billing.errors import InvalidInput, refuse
from billing.models import (
    CompanyProfile,
    CostCategory,
    CostLine,
    Invoice,
    InvoiceLine,
    TenYearRefund,
    VatCode,
)
from billing.money import ZERO
from billing.selectors import (
    CONTRIBUTION_CATEGORY,
    buyer_refusals,
    invoice_credit_refusals,
    invoice_credited_amount,
    invoice_plan,
    regime_of,
    vat_registration_error,
)
from billing.services.audit import actor, audit
from billing.services.locking import lock_basis
from billing.services.numbering import CREDIT_SERIES, INVOICE_SERIES, next_number
from billing.services.payments import payment_state_refresh
from billing.services.wording import customer_language
from billing.services.work_release import work_release_refresh
from billing.status import Status, claim, transition


def seller_snapshot(profile: CompanyProfile) -> dict:
    return {"name": profile.name, "orgnr": profile.orgnr, "vat_id": profile.vat_id,
            "vat_registered": profile.vat_registered, "foretaksregisteret": profile.foretaksregisteret,
            "legal_line": profile.legal_line, "street": profile.street, "postal_code": profile.postal_code,
            "city": profile.city, "country": "NO", "email": profile.email, "phone": profile.phone,
            "bank_account": profile.bank_account,
            "bank_account_display": norwegian.format_kontonr(profile.bank_account)}


def buyer_snapshot(basis) -> dict:
    c = basis.customer
    return {"name": c.name, "kind": c.kind, "orgnr": c.orgnr, "email": c.email, "phone": c.phone,
            "street": c.street, "postal_code": c.postal_code, "city": c.city, "country": c.country or "NO",
            "erp_customer_number": c.erp_customer_number, "language": c.language,
            "site": {"street": basis.site_street, "postal_code": basis.site_postal_code, "city": basis.site_city},
            "metering_point_id": basis.metering_point_id, "basis_number": basis.number,
            "basis_title": basis.title}


def breakdown_json(totals: money.Totals) -> list[dict]:
    return [{"code": g.code, "rate": str(g.rate), "base": str(g.base), "vat": str(g.vat)} for g in totals.groups]


def invoice_create(*, basis, by, kind, regime, rows, issue_date, credited=None, note="", profile=None):
    """Issue one document from `rows` (dicts with the InvoiceLine fields). Numbers it, snapshots it."""
    profile = profile or CompanyProfile.load()
    if kind != Invoice.Kind.CREDIT_NOTE:  # a credit note must stay possible: it corrects what was issued
        if vat_error := vat_registration_error(profile, (r["vat_code"] for r in rows)):
            raise InvalidInput(vat_error, code="not_vat_registered")
    totals = money.totals((r["vat_code"], r["vat_rate"], r["amount"]) for r in rows)
    series = CREDIT_SERIES if kind == Invoice.Kind.CREDIT_NOTE else INVOICE_SERIES
    number = next_number(series)
    kid = ""
    if kind != Invoice.Kind.CREDIT_NOTE:
        kid = norwegian.kid_generate(str(number), profile.kid_scheme, max(profile.kid_length, len(str(number)) + 1))
    invoice = Invoice(
        basis=basis, kind=kind, series=series, number=number, status=Invoice.Status.ISSUED,
        issue_date=issue_date, due_date=issue_date + dt.timedelta(days=profile.due_days),
        delivery_date=issue_date, kid=kid, vat_regime=regime, seller=seller_snapshot(profile),
        buyer=buyer_snapshot(basis), net_total=totals.net, vat_total=totals.vat, gross_total=totals.gross,
        vat_breakdown=breakdown_json(totals),
        credited_invoice=credited, note=note, created_by=actor(by)[0])
    # Lines first need the invoice row: save with number, then lines (they are written once, here).
    invoice._was_issued = False
    invoice.save()
    InvoiceLine.objects.bulk_create([InvoiceLine(invoice=invoice, position=i, **r) for i, r in enumerate(rows, 1)])
    return invoice


def _deduction_row(amount: Decimal, customer) -> dict:
    o = VatCode.objects.get(code="O")
    cat = CostCategory.objects.get(code=CONTRIBUTION_CATEGORY)
    with customer_language(customer):
        description = _("Bunnfradrag (bestilling før 2019)")
    return {"cost_line": None, "category_code": cat.code, "category_label": cat.label,
            "description": description, "quantity": Decimal("1"), "unit": "stk",
            "unit_price": -amount, "amount": -amount, "vat_code": o.code, "vat_rate": o.rate,
            "customer_caused": False}


@transaction.atomic
def invoices_issue(*, basis, by, issue_date: dt.date | None = None) -> list[Invoice]:
    """Invoice every accepted, not yet invoiced estimate line: one invoice per VAT regime (O apart),
    change lines on change invoices. Offer lines are invoiced as the accepted offer's snapshot has them.
    Returns the new invoices; refused (BillingError) when nothing is left or after the final settlement."""
    basis = lock_basis(basis)
    issue_date = issue_date or today()
    profile = CompanyProfile.load()
    plan, offer, refusals = invoice_plan(basis, lock=True)
    refuse(refusals)
    groups: dict[tuple[str, str], list[tuple[CostLine, dict]]] = defaultdict(list)
    first_invoice = not basis.invoices.exclude(kind=Invoice.Kind.CREDIT_NOTE).filter(number__isnull=False).exists()
    for ln, row in plan:
        if ln.is_change:
            kind = Invoice.Kind.CHANGE
        elif basis.prepayment_required and first_invoice:
            kind = Invoice.Kind.PREPAYMENT
        else:
            kind = Invoice.Kind.ORDINARY
        groups[(kind, regime_of(row["vat_code"]))].append((ln, row))
    deduction = ZERO
    if first_invoice and offer is not None:
        deduction = Decimal((offer.snapshot or {}).get("base_deduction") or "0")
    invoices = []
    for (kind, regime), pairs in sorted(groups.items()):
        rows = [row for _ln, row in pairs]
        if regime == "O" and deduction and kind != Invoice.Kind.CHANGE:
            rows.append(_deduction_row(deduction, basis.customer))
            deduction = ZERO
        invoice = invoice_create(basis=basis, by=by, kind=kind, regime=regime, rows=rows,
                                  issue_date=issue_date, profile=profile)
        CostLine.objects.filter(pk__in=[ln.pk for ln, _r in pairs]).update(invoice=invoice)
        invoices.append(invoice)
    old, new = transition(basis, "invoice")
    basis.save(update_fields=["status", "updated_at"])
    for invoice in invoices:
        audit(action="billing.invoice.issued", by=by, basis=basis, from_status=old, to_status=new,
              data={"invoice": invoice.pk, "number": invoice.number, "kind": invoice.kind,
                    "gross": str(invoice.gross_total), "kid": invoice.kid,
                    "offer_version": offer.version if offer else None})
        old = new
    work_release_refresh(basis, by=by)
    return invoices


@transaction.atomic
def invoice_credit(*, invoice, by, reason: str, amount=None, line_ids: list[int] | None = None) -> Invoice:
    """Credit an issued invoice fully (no amount, no lines), by chosen lines, or by an amount (only for
    an invoice with one VAT category). The credit note refers to the original."""
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if invoice.number is None or invoice.kind == Invoice.Kind.CREDIT_NOTE:
        refuse(invoice_credit_refusals(invoice))
    if not (reason or "").strip():
        raise InvalidInput(_("Oppgi en grunn for krediteringen."), fields={"reason": ["required"]})
    basis = lock_basis(invoice.basis_id)
    refuse(invoice_credit_refusals(invoice))
    remaining = invoice.gross_total - invoice_credited_amount(invoice)
    originals = list(invoice.lines.all())
    full = amount is None and not line_ids
    if full:
        if invoice.credit_notes.filter(number__isnull=False).exists():
            raise InvalidInput(_("Fakturaen er delvis kreditert; krediter resten med beløp eller linjer."))
        rows = [_snapshot_row(ln) for ln in originals]
    elif line_ids:
        chosen = [ln for ln in originals if ln.pk in set(line_ids)]
        if len(chosen) != len(set(line_ids)):
            raise InvalidInput(_("Ukjent fakturalinje."), fields={"lines": ["unknown"]})
        rows = [_snapshot_row(ln) for ln in chosen]
    else:
        amount = money.round_ore(Decimal(str(amount)))
        groups = {(ln.vat_code, ln.vat_rate) for ln in originals}
        if len(groups) != 1:
            raise InvalidInput(_("Fakturaen har flere MVA-kategorier; velg linjer som skal krediteres."))
        code, rate = groups.pop()
        if amount <= 0:
            raise InvalidInput(_("Beløpet må være større enn null."), fields={"amount": ["min"]})
        with customer_language(basis.customer):
            description = _("Kreditering av faktura %(n)s: %(r)s") % {"n": invoice.number, "r": reason}
        rows = [{"cost_line": None, "category_code": originals[0].category_code,
                 "category_label": originals[0].category_label,
                 "description": description,
                 "quantity": Decimal("1"), "unit": "stk", "unit_price": amount, "amount": amount,
                 "vat_code": code, "vat_rate": rate, "customer_caused": False}]
    _check_credit_fits(invoice, rows, line_ids=line_ids)
    credit_totals = money.totals((r["vat_code"], r["vat_rate"], r["amount"]) for r in rows)
    if credit_totals.gross > remaining:
        raise InvalidInput(_("Kreditnotaen (%(c)s) blir større enn det som gjenstår å kreditere (%(r)s).")
                           % {"c": credit_totals.gross, "r": remaining}, fields={"amount": ["max"]})
    with customer_language(basis.customer):
        note = _("Krediterer faktura %(n)s datert %(d)s. Grunn: %(r)s") % {
            "n": invoice.number, "d": invoice.issue_date.strftime("%d.%m.%Y"), "r": reason}
    credit = invoice_create(basis=basis, by=by, kind=Invoice.Kind.CREDIT_NOTE, regime=invoice.vat_regime,
                             rows=rows, issue_date=today(), credited=invoice, note=note)
    if full:
        # The credited cost lines may be corrected and invoiced again.
        CostLine.objects.filter(invoice=invoice).update(invoice=None)
    audit(action="billing.invoice.credited", by=by, basis=basis, note=reason,
          data={"invoice": invoice.pk, "number": invoice.number, "credit_note": credit.pk,
                "credit_number": credit.number, "gross": str(credit.gross_total)})
    payment_state_refresh(invoice, by=by)
    if full and basis.status in (Status.INVOICED, Status.PAID) and \
            not basis.invoices.exclude(kind=Invoice.Kind.CREDIT_NOTE).exclude(status=Invoice.Status.CREDITED)\
            .filter(number__isnull=False).exists():
        pass  # every invoice credited: the basis stays "invoiced/paid" per its remaining balance
    return credit


def _check_credit_fits(invoice, rows, *, line_ids) -> None:
    """A credit never takes back more than was invoiced: a line is credited once, and per VAT
    category the net credited stays within the net invoiced (VAT rounding on the gross alone would
    let small lines be credited several times)."""
    earlier = InvoiceLine.objects.filter(invoice__credited_invoice=invoice, invoice__number__isnull=False)
    if line_ids:
        taken = set(earlier.exclude(cost_line=None).values_list("cost_line_id", flat=True))
        if any(r["cost_line"] is not None and r["cost_line"].pk in taken for r in rows):
            raise InvalidInput(_("En av linjene er allerede kreditert."), fields={"lines": ["already_credited"]})
    invoiced, credited = defaultdict(Decimal), defaultdict(Decimal)
    for ln in invoice.lines.all():
        invoiced[(ln.vat_code, ln.vat_rate)] += ln.amount
    for ln in earlier:
        credited[(ln.vat_code, ln.vat_rate)] += ln.amount
    for r in rows:
        credited[(r["vat_code"], r["vat_rate"])] += r["amount"]
    for key, net in credited.items():
        if net > invoiced.get(key, ZERO):
            raise InvalidInput(_("Kreditnotaen blir større enn det som er fakturert med MVA-kode %(c)s.")
                               % {"c": key[0]}, fields={"amount": ["max"]})


def _snapshot_row(ln: InvoiceLine) -> dict:
    return {"cost_line": ln.cost_line, "category_code": ln.category_code, "category_label": ln.category_label,
            "description": ln.description, "quantity": ln.quantity, "unit": ln.unit, "unit_price": ln.unit_price,
            "amount": ln.amount, "vat_code": ln.vat_code, "vat_rate": ln.vat_rate,
            "customer_caused": ln.customer_caused}


@transaction.atomic
def credit_note_issue_draft(*, credit_note, by) -> Invoice:
    """Issue a draft credit note (as proposed by the ten-year rule): number it and freeze it."""
    credit_note = Invoice.objects.select_for_update().get(pk=credit_note.pk)
    if credit_note.number is not None:
        return credit_note
    original = credit_note.credited_invoice
    basis = lock_basis(credit_note.basis_id)
    profile = CompanyProfile.load()
    totals = money.totals((ln.vat_code, ln.vat_rate, ln.amount) for ln in credit_note.lines.all())
    remaining = original.gross_total - invoice_credited_amount(original)
    if totals.gross > remaining:
        raise InvalidInput(_("Kreditnotaen blir større enn det som gjenstår å kreditere (%s).") % remaining)
    refuse(buyer_refusals(basis.customer))
    issue_date = today()
    credit_note.number = next_number(CREDIT_SERIES)
    transition(credit_note, "issue")
    credit_note.issue_date = credit_note.delivery_date = issue_date
    credit_note.due_date = issue_date + dt.timedelta(days=profile.due_days)
    credit_note.seller, credit_note.buyer = seller_snapshot(profile), buyer_snapshot(basis)
    credit_note.net_total, credit_note.vat_total, credit_note.gross_total = totals.net, totals.vat, totals.gross
    credit_note.vat_breakdown = breakdown_json(totals)
    credit_note.save()
    lookup, change = claim(TenYearRefund, "credit")
    TenYearRefund.objects.filter(credit_note=credit_note, **lookup).update(**change)
    audit(action="billing.invoice.credited", by=by, basis=basis, note=credit_note.note,
          data={"invoice": original.pk, "number": original.number, "credit_note": credit_note.pk,
                "credit_number": credit_note.number, "gross": str(credit_note.gross_total)})
    payment_state_refresh(original, by=by)
    return credit_note

