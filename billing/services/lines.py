"""Cost lines of a basis: add (one or many, idempotent by source and line reference), edit, remove."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from billing import money
from billing.errors import BillingError, ConflictError, InvalidInput, LockedError, TransitionError
from billing.models import CostCategory, CostLine, VatCode
from billing.money import ZERO
from billing.services.audit import actor, audit
from billing.services.locking import SETTLED_MESSAGE, lock_basis, lock_line
from billing.services.offers import offer_outdate_if_changed
from billing.services.validation import get_category, get_vat_code, validate
from billing.status import AFTER_ACCEPTANCE, Status

LINE_CONTENT = ("category_id", "description", "quantity", "unit", "unit_price", "vat_code_id",
                "customer_caused", "phase", "source_reference")


def _same_content(line: CostLine, new: CostLine) -> bool:
    return line.basis_id == new.basis_id and all(
        getattr(line, f) == getattr(new, f) for f in LINE_CONTENT)


def line_add(*, basis, by, **fields) -> tuple[CostLine, bool]:
    """Add one cost line (keywords as in `lines_add`). The same (source, line_reference) again gives
    the same line back, or ConflictError when its content differs."""
    try:
        return lines_add(basis=basis, by=by, lines=[fields])[0]
    except BillingError as exc:
        exc.__dict__.pop("index", None)
        raise


LINE_KEYS = {"category", "description", "quantity", "unit_price", "unit", "vat_code", "customer_caused", "phase",
             "source", "source_reference", "line_reference"}


@transaction.atomic
def lines_add(*, basis, by, lines: list[dict]) -> list[tuple[CostLine, bool]]:
    """Add many cost lines at once, all or nothing, with a fixed number of queries per batch.

    Each dict: category (code or CostCategory), description, quantity, unit_price, and optionally unit,
    vat_code (defaults to the category's), customer_caused, phase (estimate/actual), source,
    source_reference, line_reference. Returns (line, created) per input line, in order. A failing line
    raises its BillingError with `.index` set to its position."""
    basis = lock_basis(basis)
    categories = {c.code: c for c in CostCategory.objects.select_related("default_vat")}
    vat_codes = {v.code: v for v in VatCode.objects.all()}
    user = actor(by)[0]
    refs = {(d.get("source") or CostLine.Source.MANUAL, d.get("line_reference") or "") for d in lines}
    refs = {r for r in refs if r[1]}
    existing = {}
    if refs:
        query = CostLine.objects.filter(line_reference__in={r[1] for r in refs},
                                        source__in={r[0] for r in refs})
        existing = {(ln.source, ln.line_reference): ln for ln in query}
    position = basis.lines.aggregate(m=Max("position"))["m"] or 0
    results: list[tuple[CostLine, bool]] = []
    new_lines: list[CostLine] = []
    for index, data in enumerate(lines):
        try:
            line = _line_build(basis, user, data, categories, vat_codes)
            key = (line.source, line.line_reference)
            if line.line_reference and key in existing:
                found = existing[key]
                if not _same_content(found, line):
                    raise ConflictError(_("Linjen %(ref)s fra %(src)s finnes allerede med annet innhold.")
                                        % {"ref": line.line_reference, "src": line.source},
                                        fields={"line_reference": ["conflict"]})
                results.append((found, False))
                continue
            if basis.status == Status.CANCELLED:
                raise TransitionError(_("Grunnlaget er kansellert; nye kostnadslinjer tas ikke imot."),
                                      code="cancelled")
            if basis.settled_at:
                raise TransitionError(SETTLED_MESSAGE, code="settled")
            if line.phase == CostLine.Phase.ACTUAL and basis.status not in AFTER_ACCEPTANCE:
                raise TransitionError(_("Faktiske kostnader registreres etter at tilbudet er akseptert."))
            line.is_change = line.phase == CostLine.Phase.ESTIMATE and basis.status in AFTER_ACCEPTANCE
            validate(line, exclude=["basis", "category", "vat_code", "created_by", "shared_cost", "invoice",
                                     "change_notice"])
        except BillingError as exc:
            exc.index = index
            raise
        position += 1
        line.position = position
        if line.line_reference:
            existing[key] = line
        new_lines.append(line)
        results.append((line, True))
    if new_lines:
        CostLine.objects.bulk_create(new_lines)
        total = sum((ln.amount for ln in new_lines), ZERO)
        if len(new_lines) == 1:
            ln = new_lines[0]
            data = {"line": ln.pk, "amount": str(ln.amount), "description": ln.description, "source": ln.source,
                    "change": ln.is_change, "phase": ln.phase}
        else:
            data = {"lines": [ln.pk for ln in new_lines], "count": len(new_lines), "amount": str(total),
                    "source": sorted({ln.source for ln in new_lines}),
                    "change": any(ln.is_change for ln in new_lines)}
        audit(action="billing.line.added", by=by, basis=basis, data=data)
        offer_outdate_if_changed(basis, by=by)
    return results


def _line_build(basis, user, data: dict, categories: dict, vat_codes: dict) -> CostLine:
    unknown = set(data) - LINE_KEYS
    if unknown:
        raise InvalidInput(f"unknown line fields: {', '.join(sorted(unknown))}")
    cat = data.get("category")
    if not isinstance(cat, CostCategory):
        if cat not in categories:
            raise InvalidInput(_("Ukjent kostnadskategori: %s") % cat, fields={"category": ["unknown"]})
        cat = categories[cat]
    code = data.get("vat_code")
    if code and code not in vat_codes:
        raise InvalidInput(_("Ukjent MVA-kode: %s") % code, fields={"vat_code": ["unknown"]})
    vat = vat_codes[code] if code else cat.default_vat
    try:
        quantity = Decimal(str(data.get("quantity")))
        unit_price = Decimal(str(data.get("unit_price")))
        if not (quantity.is_finite() and unit_price.is_finite()):
            raise ValueError
    except Exception:
        raise InvalidInput(_("Antall og enhetspris må være tall."),
                           fields={"quantity": ["invalid"], "unit_price": ["invalid"]}) from None
    source = data.get("source") or CostLine.Source.MANUAL
    if source not in CostLine.Source.values or source == CostLine.Source.SHARED_COST:
        raise InvalidInput(_("Ukjent kilde: %s") % source, fields={"source": ["invalid"]})
    phase = data.get("phase") or CostLine.Phase.ESTIMATE
    if phase not in CostLine.Phase.values:
        raise InvalidInput(_("Ukjent fase: %s") % phase, fields={"phase": ["invalid"]})
    line = CostLine(basis=basis, source=source, source_reference=data.get("source_reference") or "",
                    line_reference=data.get("line_reference") or "", category=cat,
                    description=data.get("description") or "", quantity=quantity, unit=data.get("unit") or "stk",
                    unit_price=unit_price, vat_code=vat, customer_caused=bool(data.get("customer_caused")),
                    phase=phase, created_by=user)
    try:
        line.amount = money.line_amount(quantity, unit_price)
    except (ValueError, ArithmeticError):
        raise InvalidInput(_("Beløpet er utenfor gyldig område."), fields={"amount": ["invalid"]}) from None
    return line


@transaction.atomic
def line_update(*, line, by, allow_external=False, **fields) -> CostLine:
    line, basis = lock_line(line)
    if line.is_external and not allow_external:
        raise LockedError(_("Linjer fra andre systemer (%s) endres i kildesystemet.") % line.get_source_display())
    before = {f: str(getattr(line, f)) for f in ("description", "quantity", "unit", "unit_price", "amount")}
    for key, value in fields.items():
        if key == "category":
            line.category = value if isinstance(value, CostCategory) else get_category(value)
        elif key == "vat_code":
            line.vat_code = value if isinstance(value, VatCode) else get_vat_code(value)
        elif key in ("description", "quantity", "unit", "unit_price", "customer_caused", "phase"):
            setattr(line, key, Decimal(str(value)) if key in ("quantity", "unit_price") else value)
        else:
            raise InvalidInput(f"unknown line field {key}")
    line.amount = money.line_amount(line.quantity, line.unit_price)
    validate(line, exclude=["basis", "category", "vat_code", "created_by", "shared_cost", "invoice"])
    line.save()
    audit(action="billing.line.changed", by=by, basis=basis,
          data={"line": line.pk, "before": before, "amount": str(line.amount)})
    offer_outdate_if_changed(basis, by=by)
    return line


@transaction.atomic
def line_remove(*, line, by) -> None:
    try:
        line, basis = lock_line(line)
    except CostLine.DoesNotExist:
        return  # already gone: idempotent
    if line.is_external:
        raise LockedError(_("Linjer fra andre systemer (%s) fjernes i kildesystemet.") % line.get_source_display())
    data = {"line": line.pk, "description": line.description, "amount": str(line.amount)}
    line.delete()
    audit(action="billing.line.removed", by=by, basis=basis, data=data)
    offer_outdate_if_changed(basis, by=by)

