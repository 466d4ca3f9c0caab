"""Read side of the integrations: JSON shapes for the API, and querysets for the installer and
delivery-log pages (fixed number of queries per page)."""

from __future__ import annotations

from billing import services as billing
from billing.models import AuditEvent, CostLine, InvoiceBasis, SharedCost
from billing.selectors import reference
from billing.status import Status

from .models import Notification, RelatedCase


def _d(value) -> str | None:
    return None if value is None else str(value)


def _qty(value) -> str | None:
    """Quantities and capacities without trailing zeros: "12.5", "400"."""
    return None if value is None else f"{value.normalize():f}"


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def basis_get(basis_id: int) -> InvoiceBasis | None:
    if not isinstance(basis_id, int) or basis_id <= 0 or basis_id > 2**63 - 1:
        return None
    return InvoiceBasis.objects.select_related("customer").filter(pk=basis_id).first()


def line_json(line: CostLine) -> dict:
    return {
        "id": line.pk, "source": line.source, "source_reference": line.source_reference,
        "line_reference": line.line_reference, "category": line.category.code, "description": line.description,
        "quantity": _qty(line.quantity), "unit": line.unit, "unit_price": _d(line.unit_price),
        "amount": _d(line.amount), "vat_code": line.vat_code.code, "customer_caused": line.customer_caused,
        "phase": line.phase, "is_change": line.is_change, "invoiced": line.invoice_id is not None,
    }


def customer_json(c) -> dict | None:
    if c is None:
        return None
    return {"id": c.pk, "name": c.name, "email": c.email, "phone": c.phone, "orgnr": c.orgnr,
            "erp_customer_number": c.erp_customer_number, "language": c.language,
            "address": {"street": c.street, "postal_code": c.postal_code, "city": c.city}}


def related_case_json(case: RelatedCase, basis: InvoiceBasis | None = None) -> dict:
    basis = basis or case.basis
    inst = case.installer
    return {"id": case.pk, "source": case.source, "external_id": case.external_id, "title": case.title,
            "installer": ({"name": inst.name, "orgnr": inst.orgnr, "email": inst.email} if inst else None),
            "invoice_basis": basis.pk, "number": basis.number, "status": basis.status,
            "status_label": basis.status_label, "work_release": basis.work_release,
            "created_at": _iso(case.created_at), "updated_at": _iso(max(case.updated_at, basis.updated_at))}


def basis_json(basis: InvoiceBasis) -> dict:
    lines = list(basis.lines.select_related("category", "vat_code").order_by("position", "id"))
    totals = billing.basis_totals(basis, lines)
    invoices = list(basis.invoices.filter(number__isnull=False).order_by("issue_date", "id"))
    events = list(AuditEvent.objects.filter(basis=basis).order_by("at", "id"))
    cases = list(basis.related_cases.select_related("installer").order_by("id"))
    return {
        "id": basis.pk, "number": basis.number, "reference": basis.reference, "title": basis.title,
        "status": basis.status, "status_label": basis.status_label, "work_release": basis.work_release,
        "work_released_at": _iso(basis.work_released_at),
        "prepayment_required": basis.prepayment_required,
        "customer": customer_json(basis.customer),
        "site": {"street": basis.site_street, "postal_code": basis.site_postal_code, "city": basis.site_city},
        "metering_point_id": basis.metering_point_id, "order_date": _iso(basis.order_date),
        "offer_valid_until": _iso(basis.offer_valid_until), "accepted_at": _iso(basis.accepted_at),
        "lines": [line_json(ln) for ln in lines],
        "totals": {"net": _d(totals.net), "vat": _d(totals.vat), "gross": _d(totals.gross),
                   "vat_breakdown": [{"code": g.code, "rate": _d(g.rate), "base": _d(g.base), "vat": _d(g.vat)}
                                     for g in totals.groups]},
        "invoices": [{"id": inv.pk, "kind": inv.kind, "number": inv.number, "status": inv.status,
                      "issue_date": _iso(inv.issue_date), "due_date": _iso(inv.due_date), "kid": inv.kid,
                      "vat_regime": inv.vat_regime, "net": _d(inv.net_total), "vat": _d(inv.vat_total),
                      "gross": _d(inv.gross_total), "outstanding": _d(billing.invoice_outstanding(inv)),
                      "credited_invoice": inv.credited_invoice_id} for inv in invoices],
        "related_cases": [related_case_json(c, basis) for c in cases],
        "events": [{"id": e.pk, "at": _iso(e.at), "action": e.action, "from_status": e.from_status or None,
                    "to_status": e.to_status or None, "actor": e.actor_label, "note": e.note} for e in events],
        "created_at": _iso(basis.created_at), "updated_at": _iso(basis.updated_at),
    }


def shared_cost_get(shared_id: int) -> SharedCost | None:
    if not isinstance(shared_id, int) or shared_id <= 0 or shared_id > 2**63 - 1:
        return None
    return SharedCost.objects.filter(pk=shared_id).first()


def shared_cost_json(shared: SharedCost) -> dict:
    participants = list(shared.participants.select_related("basis").order_by("id"))
    alloc = billing.shared_cost_allocation(shared, participants)
    lines = list(shared.lines.select_related("category", "vat_code").order_by("id"))
    return {
        "id": shared.pk, "reference": shared.reference, "description": shared.description,
        "capacity": _qty(shared.capacity), "capacity_unit": shared.capacity_unit, "allocation": shared.allocation,
        "expected_count": shared.expected_count, "energised_on": _iso(shared.energised_on),
        "lines": [{"id": ln.pk, "category": ln.category.code, "description": ln.description,
                   "quantity": _qty(ln.quantity), "unit": ln.unit, "unit_price": _d(ln.unit_price),
                   "amount": _d(ln.amount), "vat_code": ln.vat_code.code, "line_reference": ln.line_reference}
                  for ln in lines],
        "total": _d(alloc["total"]),
        "participants": [{"invoice_basis": p.basis_id, "number": p.basis.number, "capacity": _qty(p.capacity),
                          "connected_on": _iso(p.connected_on),
                          "share": _d(alloc["shares"].get(p.pk, billing.ZERO))} for p in participants],
        "carried_by_company": _d(alloc["carried"]),
    }


# --- pages -------------------------------------------------------------------------------------------


def installer_cases(user):
    """Related cases of the installers this user belongs to (never anyone else's)."""
    return (RelatedCase.objects.filter(installer__users=user).select_related("basis", "installer")
            .order_by("-basis__updated_at", "-id").distinct())


def installer_case(user, pk: int) -> RelatedCase | None:
    """One case of this user's installers (None for anyone else's), with its basis: what the case page
    shows. A case has one installer, so the user's membership matches it at most once."""
    return next(iter(RelatedCase.objects.filter(pk=pk, installer__users=user).select_related("basis")[:1]), None)


TIMELINE_STEPS = [
    ("offer_sent", {"billing.basis.offer_sent"}),
    ("accepted", {"billing.basis.accepted"}),
    ("work_released", {"billing.basis.work_released"}),
    ("invoiced", {"billing.invoice.issued"}),
    ("paid", {"billing.basis.paid"}),
]


def case_timeline(basis: InvoiceBasis) -> list[dict]:
    """The anleggsbidrag flow as steps with the date each was first reached (None: not yet)."""
    from django.utils.translation import gettext as _

    labels = {"offer_sent": _("Tilbud sendt"), "accepted": _("Akseptert av kunden"),
              "work_released": _("Arbeidet frigitt"), "invoiced": _("Faktura sendt"), "paid": _("Faktura betalt")}
    actions = {a for _k, acts in TIMELINE_STEPS for a in acts}
    events = list(AuditEvent.objects.filter(basis=basis, action__in=actions).order_by("at", "id")
                  .values_list("action", "at"))
    steps = []
    for key, acts in TIMELINE_STEPS:
        at = next((when for action, when in events if action in acts), None)
        steps.append({"key": key, "label": labels[key], "at": at, "done": at is not None})
    if basis.status == Status.CANCELLED:
        cancelled = AuditEvent.objects.filter(basis=basis, action="billing.basis.cancelled").order_by("at").first()
        steps.append({"key": "cancelled", "label": _("Kansellert"), "at": cancelled.at if cancelled else None,
                      "done": True})
    return steps


def installer_sees_amounts() -> bool:
    profile = reference("profile").profile
    return bool(profile and profile.installer_sees_amounts)


def notification_log(*, status: str | None = None):
    qs = Notification.objects.select_related("subscription__client", "basis").prefetch_related(
        "delivery_attempts").order_by("-id")
    if status in Notification.Status.values:
        qs = qs.filter(status=status)
    return qs


def related_case_list(*, q: str = ""):
    qs = RelatedCase.objects.select_related("basis", "installer").order_by("-basis__updated_at", "-id")
    if q:
        from django.db.models import Q

        qs = qs.filter(Q(external_id__icontains=q) | Q(title__icontains=q) | Q(basis__number__icontains=q)
                       | Q(installer__name__icontains=q))
    return qs


def installer_search(q: str, *, limit: int = 10) -> list:
    """Installers whose name or e-mail contains `q`, or whose org.nr. starts with its digits."""
    from django.db.models import Q

    from .models import Installer

    q = (q or "").strip()[:100]
    if len(q) < 2:
        return []
    cond = Q(name__icontains=q) | Q(email__icontains=q)
    digits = "".join(ch for ch in q if ch.isdigit())
    if len(digits) >= 3 and not q.replace(" ", "").replace(".", "").strip("0123456789"):
        cond |= Q(orgnr__startswith=digits)
    return list(Installer.objects.filter(cond).order_by("name", "id")[:limit])


def basis_related_cases(basis: InvoiceBasis) -> list[RelatedCase]:
    return list(basis.related_cases.select_related("installer").order_by("id"))


def notification_figures():
    """Business figures for /metrics: outbound status notifications not yet delivered (one query)."""
    from kundefaktura.metrics import Figure

    pending = Notification.objects.filter(status=Notification.Status.PENDING).count()
    return [Figure("notifications_pending", "Outbound status notifications not yet delivered", pending)]
