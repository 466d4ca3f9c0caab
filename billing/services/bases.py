"""Invoice bases: create and edit. `by` is the actor: a user, an API client (anything with
`.name`), or None for the system. Every workflow in this package is keyword-only, atomic, locks
what it changes, re-checks state, is idempotent, writes an audit event, and queues side effects
after commit."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from billing import money
from billing.errors import InvalidInput, TransitionError
from billing.models import CompanyProfile, Customer, InvoiceBasis
from billing.services.audit import actor, audit
from billing.services.locking import lock_basis
from billing.services.numbering import basis_number
from billing.services.offers import offer_outdate_if_changed
from billing.services.validation import validate
from billing.services.work_release import work_release_refresh
from billing.status import AFTER_ACCEPTANCE, EDITABLE, Status

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
                         created_by=actor(by)[0], **fields)
    basis.number = "pending"
    validate(basis, exclude=["number", "created_by"])
    basis.base_deduction_applied = bool(profile.base_deduction_enabled
                                        and money.base_deduction_allowed(basis.order_date))
    basis.number = basis_number()
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
    basis = lock_basis(basis)
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
    validate(basis, exclude=["created_by"])
    basis.save()
    audit(action="billing.basis.updated", by=by, basis=basis, data={"changed": changed})
    offer_outdate_if_changed(basis, by=by)
    work_release_refresh(basis, by=by)
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

