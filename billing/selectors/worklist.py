"""Read-side queries for the workspace: each page costs a fixed number of queries.

Overdue and outstanding amounts are SQL annotations (subqueries), never per-row Python calls,
and mirror `billing/selectors/owed.py` (`invoice_outstanding`): gross − issued credit notes − confirmed payments
+ confirmed refunds.
"""

import contextlib
import datetime as dt
import json
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection
from django.db.models import (
    BooleanField,
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
from billing.selectors.reference import reference, with_stamps
from billing.status import Status
from kundefaktura.compiled import compiled
from kundefaktura.pgcursor import unprepared
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


def overdue_bases_stored(on: dt.date | None = None):
    """`overdue_bases` from each invoice's stored outstanding amount (PostgreSQL: kept by triggers,
    billing/migrations/0012_invoice_outstanding.py): an index-only scan of the partial index of issued
    invoices with something outstanding, instead of summing every past-due invoice's payments and
    credit notes. `tests/billing/test_overdue_rule.py` holds it to the same answers."""
    on = on or timezone.localdate()
    # = ANY(ARRAY(…)), not IN (…): the overdue bases are then read by primary key, where IN hashes the
    # ids and reads every basis.
    sql = (f'"{InvoiceBasis._meta.db_table}"."id" = ANY(ARRAY(SELECT basis_id FROM {Invoice._meta.db_table} '  # nosec B608
           f"WHERE number IS NOT NULL AND kind <> %s AND outstanding > 0 AND due_date < %s))")
    return RawSQL(sql, [Invoice.Kind.CREDIT_NOTE, on], output_field=BooleanField())  # noqa: S611  # nosec B611


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


def _postgres() -> bool:
    """The fast paths (stored search text, one-statement counts and rows) are PostgreSQL's; other
    databases (SQLite for `make run`) take the ORM."""
    return connection.vendor == "postgresql"


SEARCH_COLUMNS = ("number", "reference", "title", "site_street", "site_postal_code", "site_city",
                  "metering_point_id", "customer__name", "customer__email", "customer__orgnr")


def _search(qs, q: str):
    """Substring search over the basis' number, external reference, title, site address and metering
    point, its customer's name, e-mail and organisation number, and its related case ids.

    On PostgreSQL one LIKE on the basis' stored, normalised `search_text` (kept by triggers,
    `billing/migrations/0011_basis_search_text.py`), which one trigram index serves; the term is
    normalised and its LIKE wildcards escaped in SQL by the same functions (`billing_search_like`).
    A term of digits and spaces also matches with the spaces left out (a metering point written in
    groups). Elsewhere (SQLite for `make run`) an icontains per column."""
    q = q.strip()
    if not q:
        return qs
    digits = q.replace(" ", "")
    terms = [q] + ([digits] if " " in q and len(digits) >= 4 and digits.isdigit() else [])
    if _postgres():
        column = f'"{InvoiceBasis._meta.db_table}"."search_text"'
        sql = " OR ".join([f"{column} LIKE billing_search_like(%s)"] * len(terms))
        return qs.filter(RawSQL(f"({sql})", terms, output_field=BooleanField()))  # noqa: S611  # nosec B611
    cond = Q()
    for term in terms:
        for name in SEARCH_COLUMNS:
            cond |= Q(**{f"{name}__icontains": term})
        cond |= Q(pk__in=InvoiceBasis.objects.filter(related_cases__external_id__icontains=term)
                  .order_by().values("pk"))
    return qs.filter(cond)


@dataclass
class WorklistRow:
    """One row of the work list: what the row shows, nothing more."""

    pk: int
    number: str
    title: str
    customer_name: str | None
    status: str
    offer_valid_until: dt.date | None
    created_at: dt.datetime
    site_street: str
    site_city: str
    net_total: Decimal
    is_overdue: bool


@dataclass
class WorklistPage:
    """One page of the work list: the status chips' counts (every status, before the status filter),
    how many bases the list holds, the page's number and count, and its rows."""

    counts: dict[str, int]
    count: int
    number: int
    num_pages: int
    rows: list[WorklistRow]
    # A search that matches more than SEARCH_COUNT_CAP bases: `counts` is empty and `counted` false (the
    # chips show no numbers). `capped`: the list itself (its status, if one is chosen) holds more than
    # SEARCH_COUNT_CAP; `count` is then the cap and only the first SEARCH_COUNT_CAP matches, in the
    # chosen order, are paged.
    counted: bool = True
    capped: bool = False
    cap: int | None = None  # the count's cap in force (a search), else None


# A search counts its matches exactly up to this many, then says "more than": counting every match of a
# term that a twelfth of all bases contain reads a twelfth of the table, and grows with it.
SEARCH_COUNT_CAP = 1000


def _filtered(*, user, filters: WorklistFilters, on: dt.date):
    """The bases the filters select, before the status filter, unordered."""
    qs = _search(InvoiceBasis.objects.order_by(), filters.q)
    if filters.source:
        qs = qs.filter(source=filters.source)
    if filters.mine:
        qs = qs.filter(created_by=user)
    if filters.expiring:
        qs = qs.filter(status=Status.OFFER_SENT, offer_valid_until__gte=on,
                       offer_valid_until__lte=on + dt.timedelta(days=EXPIRING_DAYS))
    if filters.overdue:
        qs = qs.filter(overdue_bases_stored(on) if _postgres() else overdue_bases(on))
    return qs


def _sort(filters: WorklistFilters) -> tuple[str, bool]:
    """(column to sort by, descending?); ties are broken by the newest id."""
    key = filters.sort.lstrip("-")
    column = SORTS.get(key, "created_at")
    return column, (filters.sort.startswith("-") if key in SORTS else True)


def _page_number(raw, num_pages: int) -> int:
    """The page shown for the requested number, as Django's `Paginator.get_page` picks it: not a number
    → the first page, out of range → the last."""
    try:
        number = int(float(raw)) if raw not in (None, "") else 1
    except (TypeError, ValueError, OverflowError):
        return 1
    return number if 1 <= number <= num_pages else num_pages


def _page_pg(base, *, filters: WorklistFilters, limit: int, offset: int, on: dt.date,
             cap: int | None = None, counted: bool = True) -> tuple[dict, list]:
    """The chips' counts and one page of rows in one statement.

    With a search or the overdue filter the filtered bases are a MATERIALIZED CTE read twice (counts per
    status; the page's ids sorted and cut): the trigram scan or the overdue lookup runs once. Otherwise
    the two are separate subqueries: the page an index scan that stops after its rows; the counts, for
    the whole list, the few rows of `billing_basis_status_count` (kept by triggers), else an index-only
    scan of the filtered bases (no join for the sort column). The page's ids keep their order through
    `ARRAY(… ORDER BY …)` and `WITH ORDINALITY`; its rows are then read whole by key (`_row_columns`).
    The counts come in every row, and in one row with no basis when the page is empty.

    `cap` (a search): the CTE holds at most `cap` + 1 matches, which the counts read (and so say whether
    there are more). When it holds them all the page is cut from it; when there are more, from all the
    matches in a subquery of its own (for a common term PostgreSQL walks the sort column's index and
    stops after the page). PostgreSQL runs only the branch taken. `counted=False`: no counts, the page's
    rows alone."""
    column, desc = _sort(filters)
    if column == "customer__name":  # the stored copy of the name, indexed with the id (no join, no full sort)
        base = base.annotate(k=RawSQL(f'"{InvoiceBasis._meta.db_table}"."customer_sort"', []))  # noqa: S611  # nosec B611
        column = "k"
    ranked, ranked_params = base.values_list("pk", "status", column).query.sql_with_params()
    order = "DESC" if desc else "ASC"
    status_where = "WHERE status = %s" if filters.status else ""
    status_params = [filters.status] if filters.status else []

    def page_ids(source: str, source_params) -> tuple[str, list]:
        return (f"ARRAY(SELECT pk FROM {source} {status_where} ORDER BY k {order}, pk DESC LIMIT %s OFFSET %s)",  # nosec B608
                [*source_params, *status_params, limit, offset])

    if counted and (filters.q.strip() or filters.overdue):
        counted, counted_params = "SELECT status, 1 FROM m", []
        if cap is not None and filters.q.strip():
            head = f"m (pk, status, k) AS MATERIALIZED (SELECT * FROM ({ranked}) r LIMIT %s), "  # nosec B608
            head_params = [*ranked_params, cap + 1]
            few, few_params = page_ids("m", [])
            every, every_params = page_ids(f"({ranked}) f (pk, status, k)", ranked_params)
            ids = f"CASE WHEN (SELECT count(*) FROM m) <= %s THEN {few} ELSE {every} END"  # nosec B608
            ids_params = [cap, *few_params, *every_params]
        else:
            head, head_params = f"m (pk, status, k) AS MATERIALIZED ({ranked}), ", list(ranked_params)
            ids, ids_params = page_ids("m", [])
    else:
        head, head_params = "", []
        if not counted:
            counted, counted_params = "SELECT NULL::text, 0 WHERE false", []
        elif filters.source or filters.mine or filters.expiring:
            counted, counted_params = base.annotate(one=Value(1)).values_list("status", "one").query.sql_with_params()
        else:  # every basis: the counts kept by triggers (billing/migrations/0013_basis_status_counts.py)
            counted, counted_params = "SELECT status, n FROM billing_basis_status_count", []
        ids, ids_params = page_ids(f"({ranked}) m (pk, status, k)", ranked_params)
    columns, column_params = _row_columns(on)
    sql = (f"WITH {head}"  # nosec B608: the parts are our own SQL and the ORM's
           f"c (counts) AS (SELECT json_object_agg(status, n)::text FROM "
           f"(SELECT status, SUM(n) AS n FROM ({counted}) x (status, n) GROUP BY status HAVING SUM(n) <> 0) y), "
           f"p (pk, ord) AS (SELECT * FROM unnest({ids}) WITH ORDINALITY) "
           f"SELECT c.counts, r.* FROM c LEFT JOIN (SELECT p.ord, {columns} "
           f"FROM p JOIN {InvoiceBasis._meta.db_table} b ON b.id = p.pk) r ON true ORDER BY r.ord")
    params = [*head_params, *counted_params, *ids_params, *column_params]
    # A search is planned for its term each time (kundefaktura/pgcursor.py).
    with unprepared() if filters.q.strip() else contextlib.nullcontext(), connection.cursor() as cursor:
        cursor.execute(sql, params)
        fetched = cursor.fetchall()
    counts_json = fetched[0][0] if fetched else None
    rows = [_row(r[2:]) for r in fetched if r[1] is not None]
    return (json.loads(counts_json) if counts_json else {}), rows


def _page_portable(base, *, filters: WorklistFilters, limit: int, offset: int, on: dt.date,
                   cap: int | None = None, counted: bool = True) -> tuple[dict, list]:
    """`_page_pg` with the ORM, for other databases (SQLite in development): three queries. The counts
    are exact (`cap` is for the database's sake: the page's rows are always right here)."""
    counts = dict(base.values_list("status").annotate(n=Count("*")).order_by()) if counted else {}
    column, desc = _sort(filters)
    qs = base.filter(status=filters.status) if filters.status else base
    qs = qs.order_by(("-" if desc else "") + column, "-id")
    return counts, worklist_rows_by_ids(list(qs.values_list("pk", flat=True)[offset:offset + limit]), on)


def worklist_page(*, user, filters: WorklistFilters, page=None, per_page: int = 50,
                  on: dt.date | None = None) -> WorklistPage:
    """One page of the work list in one query on PostgreSQL (a second only when the requested page is
    past the last, or when a status is chosen in a search that matches more than SEARCH_COUNT_CAP
    bases): the chips' counts and the page's rows.

    Sorting and paging run on the narrow basis query alone (ids); only the page's rows are then read
    whole, with the customer's name, the net estimate and the overdue mark."""
    on = on or timezone.localdate()
    base = _filtered(user=user, filters=filters, on=on)
    fetch = _page_pg if _postgres() else _page_portable
    wanted = _page_number(page, 10**6)  # the count is not known yet: checked below
    cap = SEARCH_COUNT_CAP if filters.q.strip() else None
    offset = (wanted - 1) * per_page
    found, rows = fetch(base, filters=filters, limit=per_page, offset=offset, on=on, cap=cap)
    listed = base
    if cap is not None and sum(found.values()) > cap:
        # More matches than are counted: the chips show no numbers. A list of one status counts that
        # status alone, up to the cap.
        counts = {}
        count = None
        if filters.status:
            listed = base.filter(status=filters.status)
            found, rows = fetch(listed, filters=filters, limit=per_page, offset=offset, on=on, cap=cap)
            count = sum(found.values())
    else:
        counts = {s: 0 for s in Status.values}
        counts.update(found)
        count = counts.get(filters.status, 0) if filters.status else sum(counts.values())
    if cap is not None and (count is None or count > cap):
        # The first `cap` matches in the chosen order are paged (the rows above are those of the page
        # asked for, sorted and cut from all the matches).
        num_pages = max(1, -(-cap // per_page))
        number = _page_number(page, num_pages)
        offset = (number - 1) * per_page
        if number != wanted:
            _found, rows = fetch(listed, filters=filters, limit=per_page, offset=offset, on=on, counted=False)
        return WorklistPage(counts=counts, count=cap, number=number, num_pages=num_pages,
                            rows=rows[:cap - offset], counted=bool(counts), capped=True, cap=cap)
    num_pages = max(1, -(-count // per_page))
    number = _page_number(page, num_pages)
    if number != wanted:
        _found, rows = fetch(listed, filters=filters, limit=per_page, offset=(number - 1) * per_page, on=on,
                             cap=cap)
    return WorklistPage(counts=counts, count=count, number=number, num_pages=num_pages, rows=rows,
                        counted=bool(counts), cap=cap)


def _row_columns(on: dt.date) -> tuple[str, list]:
    """The columns of a work-list row of the basis `b`: the customer's name and the net estimate from the
    basis' stored copies (`customer_sort`, `estimate_net`: billing/migrations/0011_basis_search_text.py,
    0014_basis_estimate_net.py; a row costs the same however many lines its basis has), the overdue mark
    from the invoices' stored outstanding amounts."""
    invoice = Invoice._meta.db_table
    sql = (
        "b.id, b.number, b.title, b.customer_sort, b.status, b.offer_valid_until, "  # nosec B608
        "b.created_at, b.site_street, b.site_city, round(b.estimate_net, 2), "
        f"EXISTS (SELECT 1 FROM {invoice} i WHERE i.basis_id = b.id AND i.number IS NOT NULL "
        f"AND i.due_date < %s AND i.kind <> %s AND i.outstanding > 0)")
    return sql, [on, Invoice.Kind.CREDIT_NOTE]


def _row(r) -> WorklistRow:
    return WorklistRow(*r[:9], net_total=r[9], is_overdue=r[10])


def worklist_rows_by_ids(ids: list[int], on: dt.date | None = None) -> list[WorklistRow]:
    """The work-list rows of these bases, in the order of `ids`, in one query.

    The overdue mark is the rule of `overdue_bases` (an issued invoice past its due date with something
    outstanding: gross − issued credit notes − confirmed payments + confirmed refunds), read on
    PostgreSQL from the invoices' stored outstanding amounts (`overdue_bases_stored`)."""
    if not ids:
        return []
    on = on or timezone.localdate()
    if _postgres():
        columns, params = _row_columns(on)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {columns} FROM {InvoiceBasis._meta.db_table} b WHERE b.id = ANY(%s)",  # nosec B608
                           [*params, list(ids)])
            by_id = {r[0]: _row(r) for r in cursor.fetchall()}
    else:
        bases = mark_overdue(InvoiceBasis.objects.select_related("customer").annotate(net_total=Coalesce(Subquery(
            CostLine.objects.filter(basis=OuterRef("pk"), phase=CostLine.Phase.ESTIMATE)
            .order_by().values("basis").annotate(s=Sum("amount")).values("s")[:1],
            output_field=MONEY_FIELD), ZERO)).filter(pk__in=ids), on)
        by_id = {b.pk: WorklistRow(b.pk, b.number, b.title, b.customer.name if b.customer_id else None, b.status,
                                   b.offer_valid_until, b.created_at, b.site_street, b.site_city, b.net_total,
                                   b.is_overdue) for b in bases}
    return [by_id[pk] for pk in ids if pk in by_id]


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


# What the basis page reads of a basis besides the row, by relation; each queryset is built only when the
# basis has rows there (kundefaktura/related.py). The receipts of the customer's answers and the e-mails
# are the upper apps' rows.
BASIS_PAGE_RELATIONS = {
    "lines": lambda: Prefetch("lines", queryset=CostLine.objects.select_related("change_notice")),
    "invoices": lambda: Prefetch("invoices", queryset=(
        Invoice.objects.select_related("credited_invoice")
        .annotate(nonempty=nonempty_flags(Invoice, INVOICE_PAGE_RELATIONS)).order_by("created_at", "id"))),
    "events": lambda: Prefetch("events", queryset=AuditEvent.objects.select_related("actor_user").order_by("-at", "-id")),
    "related_cases": lambda: Prefetch("related_cases", queryset=_related_model(InvoiceBasis, "related_cases")
                                      .objects.select_related("installer")),
    "offers": lambda: Prefetch("offers", queryset=Offer.objects.order_by("-version")),
    "acceptances": lambda: Prefetch("acceptances", queryset=Acceptance.objects.select_related("user")),
    "receipts": lambda: Prefetch("receipts", queryset=_related_model(InvoiceBasis, "receipts").objects
                                 .select_related("acceptance", "change_notice").order_by("created_at", "id")),
    "emails": "emails",
    "shared_participations": lambda: Prefetch("shared_participations", queryset=SharedCostParticipant.objects
                                              .select_related("shared_cost")),
}


@compiled
def _basis_page_row(pk):
    return with_stamps(InvoiceBasis.objects.select_related("customer", "created_by")
                       .annotate(nonempty=nonempty_flags(InvoiceBasis, BASIS_PAGE_RELATIONS)).filter(pk=pk))


def basis_detail(pk: int) -> InvoiceBasis:
    """The basis with everything its page shows, prefetched: one query for the basis, then one per kind
    of related row it has (never per row; a kind it has none of costs nothing, see
    kundefaktura/related.py). Its invoices carry `outstanding` and `credited` (as from
    `invoices_with_outstanding`); each offer holds its answers (`offer.acceptances`, newest first, from
    the basis' own); `page_categories`, `page_vat_codes` and `page_profile` hold the cost categories, the
    VAT codes and the company profile (for the page's forms and guards).

    The lines are read without joining their category, VAT code and invoice: those are taken from the
    category and VAT code lists and the basis' own invoices, which the page loads anyway (a line's
    invoice is always one of its basis' invoices), so each is one shared object and the lines' query
    stays narrow; likewise an answer's offer is the basis' own."""
    found = _basis_page_row(pk)
    if not found:
        raise InvoiceBasis.DoesNotExist
    basis = found[0]
    load_related(basis, BASIS_PAGE_RELATIONS)
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
    catalog = reference(stamps=getattr(basis, "reference_stamps", None))  # stamped by the row's own query
    basis.page_categories, basis.page_vat_codes = catalog.categories, catalog.vat_codes  # shared: read only
    basis.page_profile = catalog.profile
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
