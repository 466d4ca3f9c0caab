"""Read-side queries for the workspace: each page costs a fixed number of queries.

Overdue and outstanding amounts are SQL annotations (subqueries), never per-row Python calls,
and mirror `billing/selectors/owed.py` (`invoice_outstanding`): gross − issued credit notes − confirmed payments
+ confirmed refunds.
"""

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import (
    Count,
    DecimalField,
    Exists,
    F,
    OuterRef,
    Prefetch,
    Q,
    Subquery,
    Sum,
    Value,
    prefetch_related_objects,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce
from django.utils import timezone

from billing.models import (
    Acceptance,
    AuditEvent,
    CostLine,
    Invoice,
    InvoiceBasis,
    Offer,
    Payment,
    SharedCost,
    SharedCostParticipant,
    TenYearRefund,
)
from billing.selectors.reference import reference
from billing.status import Status
from kundefaktura.related import load_related, nonempty_flags, set_loaded

MONEY_FIELD = DecimalField(max_digits=14, decimal_places=2)
ZERO = Value(Decimal("0.00"), output_field=MONEY_FIELD)
EXPIRING_DAYS = 7

SORTS = {
    "number": "number", "customer": "customer__name", "status": "status", "created": "created_at",
    "valid_until": "offer_valid_until", "title": "title",
}
DEFAULT_SORT = "-created"
SOURCES = ("manual", "nettmelding", "work_order", "product_order", "api")


def outstanding_expression():
    """SQL for an invoice's outstanding amount (use on an Invoice queryset)."""
    paid = (Payment.objects.filter(invoice=OuterRef("pk"), direction=Payment.Direction.PAYMENT,
                                   status__in=[Payment.Status.CONFIRMED, Payment.Status.REFUNDED])
            .order_by().values("invoice").annotate(s=Sum("amount")).values("s")[:1])
    refunded = (Payment.objects.filter(invoice=OuterRef("pk"), direction=Payment.Direction.REFUND,
                                       status=Payment.Status.CONFIRMED)
                .order_by().values("invoice").annotate(s=Sum("amount")).values("s")[:1])
    credited = (Invoice.objects.filter(credited_invoice=OuterRef("pk"), number__isnull=False)
                .order_by().values("credited_invoice").annotate(s=Sum("gross_total")).values("s")[:1])
    return (F("gross_total")
            - Coalesce(Subquery(credited, output_field=MONEY_FIELD), ZERO)
            - Coalesce(Subquery(paid, output_field=MONEY_FIELD), ZERO)
            + Coalesce(Subquery(refunded, output_field=MONEY_FIELD), ZERO))


def invoices_with_outstanding(qs=None):
    qs = qs if qs is not None else Invoice.objects.all()
    return qs.annotate(outstanding=outstanding_expression(),
                       credited=Coalesce(Subquery(
                           Invoice.objects.filter(credited_invoice=OuterRef("pk"), number__isnull=False)
                           .order_by().values("credited_invoice").annotate(s=Sum("gross_total"))
                           .values("s")[:1], output_field=MONEY_FIELD), ZERO))


def overdue_exists(on: dt.date | None = None):
    """Exists(): the basis has an issued invoice past its due date with something left to pay.
    Correlated: cheap when PostgreSQL stops after a page of rows, costly when every basis is asked."""
    on = on or timezone.localdate()
    overdue = (Invoice.objects.filter(basis=OuterRef("pk"), number__isnull=False, due_date__lt=on)
               .exclude(kind=Invoice.Kind.CREDIT_NOTE)
               .annotate(outstanding=outstanding_expression()).filter(outstanding__gt=0))
    return Exists(overdue)


def overdue_bases(on: dt.date | None = None):
    """A filter: `overdue_exists`, for counting every overdue basis at once.

    The same rule as `outstanding_expression`, computed for all invoices in one pass: payments and
    credit notes are summed per invoice in two grouped subqueries and joined, instead of three
    correlated subqueries per past-due invoice (13 000 invoices: the chip counts took 280 ms).
    `tests/billing/test_overdue_rule.py` holds both filters and `mark_overdue` to the same answers."""
    on = on or timezone.localdate()
    invoice, payment = Invoice._meta.db_table, Payment._meta.db_table
    sql = (
        f"SELECT i.basis_id FROM {invoice} i "  # nosec B608
        f"LEFT JOIN (SELECT invoice_id, SUM(CASE WHEN direction = %s AND status IN (%s, %s) THEN amount "
        f"WHEN direction = %s AND status = %s THEN -amount ELSE 0 END) AS net "
        f"FROM {payment} GROUP BY invoice_id) p ON p.invoice_id = i.id "
        f"LEFT JOIN (SELECT credited_invoice_id, SUM(gross_total) AS s FROM {invoice} "
        f"WHERE number IS NOT NULL AND credited_invoice_id IS NOT NULL GROUP BY credited_invoice_id) c "
        f"ON c.credited_invoice_id = i.id "
        f"WHERE i.number IS NOT NULL AND i.due_date < %s AND i.kind <> %s "
        f"AND i.gross_total - COALESCE(c.s, 0) - COALESCE(p.net, 0) > 0")
    params = [Payment.Direction.PAYMENT, Payment.Status.CONFIRMED, Payment.Status.REFUNDED,
              Payment.Direction.REFUND, Payment.Status.CONFIRMED, on, Invoice.Kind.CREDIT_NOTE]
    return Q(pk__in=RawSQL(sql, params))  # noqa: S611  # nosec B611


@dataclass
class WorklistFilters:
    q: str = ""
    status: str = ""
    source: str = ""
    mine: bool = False
    expiring: bool = False
    overdue: bool = False
    sort: str = DEFAULT_SORT
    extra: dict = field(default_factory=dict)


def _search(qs, q: str):
    """Substring search over number, title, site address, metering point, customer name and related
    case id. A UNION of per-column lookups lets PostgreSQL use each column's trigram index (an OR
    across a join would scan every row)."""
    from billing.models import Customer

    q = q.strip()
    if not q:
        return qs
    # Each part without ordering: SQLite refuses ORDER BY inside a compound statement (the models
    # have a default ordering), and the order of ids in an IN (…) means nothing anyway.
    parts = [InvoiceBasis.objects.filter(**{f"{column}__icontains": q}).order_by().values("pk")
             for column in ("number", "title", "site_street", "site_city")]
    parts.append(InvoiceBasis.objects.filter(customer__in=Customer.objects.filter(name__icontains=q)
                                             .values("pk")).order_by().values("pk"))
    parts.append(InvoiceBasis.objects.filter(related_cases__external_id__icontains=q).order_by().values("pk"))
    digits = "".join(ch for ch in q if ch.isdigit())
    if len(digits) >= 4 and len(digits) == len(q.replace(" ", "")):
        parts.append(InvoiceBasis.objects.filter(metering_point_id__icontains=digits).order_by().values("pk"))
    return qs.filter(pk__in=parts[0].union(*parts[1:]))


def basis_list(*, user, filters: WorklistFilters, on: dt.date | None = None):
    """(queryset before status filter, ordered queryset), both narrow — the caller counts chips on the
    first, takes one page of ids from the second and fetches those rows with `worklist_page_rows`."""
    on = on or timezone.localdate()
    qs = _search(InvoiceBasis.objects.all(), filters.q)
    if filters.source:
        qs = qs.filter(source=filters.source)
    if filters.mine:
        qs = qs.filter(created_by=user)
    if filters.expiring:
        qs = qs.filter(status=Status.OFFER_SENT, offer_valid_until__gte=on,
                       offer_valid_until__lte=on + dt.timedelta(days=EXPIRING_DAYS))
    unfiltered_status = qs
    if filters.overdue:
        # The chips count every overdue basis (one grouped pass); the page stops after its rows.
        unfiltered_status = qs.filter(overdue_bases(on))
        qs = qs.filter(overdue_exists(on))
    if filters.status:
        qs = qs.filter(status=filters.status)
    key = filters.sort.lstrip("-")
    column = SORTS.get(key, "created_at")
    desc = filters.sort.startswith("-") if key in SORTS else True
    qs = qs.order_by(("-" if desc else "") + column, "-id")
    return unfiltered_status, qs


def worklist_page_rows(ids: list[int], on: dt.date | None = None) -> list[InvoiceBasis]:
    """The bases of one work-list page, in the order of `ids`, with customer, net total and overdue.

    Sorting and paging run on the narrow basis query alone (ids); only the page's rows are then read
    whole. Sorting 20 000 full rows joined to their customers took 40 ms, the ids alone 13 ms."""
    by_id = InvoiceBasis.objects.select_related("customer").annotate(net_total=Coalesce(Subquery(
        CostLine.objects.filter(basis=OuterRef("pk"), phase=CostLine.Phase.ESTIMATE)
        .order_by().values("basis").annotate(s=Sum("amount")).values("s")[:1],
        output_field=MONEY_FIELD), ZERO)).in_bulk(ids)
    return mark_overdue([by_id[pk] for pk in ids if pk in by_id], on)


def mark_overdue(bases, on: dt.date | None = None) -> list:
    """Set `is_overdue` on the bases of one page with one query.

    Not an annotation on the list query: as a correlated EXISTS over 20 000 bases PostgreSQL hashes
    the subplan and computes the outstanding amount of every overdue invoice on every request
    (~100 ms at 13 000 invoices); restricted to the page's ids it is an index lookup."""
    bases = list(bases)
    on = on or timezone.localdate()
    ids = [b.pk for b in bases]
    overdue = set(Invoice.objects.filter(basis_id__in=ids, number__isnull=False, due_date__lt=on)
                  .exclude(kind=Invoice.Kind.CREDIT_NOTE)
                  .annotate(outstanding=outstanding_expression()).filter(outstanding__gt=0)
                  .values_list("basis_id", flat=True)) if ids else set()
    for b in bases:
        b.is_overdue = b.pk in overdue
    return bases


def status_counts(qs) -> dict[str, int]:
    """One query: how many bases per status (for the chips)."""
    rows = qs.order_by().values("status").annotate(n=Count("*"))  # COUNT(*): index-only scan
    counts = {s: 0 for s in Status.values}
    for row in rows:
        counts[row["status"]] = row["n"]
    return counts


def _related_model(model, name: str):
    """The model behind a reverse relation (an upper app's rows linked to a basis), without importing it."""
    return model._meta.get_field(name).related_model


def _mark_outstanding(invoices) -> None:
    """`outstanding` and `credited` of each invoice of one basis, as `invoices_with_outstanding` computes
    them in SQL, from the invoices themselves (a credit note sits on the basis of the invoice it credits)
    and their prefetched payments: the page's invoice query carries no correlated subqueries."""
    credited: dict[int, Decimal] = {}
    for cn in invoices:
        if cn.credited_invoice_id and cn.number is not None:
            credited[cn.credited_invoice_id] = credited.get(cn.credited_invoice_id, Decimal("0.00")) + cn.gross_total
    for inv in invoices:
        payments = inv.payments.all()
        paid = sum((p.amount for p in payments if p.direction == Payment.Direction.PAYMENT
                    and p.status in (Payment.Status.CONFIRMED, Payment.Status.REFUNDED)), Decimal("0.00"))
        refunded = sum((p.amount for p in payments if p.direction == Payment.Direction.REFUND
                        and p.status == Payment.Status.CONFIRMED), Decimal("0.00"))
        inv.credited = credited.get(inv.pk, Decimal("0.00"))
        inv.outstanding = inv.gross_total - inv.credited - paid + refunded


# What the basis page reads of each of its invoices (the lines only of credit notes: basis_detail).
INVOICE_PAGE_RELATIONS = {"payments": Prefetch("payments", queryset=Payment.objects.order_by("created_at", "id")),
                          "reminders": "reminders"}


def _basis_page_relations() -> dict:
    """What the basis page reads of a basis besides the row, by relation."""
    invoices = (Invoice.objects.select_related("credited_invoice")
                .annotate(nonempty=nonempty_flags(Invoice, INVOICE_PAGE_RELATIONS)).order_by("created_at", "id"))
    return {
        "lines": Prefetch("lines", queryset=CostLine.objects.select_related("change_notice")),
        "invoices": Prefetch("invoices", queryset=invoices),
        "events": Prefetch("events", queryset=AuditEvent.objects.select_related("actor_user").order_by("-at", "-id")),
        "related_cases": Prefetch("related_cases", queryset=_related_model(InvoiceBasis, "related_cases").objects
                                  .select_related("installer")),
        "offers": Prefetch("offers", queryset=Offer.objects.order_by("-version")),
        "acceptances": Prefetch("acceptances", queryset=Acceptance.objects.select_related("user")),
        # The receipts of the customer's answers and the e-mails (the upper apps' rows).
        "receipts": Prefetch("receipts", queryset=_related_model(InvoiceBasis, "receipts").objects
                             .select_related("acceptance", "change_notice").order_by("created_at", "id")),
        "emails": "emails",
        "shared_participations": Prefetch("shared_participations",
                                          queryset=SharedCostParticipant.objects.select_related("shared_cost")),
    }


def basis_detail(pk: int) -> InvoiceBasis:
    """The basis with everything its page shows, prefetched: one query for the basis, then one per kind
    of related row it has (never per row; a kind it has none of costs nothing, see
    kundefaktura/related.py). Its invoices carry `outstanding` and `credited` (as from
    `invoices_with_outstanding`); each offer holds its answers (`offer.acceptances`, newest first, from
    the basis' own); `page_categories` and `page_vat_codes` hold the cost categories and VAT codes (for
    the page's forms and guards).

    The lines are read without joining their category, VAT code and invoice: those are taken from the
    category and VAT code lists and the basis' own invoices, which the page loads anyway (a line's
    invoice is always one of its basis' invoices), so each is one shared object and the lines' query
    stays narrow; likewise an answer's offer is the basis' own."""
    relations = _basis_page_relations()
    basis = (InvoiceBasis.objects.select_related("customer", "created_by")
             .annotate(nonempty=nonempty_flags(InvoiceBasis, relations)).get(pk=pk))
    load_related(basis, relations)
    invoices = list(basis.invoices.all())
    load_related(invoices, INVOICE_PAGE_RELATIONS)
    # A credit note's lines name the cost lines it credits (the line table marks them).
    prefetch_related_objects([i for i in invoices if i.kind == Invoice.Kind.CREDIT_NOTE], "lines")
    _mark_outstanding(invoices)
    offers = {o.pk: o for o in basis.offers.all()}
    answers: dict[int, list] = {}
    for answer in basis.acceptances.all():  # newest first (Acceptance's order)
        if answer.offer_id in offers:
            Acceptance.offer.field.set_cached_value(answer, offers[answer.offer_id])
        answers.setdefault(answer.offer_id, []).append(answer)
    for offer in offers.values():
        set_loaded(offer, "acceptances", answers.get(offer.pk, []))
    catalog = reference("categories", "vat_codes")
    basis.page_categories, basis.page_vat_codes = list(catalog.categories), list(catalog.vat_codes)
    categories = {c.pk: c for c in basis.page_categories}
    vat_codes = {v.pk: v for v in basis.page_vat_codes}
    by_id = {i.pk: i for i in invoices}
    for line in basis.lines.all():
        for relation, objects, key in ((CostLine.category.field, categories, line.category_id),
                                       (CostLine.vat_code.field, vat_codes, line.vat_code_id),
                                       (CostLine.invoice.field, by_id, line.invoice_id)):
            if key in objects:  # otherwise Django reads it when asked, as without this
                relation.set_cached_value(line, objects[key])
    return basis


def basis_search(q: str, *, limit: int = 10, exclude_ids=()):
    qs = _search(InvoiceBasis.objects.select_related("customer"), q).exclude(pk__in=list(exclude_ids))
    return list(qs.exclude(status=Status.CANCELLED).order_by("-created_at")[:limit])


def customer_search(q: str, *, limit: int = 10):
    from billing.models import Customer

    q = q.strip()
    if not q:
        return []
    cond = Q(name__icontains=q) | Q(email__icontains=q) | Q(erp_customer_number=q)
    digits = "".join(ch for ch in q if ch.isdigit())
    if len(digits) == 9:
        cond |= Q(orgnr=digits)
    return list(Customer.objects.filter(cond).order_by("name")[:limit])


def shared_cost_list():
    return (SharedCost.objects.annotate(participant_count=Count("participants", distinct=True))
            .order_by("-created_at"))


def shared_cost_detail(pk: int) -> SharedCost:
    return (SharedCost.objects.prefetch_related(
        Prefetch("lines", queryset=SharedCost.lines.rel.related_model.objects.select_related("vat_code", "category")),
        Prefetch("participants", queryset=SharedCostParticipant.objects.select_related("basis", "basis__customer")
                 .order_by("id")),
        Prefetch("refunds", queryset=TenYearRefund.objects.select_related(
            "participant__basis", "triggered_by__basis", "credit_note")),
    ).get(pk=pk))


def invoice_preceding(invoice_id: int) -> list[Invoice]:
    """The earlier issued invoices a final invoice settles against (the prepayment, the ordinary and
    change invoices): the same basis and VAT regime, issued before it, credit notes left out. One
    query; the final invoice's PDF and its EHF (BillingReference) both refer to these."""
    this = Invoice.objects.filter(pk=invoice_id)
    return list(Invoice.objects.filter(basis_id=Subquery(this.values("basis_id")[:1]),
                                       vat_regime=Subquery(this.values("vat_regime")[:1]),
                                       number__isnull=False, pk__lt=invoice_id)
                .exclude(kind=Invoice.Kind.CREDIT_NOTE).order_by("issue_date", "pk"))
