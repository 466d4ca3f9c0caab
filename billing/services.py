"""Billing workflows. Each one: keyword-only, atomic, locks what it changes, re-checks state,
is idempotent, writes an audit event, and queues side effects after commit.

`by` is the actor: a user, an API client (anything with `.name`), or None for the system.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import money, norwegian
from .errors import BillingError, ConflictError, InvalidInput, LockedError, TransitionError
from .models import (
    Acceptance,
    AuditEvent,
    ChangeNotice,
    CompanyProfile,
    CostCategory,
    CostLine,
    Customer,
    Invoice,
    InvoiceBasis,
    InvoiceLine,
    NumberSeries,
    Offer,
    Payment,
    SharedCost,
    SharedCostLine,
    SharedCostParticipant,
    TenYearRefund,
    VatCode,
)
from .signals import audit_recorded
from .status import AFTER_ACCEPTANCE, EDITABLE, Status, can, target, transition
from .templatetags.money import nok

INVOICE_SERIES = "F"
CREDIT_SERIES = "K"
CONTRIBUTION_CATEGORY = "connection_contribution"
ZERO = Decimal("0.00")
SETTLED_MESSAGE = gettext_lazy("Sluttoppgjøret er utført: grunnlaget kan ikke lenger endres eller faktureres. "
                    "Rettelser gjøres med kreditnota.")


# --- small shared pieces --------------------------------------------------------------------------


@dataclass(frozen=True)
class Refusal:
    """One reason an action is refused now. The `*_refusals` guards return these; the service raises
    them (`refuse`) and the case worker's page offers the action only when the list is empty."""

    message: str
    code: str = "invalid_transition"
    error: type[BillingError] = TransitionError

    def __str__(self):
        return self.message


def refuse(refusals: list[Refusal]) -> None:
    """Raise the first refusal's error with every reason in the message (nothing when the list is empty)."""
    if refusals:
        first = refusals[0]
        raise first.error(" ".join(r.message for r in refusals), code=first.code)


def status_refusals(basis, action: str) -> list[Refusal]:
    if can(basis.status, action):
        return []
    try:
        target(basis.status, action)
    except TransitionError as exc:
        return [Refusal(exc.message)]
    return []  # pragma: no cover - can() and target() read the same table


def today() -> dt.date:
    return timezone.localdate()


def _actor(by) -> tuple:
    from django.contrib.auth import get_user_model

    if by is None:
        return None, "system"
    if isinstance(by, get_user_model()):
        return by, by.get_full_name() or by.username
    return None, f"API: {getattr(by, 'name', by)}"


def audit(*, action, by=None, basis=None, shared_cost=None, from_status="", to_status="", note="", data=None):
    """Write one audit event and tell listeners (inside the transaction, so outbox rows commit with it)."""
    user, label = _actor(by)
    event = AuditEvent.objects.create(
        basis=basis, shared_cost=shared_cost, action=action, from_status=from_status or "",
        to_status=to_status or "", actor_user=user, actor_label=label, note=note or "", data=data or {},
    )
    audit_recorded.send(sender=AuditEvent, event=event)
    return event


def _lock_basis(basis) -> InvoiceBasis:
    return InvoiceBasis.objects.select_for_update().get(pk=basis.pk if hasattr(basis, "pk") else basis)


def _validate(instance, exclude=None):
    try:
        # Uniqueness and constraints are the database's job (and a query per row here).
        instance.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        fields = {k: [str(m) for m in v] for k, v in exc.message_dict.items()}
        first = next(iter(fields.values()))[0] if fields else str(exc)
        raise InvalidInput(first, fields=fields) from None


def next_number(series: str) -> int:
    """Take the next number of a gapless series. Must run inside the issuing transaction."""
    NumberSeries.objects.get_or_create(name=series)
    counter = NumberSeries.objects.select_for_update().get(name=series)
    value = counter.next_value
    counter.next_value = value + 1
    counter.save(update_fields=["next_value"])
    return value


def get_vat_code(code: str) -> VatCode:
    try:
        return VatCode.objects.get(code=code)
    except VatCode.DoesNotExist:
        raise InvalidInput(_("Ukjent MVA-kode: %s") % code, fields={"vat_code": ["unknown"]}) from None


def get_category(code: str) -> CostCategory:
    try:
        return CostCategory.objects.select_related("default_vat").get(code=code)
    except CostCategory.DoesNotExist:
        raise InvalidInput(_("Ukjent kostnadskategori: %s") % code, fields={"category": ["unknown"]}) from None


# --- customers and bases --------------------------------------------------------------------------

CUSTOMER_FIELDS = ("kind", "name", "orgnr", "email", "phone", "street", "postal_code", "city", "country",
                   "erp_customer_number", "bank_account", "language")


def customer_create(*, by=None, **fields) -> Customer:
    unknown = set(fields) - set(CUSTOMER_FIELDS)
    if unknown:
        raise InvalidInput(f"unknown customer fields: {', '.join(sorted(unknown))}")
    fields = {k: (v if v is not None else "") for k, v in fields.items()}
    if fields.get("orgnr"):
        fields["orgnr"] = "".join(ch for ch in fields["orgnr"] if ch.isdigit())
        fields.setdefault("kind", Customer.Kind.ORGANISATION)
    customer = Customer(**fields)
    _validate(customer, exclude=["user"])
    customer.save()
    return customer


def customer_update(*, customer: Customer, by=None, **fields) -> Customer:
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer.pk)
        for k, v in fields.items():
            if k not in CUSTOMER_FIELDS:
                raise InvalidInput(f"unknown customer field {k}")
            setattr(customer, k, v if v is not None else "")
        _validate(customer, exclude=["user"])
        customer.save()
    return customer


def _audit_value(value):
    if value is None or isinstance(value, bool | int | str):
        return value
    if hasattr(value, "name") and hasattr(value, "storage"):  # a file field
        return value.name or ""
    return str(value)


@transaction.atomic
def company_profile_save(*, profile: CompanyProfile, by) -> CompanyProfile:
    """Save the company's settings as edited (`profile` holds the new values, not yet saved) and write one
    audit event listing every changed field with its old and new value. Saving unchanged values writes
    nothing."""
    old = CompanyProfile.objects.select_for_update().filter(pk=profile.pk).first() if profile.pk else None
    changes = {}
    for field in CompanyProfile._meta.concrete_fields:
        if field.primary_key or getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            continue
        before = _audit_value(field.value_from_object(old)) if old is not None else None
        after = _audit_value(field.value_from_object(profile))
        if before != after:
            changes[field.name] = {"label": str(field.verbose_name), "old": before, "new": after}
    if old is not None and not changes:
        return old
    profile.save()
    audit(action="billing.company.updated", by=by,
          note=", ".join(c["label"] for c in changes.values()), data={"changes": changes})
    return profile


def _basis_number() -> str:
    year = today().year
    return f"FG-{year}-{next_number(f'FG-{year}'):06d}"


BASIS_FIELDS = ("title", "customer", "site_street", "site_postal_code", "site_city", "metering_point_id",
                "order_date", "prepayment_required")


@transaction.atomic
def basis_create(*, by, title: str, customer: Customer | None = None, reference: str | None = None,
                 source: str = "manual", **fields) -> tuple[InvoiceBasis, bool]:
    """Create an invoice basis. The same external `reference` again returns the first one."""
    if reference:
        existing = InvoiceBasis.objects.filter(reference=reference).first()
        if existing:
            return existing, False
    profile = CompanyProfile.load()
    unknown = set(fields) - set(BASIS_FIELDS)
    if unknown:
        raise InvalidInput(f"unknown fields: {', '.join(sorted(unknown))}")
    if fields.get("prepayment_required") is None:
        fields["prepayment_required"] = profile.prepayment_required_default
    fields["metering_point_id"] = "".join((fields.get("metering_point_id") or "").split())
    basis = InvoiceBasis(title=title, customer=customer, reference=reference or None, source=source,
                         created_by=_actor(by)[0], **fields)
    basis.number = "pending"
    _validate(basis, exclude=["number", "created_by"])
    basis.base_deduction_applied = bool(profile.base_deduction_enabled
                                        and money.base_deduction_allowed(basis.order_date))
    basis.number = _basis_number()
    try:
        with transaction.atomic():
            basis.save()
    except Exception:
        if reference and InvoiceBasis.objects.filter(reference=reference).exists():
            return InvoiceBasis.objects.get(reference=reference), False
        raise
    audit(action="billing.basis.created", by=by, basis=basis, to_status=basis.status,
          data={"reference": reference or "", "source": source})
    return basis, True


@transaction.atomic
def basis_update(*, basis, by, **fields) -> InvoiceBasis:
    basis = _lock_basis(basis)
    if basis.status in (Status.CANCELLED, Status.PAID):
        raise TransitionError(_("Grunnlaget kan ikke endres når status er «%s».") % basis.status_label)
    unknown = set(fields) - set(BASIS_FIELDS) - {"base_deduction_applied"}
    if unknown:
        raise InvalidInput(f"unknown fields: {', '.join(sorted(unknown))}")
    if "prepayment_required" in fields and basis.status in AFTER_ACCEPTANCE \
            and fields["prepayment_required"] != basis.prepayment_required:
        raise TransitionError(_("Forskuddskravet kan ikke endres etter aksept."))
    changed = {}
    for k, v in fields.items():
        if k == "metering_point_id":
            v = "".join((v or "").split())
        if getattr(basis, k) != v:
            changed[k] = str(v)
            setattr(basis, k, v)
    if "base_deduction_applied" in fields:
        _check_base_deduction(basis)
    elif "order_date" in changed and basis.status in EDITABLE:
        profile = CompanyProfile.load()
        basis.base_deduction_applied = bool(profile.base_deduction_enabled
                                            and money.base_deduction_allowed(basis.order_date))
    if not changed:
        return basis
    _validate(basis, exclude=["created_by"])
    basis.save()
    audit(action="billing.basis.updated", by=by, basis=basis, data={"changed": changed})
    _offer_outdate_if_changed(basis, by=by)
    _refresh_work_release(basis, by=by)
    return basis


def _check_base_deduction(basis):
    if not basis.base_deduction_applied:
        return
    profile = CompanyProfile.load()
    if not profile.base_deduction_enabled:
        raise InvalidInput(_("Bunnfradrag er ikke aktivert i selskapsprofilen."),
                           fields={"base_deduction_applied": ["disabled"]})
    if not money.base_deduction_allowed(basis.order_date):
        raise InvalidInput(
            _("Bunnfradrag er forbudt for bestillinger fra 1. januar 2019 (kontrollforskriften kap. 16). "
              "Bare grunnlag med bestillingsdato før 2019 kan få bunnfradrag."),
            fields={"base_deduction_applied": ["forbidden"]})


def base_deduction_amount(basis, lines=None) -> Decimal:
    """How much the legacy base deduction takes off this basis' contribution (0 when not applied)."""
    if not basis.base_deduction_applied:
        return ZERO
    profile = CompanyProfile.load()
    if not profile.base_deduction_enabled or not money.base_deduction_allowed(basis.order_date):
        return ZERO
    lines = lines if lines is not None else basis.lines.select_related("category")
    contribution = sum((ln.amount for ln in lines if ln.category.code == CONTRIBUTION_CATEGORY
                        and ln.phase == CostLine.Phase.ESTIMATE), ZERO)
    return contribution - money.apply_base_deduction(contribution, profile.base_deduction_amount)


def basis_totals(basis, lines=None, *, phase=CostLine.Phase.ESTIMATE) -> money.Totals:
    """Totals of a basis: its estimate lines, less any legacy base deduction, VAT per category."""
    if lines is None:
        lines = list(basis.lines.select_related("vat_code", "category"))
    rows = [(ln.vat_code.code, ln.vat_code.rate, ln.amount) for ln in lines if ln.phase == phase]
    if phase == CostLine.Phase.ESTIMATE:
        deduction = base_deduction_amount(basis, lines)
        if deduction:
            o = VatCode.objects.get(code="O")
            rows.append((o.code, o.rate, -deduction))
    return money.totals(rows)


# --- cost lines -----------------------------------------------------------------------------------

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
    basis = _lock_basis(basis)
    categories = {c.code: c for c in CostCategory.objects.select_related("default_vat")}
    vat_codes = {v.code: v for v in VatCode.objects.all()}
    user = _actor(by)[0]
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
            _validate(line, exclude=["basis", "category", "vat_code", "created_by", "shared_cost", "invoice",
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
        _offer_outdate_if_changed(basis, by=by)
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


def is_accepted_offer_line(line: CostLine, basis: InvoiceBasis) -> bool:
    """A line of the offer the customer has accepted. What was accepted is the agreement: a changed cost
    after acceptance is a new change line with a change notice (domain.md: changes after the offer give a
    change invoice), never a silent edit of the accepted line. Actual-cost lines (final settlement) and
    change lines are not offer lines."""
    return basis.status in AFTER_ACCEPTANCE and line.phase == CostLine.Phase.ESTIMATE and not line.is_change


def _lock_line(line) -> tuple[CostLine, InvoiceBasis]:
    line = CostLine.objects.select_for_update().select_related("basis").get(pk=line.pk)
    basis = _lock_basis(line.basis)
    if line.invoice_id:
        raise LockedError(_("Linjen står på en utstedt faktura og kan ikke endres."))
    # Read under the basis lock, which change_notice_answer also holds while it records the answer.
    if line.is_change and line.change_notice_id and ChangeNotice.objects.filter(
            pk=line.change_notice_id, status=ChangeNotice.Status.ACCEPTED).exists():
        raise LockedError(_("Kunden har akseptert denne endringen, og den kan ikke endres før den er fakturert. "
                            "Legg inn en ny endringslinje og send et nytt endringsvarsel."))
    if line.source == CostLine.Source.SHARED_COST:
        raise LockedError(_("Andelen fra felles anlegg endres på anlegget, ikke her."))
    if is_accepted_offer_line(line, basis):
        raise LockedError(_("Linjen er en del av tilbudet kunden har akseptert og kan ikke endres. Legg inn "
                            "endringen som en ny linje og send et endringsvarsel."))
    if basis.status in (Status.CANCELLED, Status.PAID):
        raise TransitionError(_("Grunnlaget kan ikke endres når status er «%s».") % basis.status_label)
    if basis.settled_at:
        raise TransitionError(SETTLED_MESSAGE, code="settled")
    return line, basis


@transaction.atomic
def line_update(*, line, by, allow_external=False, **fields) -> CostLine:
    line, basis = _lock_line(line)
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
    _validate(line, exclude=["basis", "category", "vat_code", "created_by", "shared_cost", "invoice"])
    line.save()
    audit(action="billing.line.changed", by=by, basis=basis,
          data={"line": line.pk, "before": before, "amount": str(line.amount)})
    _offer_outdate_if_changed(basis, by=by)
    return line


@transaction.atomic
def line_remove(*, line, by) -> None:
    try:
        line, basis = _lock_line(line)
    except CostLine.DoesNotExist:
        return  # already gone: idempotent
    if line.is_external:
        raise LockedError(_("Linjer fra andre systemer (%s) fjernes i kildesystemet.") % line.get_source_display())
    data = {"line": line.pk, "description": line.description, "amount": str(line.amount)}
    line.delete()
    audit(action="billing.line.removed", by=by, basis=basis, data=data)
    _offer_outdate_if_changed(basis, by=by)


# --- offer, acceptance, decline, expiry, cancel ---------------------------------------------------


def _offer_lines(basis) -> list[CostLine]:
    """The lines an offer is made of: the basis' estimate lines that are not change lines."""
    return list(basis.lines.filter(phase=CostLine.Phase.ESTIMATE, is_change=False)
                .select_related("category", "vat_code").order_by("position", "id"))


def _offer_snapshot(basis, lines) -> dict:
    return {"lines": [{"id": ln.pk, "category": ln.category.code, "description": ln.description,
                       "quantity": str(ln.quantity), "unit": ln.unit, "unit_price": str(ln.unit_price),
                       "amount": str(ln.amount), "vat_code": ln.vat_code.code,
                       "customer_caused": ln.customer_caused} for ln in lines],
            "base_deduction": str(base_deduction_amount(basis, lines))}


def vat_registration_error(profile: CompanyProfile, vat_codes) -> str | None:
    """A company that is not VAT-registered may not charge VAT: every line must be outside VAT (O).
    (An EHF with S, E or Z needs the seller's VAT number, BR-S-02/BR-E-02/BR-Z-02.)"""
    if profile.vat_registered:
        return None
    taxable = sorted({code for code in vat_codes if code != "O"})
    if not taxable:
        return None
    return _("Selskapet er ikke MVA-registrert og kan ikke fakturere MVA: linjer med MVA-kode %(codes)s må "
             "ha kode O, eller selskapet må registreres som MVA-registrert under Selskap.") % {
        "codes": ", ".join(taxable)}


def offer_outdated(offer: Offer | None, basis) -> bool:
    """The offer's content no longer matches the basis (marked when the lines changed while it was out,
    or found different now): it may not be accepted; a new version must be sent."""
    if offer is None:
        return False
    return bool(offer.outdated_at) or _offer_snapshot(basis, _offer_lines(basis)) != offer.snapshot


def _offer_outdate_if_changed(basis, *, by) -> None:
    """After an edit of a basis whose offer is out: mark the sent version outdated (once, audited) when
    its content (lines, base deduction) no longer matches."""
    if basis.status != Status.OFFER_SENT:
        return
    offer = current_offer(basis)
    if offer is None or offer.outdated_at or _offer_snapshot(basis, _offer_lines(basis)) == offer.snapshot:
        return
    offer.outdated_at = timezone.now()
    offer.save(update_fields=["outdated_at"])
    audit(action="billing.offer.outdated", by=by, basis=basis,
          data={"offer": offer.pk, "version": offer.version, "gross": str(offer.gross)})


def offer_send_refusals(basis, valid_until: dt.date | None = None) -> list[Refusal]:
    """Why the offer cannot be sent now (empty: it may be sent)."""
    status = status_refusals(basis, "send_offer")
    if status:
        return status
    return [Refusal(e, code="offer_not_ready", error=InvalidInput) for e in offer_guard_errors(basis, valid_until)]


def offer_guard_errors(basis, valid_until: dt.date | None = None) -> list[str]:
    """What in the basis' content stops an offer from being sent (empty when it may be sent)."""
    errors = []
    codes = set(basis.lines.filter(phase=CostLine.Phase.ESTIMATE).values_list("vat_code__code", flat=True))
    if not codes:
        errors.append(_("Tilbudet må ha minst én kostnadslinje."))
    profile = CompanyProfile.objects.filter(pk=1).first()
    if profile and (vat_error := vat_registration_error(profile, codes)):
        errors.append(vat_error)
    if not basis.customer_id:
        errors.append(_("Grunnlaget mangler kunde."))
    elif not basis.customer.email:
        errors.append(_("Kunden mangler e-postadresse."))
    if valid_until is not None and valid_until < today():
        errors.append(_("Gyldighetsdatoen er passert."))
    return errors


@transaction.atomic
def offer_send(*, basis, by, valid_until: dt.date | None = None) -> Offer:
    """Send (or re-send, making a new version) the offer. Same content twice: the same version."""
    basis = _lock_basis(basis)
    profile = CompanyProfile.load()
    valid_until = valid_until or (today() + dt.timedelta(days=profile.offer_validity_days))
    refuse(offer_send_refusals(basis, valid_until))
    lines = _offer_lines(basis)
    totals = basis_totals(basis, lines)
    snapshot = _offer_snapshot(basis, lines)
    current = basis.offers.filter(kind="offer").order_by("-version").first()
    if (basis.status == Status.OFFER_SENT and current and current.snapshot == snapshot
            and current.valid_until == valid_until and not current.outdated_at):
        return current  # nothing changed: idempotent
    old, new = transition(basis, "send_offer")
    basis.offer_version = (current.version if current else 0) + 1
    basis.offer_valid_until = valid_until
    basis.save(update_fields=["status", "offer_version", "offer_valid_until", "updated_at"])
    offer = Offer.objects.create(basis=basis, version=basis.offer_version, valid_until=valid_until,
                                 net=totals.net, vat=totals.vat, gross=totals.gross, snapshot=snapshot,
                                 sent_by=_actor(by)[0])
    audit(action="billing.basis.offer_sent", by=by, basis=basis, from_status=old, to_status=new,
          data={"offer": offer.pk, "version": offer.version, "valid_until": valid_until.isoformat(),
                "gross": str(totals.gross)})
    return offer


def current_offer(basis) -> Offer | None:
    return basis.offers.filter(kind="offer").order_by("-version").first()


def accepted_offer(basis) -> Offer | None:
    """The offer version the customer accepted: the agreement the estimate is invoiced from."""
    answer = (Acceptance.objects.filter(basis=basis, decision="accepted").select_related("offer")
              .order_by("-at", "-pk").first())
    return answer.offer if answer else None


def offer_accept_refusals(basis, offer: Offer | None = None) -> list[Refusal]:
    """Why `offer` (default: the newest) cannot be accepted now (empty: it may be)."""
    newest = current_offer(basis)
    offer = offer or newest
    if offer is None:
        return [Refusal(_("Det finnes ikke noe tilbud å akseptere."), code="no_offer")]
    answer = offer.acceptances.first()
    if answer is not None:
        if answer.decision == "accepted":
            return [Refusal(_("Tilbudet er allerede akseptert."), code="already_accepted")]
        return [Refusal(_("Tilbudet er allerede avslått."), code="already_declined")]
    if newest and offer.pk != newest.pk:
        return [Refusal(_("Dette tilbudet er erstattet av en nyere versjon (versjon %d). "
                          "Åpne det nyeste tilbudet.") % newest.version, code="superseded")]
    status = status_refusals(basis, "accept")
    if status:
        return status
    if offer.valid_until < today():
        return [Refusal(_("Tilbudet utløp %s og kan ikke lenger aksepteres.")
                        % offer.valid_until.strftime("%d.%m.%Y"), code="expired")]
    if offer_outdated(offer, basis):
        return [Refusal(_("Tilbudet (versjon %d) er endret etter at det ble sendt og kan ikke aksepteres. "
                          "Nettselskapet sender en ny versjon.") % offer.version, code="offer_outdated",
                        error=ConflictError)]
    return []


@transaction.atomic
def offer_accept(*, basis, by, offer: Offer | None = None, channel: str = Acceptance.Channel.PORTAL,
                 ip_address: str | None = None, user_agent: str = "", pdf_sha256: str = "",
                 note: str = "") -> Acceptance:
    """Accept the newest offer. Accepting the same offer twice gives the first acceptance back."""
    basis = _lock_basis(basis)
    newest = current_offer(basis)
    offer = offer or newest
    if offer is None:
        raise TransitionError(_("Det finnes ikke noe tilbud å akseptere."))
    existing = Acceptance.objects.filter(offer=offer).first()
    if existing and existing.decision == "accepted":
        return existing
    refuse(offer_accept_refusals(basis, offer))
    if channel != Acceptance.Channel.PORTAL and not note:
        raise InvalidInput(_("Skriv et notat om hvordan kunden aksepterte (papir eller telefon)."),
                           fields={"note": ["required"]})
    old, new = transition(basis, "accept")
    basis.accepted_at = timezone.now()
    basis.save(update_fields=["status", "accepted_at", "updated_at"])
    acceptance = Acceptance.objects.create(
        basis=basis, offer=offer, decision="accepted", channel=channel, user=_actor(by)[0],
        ip_address=ip_address, user_agent=(user_agent or "")[:500], offer_version=offer.version,
        pdf_sha256=pdf_sha256 or offer.pdf_sha256, note=note)
    audit(action="billing.basis.accepted", by=by, basis=basis, from_status=old, to_status=new, note=note,
          data={"offer_version": offer.version, "channel": channel, "pdf_sha256": acceptance.pdf_sha256})
    if basis.prepayment_required:
        invoices_issue(basis=basis, by=by)
    _refresh_work_release(basis, by=by)
    return acceptance


@transaction.atomic
def offer_decline(*, basis, by, reason: str = "", offer: Offer | None = None,
                  channel: str = Acceptance.Channel.PORTAL, ip_address=None, user_agent="") -> Acceptance:
    basis = _lock_basis(basis)
    offer = offer or current_offer(basis)
    if offer is None:
        raise TransitionError(_("Det finnes ikke noe tilbud å avslå."))
    existing = Acceptance.objects.filter(offer=offer).first()
    if existing:
        if existing.decision == "declined":
            return existing
        raise TransitionError(_("Tilbudet er allerede akseptert."))
    old, new = transition(basis, "decline")
    basis.save(update_fields=["status", "updated_at"])
    answer = Acceptance.objects.create(basis=basis, offer=offer, decision="declined", channel=channel,
                                       user=_actor(by)[0], ip_address=ip_address,
                                       user_agent=(user_agent or "")[:500], offer_version=offer.version,
                                       pdf_sha256=offer.pdf_sha256, note=reason)
    audit(action="billing.basis.declined", by=by, basis=basis, from_status=old, to_status=new, note=reason)
    return answer


@transaction.atomic
def offer_expire(*, basis, by=None, on: dt.date | None = None) -> bool:
    """Move an unanswered offer past its validity to Utløpt. Returns True if it moved."""
    basis = _lock_basis(basis)
    on = on or today()
    if basis.status != Status.OFFER_SENT or not basis.offer_valid_until or basis.offer_valid_until >= on:
        return False
    old, new = transition(basis, "expire")
    basis.save(update_fields=["status", "updated_at"])
    audit(action="billing.basis.expired", by=by, basis=basis, from_status=old, to_status=new,
          data={"valid_until": basis.offer_valid_until.isoformat()})
    return True


@transaction.atomic
def basis_cancel(*, basis, by, reason: str) -> InvoiceBasis:
    basis = _lock_basis(basis)
    if basis.status == Status.CANCELLED:
        return basis
    if not (reason or "").strip():
        raise InvalidInput(_("Oppgi en grunn for kanselleringen."), fields={"reason": ["required"]})
    old, new = transition(basis, "cancel")
    basis.save(update_fields=["status", "updated_at"])
    audit(action="billing.basis.cancelled", by=by, basis=basis, from_status=old, to_status=new, note=reason)
    _refresh_work_release(basis, by=by)
    return basis


# --- work release ---------------------------------------------------------------------------------


def work_release_due(basis) -> bool:
    """Released once accepted; with prepayment required, once the prepayment invoices are paid."""
    if basis.status in (Status.CANCELLED,) or basis.accepted_at is None:
        return False
    if basis.status not in AFTER_ACCEPTANCE:
        return False
    if not basis.prepayment_required:
        return True
    prepayments = [inv for inv in basis.invoices.filter(kind=Invoice.Kind.PREPAYMENT, number__isnull=False)]
    return bool(prepayments) and all(invoice_outstanding(inv) <= 0 for inv in prepayments)


def _refresh_work_release(basis, *, by=None) -> None:
    due = work_release_due(basis)
    if due == bool(basis.work_released_at):
        return
    basis.work_released_at = timezone.now() if due else None
    basis.save(update_fields=["work_released_at", "updated_at"])
    audit(action="billing.basis.work_released" if due else "billing.basis.work_blocked", by=by, basis=basis,
          data={"work_release": basis.work_release})


# --- invoices -------------------------------------------------------------------------------------


def _seller_snapshot(profile: CompanyProfile) -> dict:
    return {"name": profile.name, "orgnr": profile.orgnr, "vat_id": profile.vat_id,
            "vat_registered": profile.vat_registered, "foretaksregisteret": profile.foretaksregisteret,
            "legal_line": profile.legal_line, "street": profile.street, "postal_code": profile.postal_code,
            "city": profile.city, "country": "NO", "email": profile.email, "phone": profile.phone,
            "bank_account": profile.bank_account,
            "bank_account_display": norwegian.format_kontonr(profile.bank_account)}


def _buyer_snapshot(basis) -> dict:
    c = basis.customer
    return {"name": c.name, "kind": c.kind, "orgnr": c.orgnr, "email": c.email, "phone": c.phone,
            "street": c.street, "postal_code": c.postal_code, "city": c.city, "country": c.country or "NO",
            "erp_customer_number": c.erp_customer_number, "language": c.language,
            "site": {"street": basis.site_street, "postal_code": basis.site_postal_code, "city": basis.site_city},
            "metering_point_id": basis.metering_point_id, "basis_number": basis.number,
            "basis_title": basis.title}


def regime_of(code: str) -> str:
    """Peppol BR-O-11: an `O` document holds nothing else, so `O` lines get invoices of their own."""
    return "O" if code == "O" else "taxable"


def _create_invoice(*, basis, by, kind, regime, rows, issue_date, credited=None, note="", profile=None):
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
        delivery_date=issue_date, kid=kid, vat_regime=regime, seller=_seller_snapshot(profile),
        buyer=_buyer_snapshot(basis), net_total=totals.net, vat_total=totals.vat, gross_total=totals.gross,
        vat_breakdown=_breakdown_json(totals),
        credited_invoice=credited, note=note, created_by=_actor(by)[0])
    # Lines first need the invoice row: save with number, then lines (they are written once, here).
    invoice._was_issued = False
    invoice.save()
    InvoiceLine.objects.bulk_create([InvoiceLine(invoice=invoice, position=i, **r) for i, r in enumerate(rows, 1)])
    return invoice


def _row(line: CostLine, sign=1) -> dict:
    return {"cost_line": line, "category_code": line.category.code, "category_label": line.category.label,
            "description": line.description, "quantity": line.quantity, "unit": line.unit,
            "unit_price": line.unit_price * sign, "amount": line.amount * sign, "vat_code": line.vat_code.code,
            "vat_rate": line.vat_code.rate, "customer_caused": line.customer_caused}


def _deduction_row(amount: Decimal) -> dict:
    o = VatCode.objects.get(code="O")
    cat = CostCategory.objects.get(code=CONTRIBUTION_CATEGORY)
    return {"cost_line": None, "category_code": cat.code, "category_label": cat.label,
            "description": _("Bunnfradrag (bestilling før 2019)"), "quantity": Decimal("1"), "unit": "stk",
            "unit_price": -amount, "amount": -amount, "vat_code": o.code, "vat_rate": o.rate,
            "customer_caused": False}


def _offer_row(line: CostLine, entry: dict, categories: dict, vat_codes: dict) -> dict:
    """An invoice row for an offer line, from the accepted offer's snapshot (the agreement), not from
    the live line: what is invoiced as the estimate is what the customer accepted, to the øre."""
    category = categories.get(entry["category"]) or line.category
    vat = vat_codes.get(entry["vat_code"]) or line.vat_code
    return {"cost_line": line, "category_code": entry["category"], "category_label": category.label,
            "description": entry["description"], "quantity": Decimal(entry["quantity"]), "unit": entry["unit"],
            "unit_price": Decimal(entry["unit_price"]), "amount": Decimal(entry["amount"]),
            "vat_code": entry["vat_code"], "vat_rate": vat.rate, "customer_caused": entry["customer_caused"]}


def _invoice_plan(basis, *, lock: bool = False) -> tuple[list[tuple[CostLine, dict]], Offer | None, list[Refusal]]:
    """What `invoices_issue` would invoice now: (line, row) pairs, the accepted offer, and the reasons it
    is refused (empty when it may run). Offer lines are priced from the accepted offer's snapshot,
    accepted change lines from the line itself (their notice's snapshot is checked when answered)."""
    refusals = status_refusals(basis, "invoice") if basis.status not in AFTER_ACCEPTANCE else []
    if refusals:
        return [], None, refusals
    if basis.settled_at:
        return [], None, [Refusal(_("Sluttoppgjøret er utført %s: det kan ikke utstedes flere fakturaer på "
                                    "grunnlaget, bare kreditnotaer.") % timezone.localtime(basis.settled_at)
                                  .strftime("%d.%m.%Y"), code="settled")]
    query = (CostLine.objects.filter(basis=basis, invoice__isnull=True, phase=CostLine.Phase.ESTIMATE)
             .select_related("category", "vat_code", "change_notice").order_by("position", "id"))
    if lock:
        query = query.select_for_update(of=("self",))
    pending = [ln for ln in query if change_line_accepted(ln)]
    if not pending:
        return [], None, [Refusal(_("Det er ingen nye kostnadslinjer å fakturere."), code="nothing_to_invoice")]
    offer = accepted_offer(basis)
    agreed = {entry["id"]: entry for entry in ((offer.snapshot or {}).get("lines", []) if offer else [])}
    categories = {c.code: c for c in CostCategory.objects.all()}
    vat_codes = {v.code: v for v in VatCode.objects.all()}
    plan, strays = [], []
    for ln in pending:
        if ln.is_change:
            plan.append((ln, _row(ln)))
        elif ln.pk in agreed:
            plan.append((ln, _offer_row(ln, agreed[ln.pk], categories, vat_codes)))
        else:
            strays.append(ln.description)
    if strays:
        refusals.append(Refusal(_("Linjene %s er ikke med i tilbudet kunden aksepterte og kan ikke faktureres. "
                                  "Send dem som endring med endringsvarsel.") % ", ".join(f"«{d}»" for d in strays),
                                code="not_in_offer", error=ConflictError))
    refusals.extend(buyer_refusals(basis.customer))
    profile = CompanyProfile.objects.filter(pk=1).first()
    if profile and (vat_error := vat_registration_error(profile, {row["vat_code"] for _ln, row in plan})):
        refusals.append(Refusal(vat_error, code="not_vat_registered", error=InvalidInput))
    return plan, offer, refusals


def buyer_refusals(customer) -> list[Refusal]:
    """A sales document names its buyer with a postal address or an organisation number
    (bokføringsforskriften § 5-1-1): the refusal when the customer has neither."""
    if customer is None:
        return [Refusal(_("Grunnlaget har ingen kunde – velg eller opprett kunden under «Endre kunde og anlegg»."),
                        code="buyer_missing", error=InvalidInput)]
    has_address = all((getattr(customer, f) or "").strip() for f in ("street", "postal_code", "city"))
    if has_address or customer.orgnr:
        return []
    return [Refusal(_("Kunden mangler postadresse (gate, postnummer og sted) eller organisasjonsnummer – "
                      "fyll inn under «Endre kunde og anlegg»."), code="buyer_address_missing", error=InvalidInput)]


def invoices_issue_refusals(basis) -> list[Refusal]:
    """Why «Utsted faktura» is refused now (empty: it may be issued)."""
    return _invoice_plan(basis)[2]


@transaction.atomic
def invoices_issue(*, basis, by, issue_date: dt.date | None = None) -> list[Invoice]:
    """Invoice every accepted, not yet invoiced estimate line: one invoice per VAT regime (O apart),
    change lines on change invoices. Offer lines are invoiced as the accepted offer's snapshot has them.
    Returns the new invoices; refused (BillingError) when nothing is left or after the final settlement."""
    basis = _lock_basis(basis)
    issue_date = issue_date or today()
    profile = CompanyProfile.load()
    plan, offer, refusals = _invoice_plan(basis, lock=True)
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
            rows.append(_deduction_row(deduction))
            deduction = ZERO
        invoice = _create_invoice(basis=basis, by=by, kind=kind, regime=regime, rows=rows,
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
    _refresh_work_release(basis, by=by)
    return invoices


def change_line_accepted(line: CostLine) -> bool:
    """A change line (added after acceptance) is invoiceable, and part of the accepted estimate, only once
    the customer has accepted the change notice that carried it (billing.lifecycle.change_notice_send)."""
    if not line.is_change:
        return True
    notice = line.change_notice if line.change_notice_id else None
    return notice is not None and notice.status == notice.Status.ACCEPTED


# --- payments -------------------------------------------------------------------------------------


def invoice_paid_amount(invoice) -> Decimal:
    rows = invoice.payments.filter(status__in=[Payment.Status.CONFIRMED, Payment.Status.REFUNDED])
    paid = sum((p.amount for p in rows if p.direction == Payment.Direction.PAYMENT), ZERO)
    refunded = sum((p.amount for p in rows if p.direction == Payment.Direction.REFUND
                    and p.status == Payment.Status.CONFIRMED), ZERO)
    return paid - refunded


def invoice_credited_amount(invoice) -> Decimal:
    return sum((cn.gross_total for cn in invoice.credit_notes.filter(number__isnull=False)), ZERO)


def invoice_outstanding(invoice) -> Decimal:
    """What the customer still owes on an invoice (negative: they paid too much → refund)."""
    if invoice.kind == Invoice.Kind.CREDIT_NOTE or invoice.number is None:
        return ZERO
    return invoice.gross_total - invoice_credited_amount(invoice) - invoice_paid_amount(invoice)


def _refresh_payment_state(invoice, *, by=None) -> None:
    """Derive invoice and basis 'paid' from confirmed payments, credits and refunds."""
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    outstanding = invoice_outstanding(invoice)
    credited = invoice_credited_amount(invoice)
    if credited >= invoice.gross_total and invoice.gross_total > 0:
        new_status = Invoice.Status.CREDITED
    elif outstanding <= 0:
        new_status = Invoice.Status.PAID
    else:
        new_status = Invoice.Status.SENT if invoice.sent_at else Invoice.Status.ISSUED
    if invoice.status != new_status:
        invoice.status = new_status
        invoice.save(update_fields=["status"])
    basis = _lock_basis(invoice.basis_id)
    from .lifecycle import amount_owed  # lifecycle builds on this module

    docs = list(basis.invoices.filter(number__isnull=False).exclude(kind=Invoice.Kind.CREDIT_NOTE))
    # «Faktura betalt» only when nothing is owed: unpaid reminder fees are owed too.
    all_settled = bool(docs) and all(amount_owed(d) <= 0 for d in docs)
    if all_settled and basis.status == Status.INVOICED:
        old, new = transition(basis, "paid")
        basis.save(update_fields=["status", "updated_at"])
        audit(action="billing.basis.paid", by=by, basis=basis, from_status=old, to_status=new)
    elif not all_settled and basis.status == Status.PAID:
        old, new = transition(basis, "unpaid")
        basis.save(update_fields=["status", "updated_at"])
        audit(action="billing.basis.unpaid", by=by, basis=basis, from_status=old, to_status=new)
    _refresh_work_release(basis, by=by)


@transaction.atomic
def payment_register(*, invoice, by, amount, method: str, provider: str = "manual",
                     provider_reference: str = "", status: str = Payment.Status.CONFIRMED,
                     note: str = "") -> tuple[Payment, bool]:
    """Record a payment (or an attempt, status=pending). Idempotent by (provider, provider_reference)."""
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if provider_reference:
        existing = Payment.objects.filter(provider=provider, provider_reference=provider_reference,
                                          direction=Payment.Direction.PAYMENT).first()
        if existing:
            return existing, False
    if invoice.number is None or invoice.kind == Invoice.Kind.CREDIT_NOTE:
        raise InvalidInput(_("Betaling kan bare registreres på en utstedt faktura."))
    amount = money.round_ore(Decimal(str(amount)))
    if amount <= 0:
        raise InvalidInput(_("Beløpet må være større enn null."), fields={"amount": ["min"]})
    payment = Payment.objects.create(invoice=invoice, method=method, amount=amount, status=status,
                                     provider=provider, provider_reference=provider_reference, note=note,
                                     created_by=_actor(by)[0],
                                     confirmed_at=timezone.now() if status == Payment.Status.CONFIRMED else None)
    if status == Payment.Status.CONFIRMED:
        audit(action="billing.payment.confirmed", by=by, basis=invoice.basis,
              data={"invoice": invoice.pk, "number": invoice.number, "amount": str(amount), "method": method,
                    "payment": payment.pk})
        _refresh_payment_state(invoice, by=by)
    return payment, True


@transaction.atomic
def payment_confirm(*, payment, by, amount=None) -> Payment:
    """A pending attempt (card checkout) is confirmed. Confirming twice changes nothing."""
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    if payment.status == Payment.Status.CONFIRMED or payment.status == Payment.Status.REFUNDED:
        return payment
    if amount is not None:
        payment.amount = money.round_ore(Decimal(str(amount)))
    payment.status = Payment.Status.CONFIRMED
    payment.confirmed_at = timezone.now()
    payment.save(update_fields=["status", "confirmed_at", "amount"])
    audit(action="billing.payment.confirmed", by=by, basis=payment.invoice.basis,
          data={"invoice": payment.invoice_id, "number": payment.invoice.number, "amount": str(payment.amount),
                "method": payment.method, "payment": payment.pk})
    _refresh_payment_state(payment.invoice, by=by)
    return payment


@transaction.atomic
def payment_fail(*, payment, by, error: str = "") -> Payment:
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    if payment.status != Payment.Status.PENDING:
        return payment
    payment.status = Payment.Status.FAILED
    payment.error = error
    payment.save(update_fields=["status", "error"])
    audit(action="billing.payment.failed", by=by, basis=payment.invoice.basis,
          data={"invoice": payment.invoice_id, "payment": payment.pk, "error": error[:200]})
    return payment


# --- credit notes ---------------------------------------------------------------------------------


def invoice_credit_refusals(invoice, credited: Decimal | None = None, basis=None) -> list[Refusal]:
    """Why `invoice` cannot be credited now (empty: it may be). `credited` and the invoice's `basis` may
    be passed when the caller has them already (the basis page annotates and loads them)."""
    if invoice.number is None or invoice.kind == Invoice.Kind.CREDIT_NOTE:
        return [Refusal(_("Bare utstedte fakturaer kan krediteres."), code="not_issued", error=InvalidInput)]
    credited = invoice_credited_amount(invoice) if credited is None else credited
    if invoice.gross_total - credited <= 0:
        return [Refusal(_("Fakturaen er allerede kreditert i sin helhet."), code="already_credited")]
    return buyer_refusals((basis or invoice.basis).customer)


@transaction.atomic
def invoice_credit(*, invoice, by, reason: str, amount=None, line_ids: list[int] | None = None) -> Invoice:
    """Credit an issued invoice fully (no amount, no lines), by chosen lines, or by an amount (only for
    an invoice with one VAT category). The credit note refers to the original."""
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if invoice.number is None or invoice.kind == Invoice.Kind.CREDIT_NOTE:
        refuse(invoice_credit_refusals(invoice))
    if not (reason or "").strip():
        raise InvalidInput(_("Oppgi en grunn for krediteringen."), fields={"reason": ["required"]})
    basis = _lock_basis(invoice.basis_id)
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
        rows = [{"cost_line": None, "category_code": originals[0].category_code,
                 "category_label": originals[0].category_label,
                 "description": _("Kreditering av faktura %(n)s: %(r)s") % {"n": invoice.number, "r": reason},
                 "quantity": Decimal("1"), "unit": "stk", "unit_price": amount, "amount": amount,
                 "vat_code": code, "vat_rate": rate, "customer_caused": False}]
    _check_credit_fits(invoice, rows, line_ids=line_ids)
    credit_totals = money.totals((r["vat_code"], r["vat_rate"], r["amount"]) for r in rows)
    if credit_totals.gross > remaining:
        raise InvalidInput(_("Kreditnotaen (%(c)s) blir større enn det som gjenstår å kreditere (%(r)s).")
                           % {"c": credit_totals.gross, "r": remaining}, fields={"amount": ["max"]})
    note = _("Krediterer faktura %(n)s datert %(d)s. Grunn: %(r)s") % {
        "n": invoice.number, "d": invoice.issue_date.strftime("%d.%m.%Y"), "r": reason}
    credit = _create_invoice(basis=basis, by=by, kind=Invoice.Kind.CREDIT_NOTE, regime=invoice.vat_regime,
                             rows=rows, issue_date=today(), credited=invoice, note=note)
    if full:
        # The credited cost lines may be corrected and invoiced again.
        CostLine.objects.filter(invoice=invoice).update(invoice=None)
    audit(action="billing.invoice.credited", by=by, basis=basis, note=reason,
          data={"invoice": invoice.pk, "number": invoice.number, "credit_note": credit.pk,
                "credit_number": credit.number, "gross": str(credit.gross_total)})
    _refresh_payment_state(invoice, by=by)
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
    basis = _lock_basis(credit_note.basis_id)
    profile = CompanyProfile.load()
    totals = money.totals((ln.vat_code, ln.vat_rate, ln.amount) for ln in credit_note.lines.all())
    remaining = original.gross_total - invoice_credited_amount(original)
    if totals.gross > remaining:
        raise InvalidInput(_("Kreditnotaen blir større enn det som gjenstår å kreditere (%s).") % remaining)
    refuse(buyer_refusals(basis.customer))
    issue_date = today()
    credit_note.number = next_number(CREDIT_SERIES)
    credit_note.status = Invoice.Status.ISSUED
    credit_note.issue_date = credit_note.delivery_date = issue_date
    credit_note.due_date = issue_date + dt.timedelta(days=profile.due_days)
    credit_note.seller, credit_note.buyer = _seller_snapshot(profile), _buyer_snapshot(basis)
    credit_note.net_total, credit_note.vat_total, credit_note.gross_total = totals.net, totals.vat, totals.gross
    credit_note.vat_breakdown = _breakdown_json(totals)
    credit_note.save()
    TenYearRefund.objects.filter(credit_note=credit_note).update(status=TenYearRefund.Status.CREDITED)
    audit(action="billing.invoice.credited", by=by, basis=basis, note=credit_note.note,
          data={"invoice": original.pk, "number": original.number, "credit_note": credit_note.pk,
                "credit_number": credit_note.number, "gross": str(credit_note.gross_total)})
    _refresh_payment_state(original, by=by)
    return credit_note


def _breakdown_json(totals: money.Totals) -> list[dict]:
    return [{"code": g.code, "rate": str(g.rate), "base": str(g.base), "vat": str(g.vat)} for g in totals.groups]


# --- shared costs and the ten-year rule -----------------------------------------------------------


@transaction.atomic
def shared_cost_create(*, by, description: str, capacity, capacity_unit: str = "kVA", allocation: str | None = None,
                       expected_count: int | None = None, energised_on: dt.date | None = None,
                       reference: str | None = None, lines: list[dict] | None = None) -> tuple[SharedCost, bool]:
    if reference:
        existing = SharedCost.objects.filter(reference=reference).first()
        if existing:
            return existing, False
    allocation = allocation or CompanyProfile.load().default_allocation
    shared = SharedCost(description=description, capacity=Decimal(str(capacity)), capacity_unit=capacity_unit,
                        allocation=allocation, expected_count=expected_count, energised_on=energised_on,
                        reference=reference or None, created_by=_actor(by)[0])
    _validate(shared, exclude=["created_by"])
    if allocation == "equal_per_expected" and not expected_count:
        raise InvalidInput(_("Likt per forventet tilknytning krever forventet antall."),
                           fields={"expected_count": ["required"]})
    shared.save()
    for data in lines or []:
        _shared_line_create(shared, data)
    audit(action="billing.shared_cost.created", by=by, shared_cost=shared,
          data={"cost": str(shared_cost_total(shared)), "allocation": allocation})
    return shared, True


def _shared_line_create(shared, data: dict) -> SharedCostLine:
    cat = get_category(data.get("category") or CONTRIBUTION_CATEGORY)
    vc = get_vat_code(data["vat_code"]) if data.get("vat_code") else cat.default_vat
    qty, price = Decimal(str(data.get("quantity", 1))), Decimal(str(data["unit_price"]))
    return SharedCostLine.objects.create(shared_cost=shared, category=cat, description=data["description"],
                                         quantity=qty, unit=data.get("unit") or "stk", unit_price=price,
                                         amount=money.line_amount(qty, price), vat_code=vc,
                                         line_reference=data.get("line_reference") or "")


@transaction.atomic
def shared_cost_add_line(*, shared_cost, by, **data) -> SharedCostLine:
    shared = SharedCost.objects.select_for_update().get(pk=shared_cost.pk)
    line = _shared_line_create(shared, data)
    audit(action="billing.shared_cost.line_added", by=by, shared_cost=shared,
          data={"amount": str(line.amount), "description": line.description})
    _sync_shares(shared, by=by)
    return line


def shared_cost_total(shared) -> Decimal:
    return sum((ln.amount for ln in shared.lines.all()), ZERO)


def shared_cost_allocation(shared, participants=None) -> dict:
    """The allocation table: per VAT code, each counted participant's share and the company's part.
    Participants connected more than ten years after energising pay nothing (and are not counted)."""
    participants = list(participants if participants is not None else shared.participants.all())
    counted = [p for p in participants
               if p.connected_on is None or money.within_ten_years(shared.energised_on, p.connected_on)]
    by_code: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for ln in shared.lines.select_related("vat_code"):
        by_code[ln.vat_code.code] += ln.amount
    result = {"groups": {}, "shares": defaultdict(lambda: ZERO), "carried": ZERO, "total": sum(by_code.values(), ZERO)}
    for code, cost in sorted(by_code.items()):
        alloc = money.allocate(shared.allocation, cost, shared.capacity, shared.expected_count,
                               [(p.pk, p.capacity) for p in counted])
        result["groups"][code] = alloc
        for pid, share in alloc.shares.items():
            result["shares"][pid] += share
        result["carried"] += alloc.carried_by_company
    return result


def _sync_shares(shared, *, by) -> list[TenYearRefund]:
    """Keep every participant's share line in step; propose ten-year refunds to earlier payers."""
    participants = list(shared.participants.select_related("basis").order_by("id"))
    try:
        alloc = shared_cost_allocation(shared, participants)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    refunds = []
    for p in participants:
        for code, group in alloc["groups"].items():
            share = group.shares.get(p.pk, ZERO)
            ref = f"SC{shared.pk}-P{p.pk}-{code}"
            line = CostLine.objects.filter(source=CostLine.Source.SHARED_COST, line_reference=ref).first()
            if line and line.invoice_id:
                # What its invoice charged for it (an offer line is invoiced from the accepted snapshot).
                paid = sum((il.amount for il in line.invoice.lines.all() if il.cost_line_id == line.pk), ZERO) \
                    or line.amount
                if share < paid:
                    refunds.append((p, line, paid, share))
                continue
            if line and line.amount == share:
                continue
            basis = p.basis
            if basis.status == Status.CANCELLED:
                continue
            description = _("Andel av %(d)s: %(c)s %(u)s av %(t)s %(u)s") % {
                "d": shared.description, "c": f"{p.capacity.normalize():f}", "u": shared.capacity_unit,
                "t": f"{shared.capacity.normalize():f}"}
            if line:
                line.amount = line.unit_price = share
                line.description = description
                line.save(update_fields=["amount", "unit_price", "description", "updated_at"])
            elif share:
                cat = CostCategory.objects.get(code=CONTRIBUTION_CATEGORY)
                CostLine.objects.create(
                    basis=basis, source=CostLine.Source.SHARED_COST, source_reference=shared.reference or f"SC{shared.pk}",
                    line_reference=ref, category=cat, description=description, quantity=Decimal("1"),
                    unit="andel", unit_price=share, amount=share, vat_code=VatCode.objects.get(code=code),
                    shared_cost=shared, is_change=basis.status in AFTER_ACCEPTANCE,
                    position=(basis.lines.aggregate(m=Max("position"))["m"] or 0) + 1)
            audit(action="billing.line.share_updated", by=by, basis=basis,
                  data={"shared_cost": shared.pk, "share": str(share), "vat_code": code})
            _offer_outdate_if_changed(basis, by=by)
    return refunds


@transaction.atomic
def shared_cost_add_participant(*, shared_cost, basis, capacity, by,
                                connected_on: dt.date | None = None) -> tuple[SharedCostParticipant, bool]:
    """Add a participant; shares are recomputed, earlier payers get ten-year refunds proposed as draft
    credit notes. The same basis again with the same capacity returns the existing participant."""
    shared = SharedCost.objects.select_for_update().get(pk=shared_cost.pk)
    capacity = Decimal(str(capacity))
    if capacity < 0:
        raise InvalidInput(_("Kapasitet kan ikke være negativ."), fields={"capacity": ["min"]})
    existing = shared.participants.filter(basis=basis).first()
    if existing:
        if existing.capacity == capacity:
            return existing, False
        raise ConflictError(_("Grunnlaget er allerede deltaker med en annen kapasitet."))
    basis = _lock_basis(basis)
    if basis.status == Status.CANCELLED:
        raise TransitionError(_("Grunnlaget er kansellert."), code="cancelled")
    participant = SharedCostParticipant.objects.create(shared_cost=shared, basis=basis, capacity=capacity,
                                                       connected_on=connected_on or today())
    audit(action="billing.shared_cost.participant_added", by=by, shared_cost=shared,
          data={"basis": basis.number, "capacity": str(capacity)})
    refunds = _sync_shares(shared, by=by)
    profile = CompanyProfile.load()
    factor = Decimal("1")
    if profile.refund_indexing and shared.energised_on:
        years = Decimal((participant.connected_on - shared.energised_on).days) / Decimal("365.25")
        factor = (1 + profile.refund_index_annual_percent / 100) ** int(years)
    for p, line, paid, share in refunds:
        amount = money.ten_year_refunds(payments={p.pk: paid}, new_shares={p.pk: share},
                                        index_factor=factor).get(p.pk)
        if not amount:
            continue
        refund, created = TenYearRefund.objects.get_or_create(
            participant=p, triggered_by=participant,
            defaults={"shared_cost": shared, "paid": paid, "new_share": share, "amount": amount})
        if created:
            credit = Invoice.objects.create(
                basis=p.basis, kind=Invoice.Kind.CREDIT_NOTE, series=CREDIT_SERIES, status=Invoice.Status.DRAFT,
                vat_regime=regime_of(line.vat_code.code), credited_invoice=line.invoice,
                note=_("Tilbakebetaling etter tiårsregelen: %(d)s fikk en ny deltaker (%(b)s).")
                % {"d": shared.description, "b": basis.number}, created_by=_actor(by)[0])
            InvoiceLine.objects.create(
                invoice=credit, position=1, cost_line=line, category_code=line.category.code,
                category_label=line.category.label,
                description=_("Tilbakebetaling, tiårsregelen: %s") % shared.description,
                quantity=Decimal("1"), unit="stk", unit_price=amount, amount=amount, vat_code=line.vat_code.code,
                vat_rate=line.vat_code.rate)
            refund.credit_note = credit
            refund.save(update_fields=["credit_note"])
            audit(action="billing.ten_year.refund_proposed", by=by, basis=p.basis,
                  data={"shared_cost": shared.pk, "amount": str(amount), "paid": str(paid),
                        "new_share": str(share), "draft_credit_note": credit.pk})
    return participant, True


# --- final settlement (§ 16-11) -------------------------------------------------------------------


def accepted_estimate_rows(basis, extra_lines=()) -> list[tuple[str, Decimal, Decimal]]:
    """The accepted estimate as (VAT code, rate, amount) rows: the accepted offer version's snapshot less
    its base deduction, plus the accepted change lines (plus `extra_lines`, a proposal). Before any
    acceptance: the basis' own offer lines. The § 16-11 cap and the change notices are built on it."""
    lines = list(basis.lines.filter(phase=CostLine.Phase.ESTIMATE).select_related("category", "vat_code",
                                                                               "change_notice"))
    offer = accepted_offer(basis)
    if offer is None:
        own = [ln for ln in lines if not ln.is_change]
        rows = [(ln.vat_code.code, ln.vat_code.rate, ln.amount) for ln in own]
        deduction = base_deduction_amount(basis, own)
    else:
        rates = {v.code: v.rate for v in VatCode.objects.all()}
        snapshot = offer.snapshot or {}
        rows = [(e["vat_code"], rates[e["vat_code"]], Decimal(e["amount"])) for e in snapshot.get("lines", [])]
        deduction = Decimal(snapshot.get("base_deduction") or "0")
    if deduction:
        o = VatCode.objects.get(code="O")
        rows.append((o.code, o.rate, -deduction))
    changes = [ln for ln in lines if ln.is_change and change_line_accepted(ln)]
    known = {ln.pk for ln in changes}
    changes += [ln for ln in extra_lines if ln.pk not in known]
    return rows + [(ln.vat_code.code, ln.vat_code.rate, ln.amount) for ln in changes]


def settlement_preview(basis) -> dict[str, money.Settlement]:
    """Per VAT code: accepted estimate, actual (capped / customer-caused), already invoiced, difference."""
    estimate, actual, actual_cc = (defaultdict(lambda: ZERO) for _ in range(3))
    for code, _rate, amount in accepted_estimate_rows(basis):
        estimate[code] += amount
    lines = list(basis.lines.select_related("vat_code", "category"))
    for ln in lines:
        if ln.phase == CostLine.Phase.ACTUAL:
            (actual_cc if ln.customer_caused else actual)[ln.vat_code.code] += ln.amount
    deduction = base_deduction_amount(basis, lines)
    if deduction:
        actual["O"] -= deduction
    invoiced: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for il in InvoiceLine.objects.filter(invoice__basis=basis, invoice__number__isnull=False).select_related("invoice"):
        sign = -1 if il.invoice.kind == Invoice.Kind.CREDIT_NOTE else 1
        invoiced[il.vat_code] += sign * il.amount
    codes = sorted(set(actual) | set(actual_cc))
    return {code: money.final_settlement(accepted_estimate=estimate[code], actual=actual[code],
                                         actual_customer_caused=actual_cc[code],
                                         already_invoiced=invoiced[code]) for code in codes}


def final_settle_refusals(basis) -> list[Refusal]:
    """Why the final settlement cannot be issued now (empty: it may be). Everything pending must be
    decided first, so the settlement accounts for it: a change notice awaiting the customer's answer,
    or change lines not yet sent to the customer."""
    if basis.status not in AFTER_ACCEPTANCE:
        return [Refusal(_("Sluttoppgjør krever et akseptert tilbud."))]
    if basis.settled_at:
        return [Refusal(_("Sluttoppgjøret er allerede utført %s.")
                        % timezone.localtime(basis.settled_at).strftime("%d.%m.%Y"), code="already_settled")]
    refusals = []
    if not basis.lines.filter(phase=CostLine.Phase.ACTUAL).exists():
        refusals.append(Refusal(_("Registrer faktiske kostnader før sluttoppgjøret."), code="no_actuals",
                                error=InvalidInput))
    if basis.change_notices.filter(status=ChangeNotice.Status.SENT).exists():
        refusals.append(Refusal(_("Et endringsvarsel venter på svar fra kunden. Vent på svaret (eller at "
                                  "svarfristen går ut) før sluttoppgjøret."), code="change_pending"))
    if basis.lines.filter(is_change=True, phase=CostLine.Phase.ESTIMATE, invoice__isnull=True,
                          change_notice__isnull=True).exists():
        refusals.append(Refusal(_("Endringslinjer er ikke varslet kunden. Send endringsvarsel eller fjern "
                                  "linjene før sluttoppgjøret."), code="change_unnotified"))
    return refusals


@transaction.atomic
def final_settle(*, basis, by) -> list[Invoice]:
    """Issue the final invoice(s) or credit note(s) that settle estimate against actual cost. The
    settlement counts everything invoiced before it and every accepted estimate line (offer and accepted
    changes) whether invoiced or not; afterwards only credit notes may be issued on the basis. Settling
    a settled basis again changes nothing and returns []."""
    basis = _lock_basis(basis)
    if basis.settled_at:
        return []
    refuse(final_settle_refusals(basis))
    preview = settlement_preview(basis)
    documents = []
    to_invoice: dict[str, list[dict]] = defaultdict(list)
    for code, s in preview.items():
        if s.difference == 0:
            continue
        vc = VatCode.objects.get(code=code)
        text = _("Sluttoppgjør: etterberegnet %(r)s (tak %(c)s), tidligere fakturert %(i)s") % {
            "r": nok(s.recalculated), "c": nok(s.cap), "i": nok(s.already_invoiced)}
        row = {"cost_line": None, "category_code": CONTRIBUTION_CATEGORY if code == "O" else "service",
               "category_label": _("Sluttoppgjør"), "description": text, "quantity": Decimal("1"), "unit": "stk",
               "unit_price": abs(s.difference), "amount": abs(s.difference), "vat_code": code, "vat_rate": vc.rate,
               "customer_caused": False}
        if s.difference > 0:
            to_invoice[regime_of(code)].append(row)
        else:
            documents.extend(_settlement_credit(basis, by, code, -s.difference, row))
    for regime, rows in sorted(to_invoice.items()):
        documents.append(_create_invoice(basis=basis, by=by, kind=Invoice.Kind.FINAL, regime=regime, rows=rows,
                                         issue_date=today(), note=_("Sluttfaktura etter kontrollforskriften § 16-11.")))
    basis.settled_at = timezone.now()
    if basis.status != Status.INVOICED and any(d.kind == Invoice.Kind.FINAL for d in documents):
        old, new = transition(basis, "invoice")
    else:
        old = new = basis.status
    basis.save(update_fields=["status", "settled_at", "updated_at"])
    audit(action="billing.basis.final_settled", by=by, basis=basis, from_status=old, to_status=new,
          data={"settlement": {code: {k: str(v) for k, v in vars(s).items()} for code, s in preview.items()},
                "documents": [d.pk for d in documents]})
    for d in documents:
        if d.kind != Invoice.Kind.CREDIT_NOTE:
            _refresh_payment_state(d, by=by)
    return documents


def _settlement_credit(basis, by, code, amount, row) -> list[Invoice]:
    """Credit `amount` of VAT code `code` against the newest invoices holding that code."""
    credits = []
    candidates = (basis.invoices.filter(number__isnull=False).exclude(kind=Invoice.Kind.CREDIT_NOTE)
                  .filter(lines__vat_code=code).distinct().order_by("-issue_date", "-number"))
    for inv in candidates:
        if amount <= 0:
            break
        room = sum((ln.amount for ln in inv.lines.all() if ln.vat_code == code), ZERO) - sum(
            (ln.amount for cn in inv.credit_notes.filter(number__isnull=False) for ln in cn.lines.all()
             if ln.vat_code == code), ZERO)
        take = min(room, amount)
        if take <= 0:
            continue
        credit_row = dict(row, unit_price=take, amount=take)
        credit = _create_invoice(basis=basis, by=by, kind=Invoice.Kind.CREDIT_NOTE, regime=inv.vat_regime,
                                 rows=[credit_row], issue_date=today(), credited=inv,
                                 note=_("Sluttoppgjør: tilbakebetaling av for mye innbetalt "
                                        "(kontrollforskriften § 16-11). Krediterer faktura %s.") % inv.number)
        credits.append(credit)
        amount -= take
        _refresh_payment_state(inv, by=by)
    if amount > 0:
        raise BillingError(_("Det er ikke nok fakturert å kreditere (mangler %s).") % amount)
    return credits


# --- bulk actions (workspace) ---------------------------------------------------------------------


@transaction.atomic
def bulk_offer_send_start(*, bases, by):
    """Start sending the offers of several bases: one job, one item per basis, one Celery task per
    item queued after commit. Returns the BulkJob (its items show progress and results)."""
    from .models import BulkJob, BulkJobItem

    ids = list(dict.fromkeys(b.pk if hasattr(b, "pk") else int(b) for b in bases))
    if not ids:
        raise InvalidInput(_("Velg minst ett fakturagrunnlag."), fields={"ids": ["required"]})
    found = set(InvoiceBasis.objects.filter(pk__in=ids).values_list("pk", flat=True))
    job = BulkJob.objects.create(kind=BulkJob.Kind.SEND_OFFER, created_by=_actor(by)[0], total=len(found))
    items = BulkJobItem.objects.bulk_create([BulkJobItem(job=job, basis_id=pk) for pk in ids if pk in found])

    def queue():
        from .tasks import bulk_send_offer_item

        for item in items:
            bulk_send_offer_item.delay(item.pk)

    transaction.on_commit(queue)
    return job


def bulk_offer_send_item(*, item_id: int) -> str:
    """Run one item of a bulk offer job: claim it (pending → running, a conditional UPDATE, so a
    redelivered task does nothing), send the offer as the job's creator, record the outcome."""
    from .models import BulkJobItem

    claimed = BulkJobItem.objects.filter(pk=item_id, status=BulkJobItem.Status.PENDING) \
        .update(status=BulkJobItem.Status.RUNNING, updated_at=timezone.now())
    if not claimed:
        return "skipped"
    item = BulkJobItem.objects.select_related("job__created_by", "basis").get(pk=item_id)
    try:
        offer = offer_send(basis=item.basis, by=item.job.created_by)
    except BillingError as exc:
        status, message = BulkJobItem.Status.FAILED, exc.message
    except Exception:
        BulkJobItem.objects.filter(pk=item_id).update(
            status=BulkJobItem.Status.FAILED, message=_("Uventet feil; se loggen."), updated_at=timezone.now())
        raise
    else:
        status = BulkJobItem.Status.DONE
        message = _("Tilbud versjon %(v)s sendt, gyldig til %(d)s.") % {
            "v": offer.version, "d": offer.valid_until.strftime("%d.%m.%Y")}
    BulkJobItem.objects.filter(pk=item_id).update(status=status, message=message, updated_at=timezone.now())
    return status


# --- refunds made at a payment provider -----------------------------------------------------


@transaction.atomic
def payment_refund_record(*, payment, by, amount, provider_reference: str, note: str = "") -> tuple[Payment, bool]:
    """Record a refund the provider has made (Stripe `charge.refunded`): one confirmed refund row per
    provider refund id, linked to the original payment. Idempotent by (provider, reference, direction)."""
    original = Payment.objects.select_for_update().get(pk=payment.pk)
    existing = Payment.objects.filter(provider=original.provider, provider_reference=provider_reference,
                                      direction=Payment.Direction.REFUND).first()
    if existing:
        return existing, False
    amount = money.round_ore(Decimal(str(amount)))
    if amount <= 0:
        raise InvalidInput(_("Beløpet må være større enn null."), fields={"amount": ["min"]})
    refund = Payment.objects.create(
        invoice=original.invoice, direction=Payment.Direction.REFUND, method=original.method, amount=amount,
        status=Payment.Status.CONFIRMED, provider=original.provider, provider_reference=provider_reference,
        refund_of=original, note=note, created_by=_actor(by)[0], confirmed_at=timezone.now())
    audit(action="billing.payment.refunded", by=by, basis=original.invoice.basis,
          data={"invoice": original.invoice_id, "payment": original.pk, "refund": refund.pk, "amount": str(amount)})
    _refresh_payment_state(original.invoice, by=by)
    return refund, True
