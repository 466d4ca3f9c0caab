"""The company profile, the cost categories and the VAT codes as pages show them, read once per process
and again only when they change.

Pages read these few rows on every request (the basis page's forms and guards, the terms beside the
portal's accept checkbox, whether installers see amounts): three ORM queries, about 1.7 ms of CPU. They
change only when an administrator edits them. On PostgreSQL one plain query reads a stamp of the three
tables — the number of rows and the newest row version (`xmin`, which every insert and update
renews) — and the rows are read again only when the stamp differs from the one they were read under.
The stamp is read before the rows, so rows kept under a stamp are never older than it: a change after
the stamp moves it, and the next request reads again. A page that reads a row of its own first can
carry the stamp in that row's query (`with_stamps`) and pass it on, which saves the stamp's own query.
Inside a transaction (a service, a test) the rows are read plainly. Elsewhere (SQLite for `make run`)
the rows are read on every call.

What is returned is shared between the requests of one process: read it, never change it. Services
that act on these rows read them themselves (`CompanyProfile.load()` and the models), under their own
locks.
"""

from dataclasses import dataclass

from django.db import connection
from django.db.models import CharField, QuerySet
from django.db.models.expressions import RawSQL

from billing.models import CompanyProfile, CostCategory, VatCode


@dataclass(frozen=True)
class Reference:
    profile: CompanyProfile | None = None
    categories: tuple = ()  # with their default VAT codes
    vat_codes: tuple = ()


_READERS = {
    "profile": (CompanyProfile, lambda: CompanyProfile.objects.filter(pk=1).first()),
    "categories": (CostCategory, lambda: tuple(CostCategory.objects.select_related("default_vat"))),
    "vat_codes": (VatCode, lambda: tuple(VatCode.objects.all())),
}
_kept: dict[tuple[str, str], tuple] = {}  # (database, part) → (stamp, rows)


def _stamp_columns(parts) -> list[str]:
    quote = connection.ops.quote_name
    return [f"(SELECT count(*) || '.' || coalesce(max(xmin::text::bigint), 0) "  # nosec B608
            f"FROM {quote(_READERS[part][0]._meta.db_table)})" for part in parts]


def _stamps(parts) -> tuple:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(_stamp_columns(parts))}")  # nosec B608
        return cursor.fetchone()


_SEPARATOR = " "  # between the parts' stamps in `with_stamps`' column (a stamp is digits and a dot)


def with_stamps(queryset: QuerySet, *parts: str) -> QuerySet:
    """`queryset` with the stamp of `parts` (default all) as the column `reference_stamps`, on PostgreSQL;
    pass it to `reference(…, stamps=row.reference_stamps)` with the same parts. Elsewhere unchanged."""
    if connection.vendor != "postgresql":
        return queryset
    sql = f" || '{_SEPARATOR}' || ".join(_stamp_columns(parts or tuple(_READERS)))
    return queryset.annotate(reference_stamps=RawSQL(sql, [], output_field=CharField()))  # nosec B611


def company_profile() -> CompanyProfile | None:
    """The company profile as documents, e-mails and pages show it (None before it is set up). Shared
    like every row `reference` returns: read it, never change it; a form that edits it reads its own."""
    return reference("profile").profile


def reference(*parts: str, stamps: str | None = None) -> Reference:
    """The company profile (None before it is set up), every cost category and every VAT code, in their
    models' order; only the `parts` asked for ("profile", "categories", "vat_codes"; default all).
    `stamps`: their stamp as a row read just before carried it (`with_stamps`, the same parts)."""
    parts = parts or tuple(_READERS)
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        # Inside a transaction its own changes all carry one transaction id, so the stamp would not move
        # between two of them: read plainly (requests run outside one, so pages keep the rows).
        return Reference(**{part: _READERS[part][1]() for part in parts})
    found = {}
    for part, stamp in zip(parts, stamps.split(_SEPARATOR) if stamps else _stamps(parts), strict=True):
        kept = _kept.get((connection.alias, part))
        if kept is None or kept[0] != stamp:
            kept = (stamp, _READERS[part][1]())
            _kept[(connection.alias, part)] = kept
        found[part] = kept[1]
    return Reference(**found)
