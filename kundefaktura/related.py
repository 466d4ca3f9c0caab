"""Read only the related sets a row actually has.

A page that shows one row with its related sets (a basis with its invoices, offers, receipts …) pays a
query for each set, also for the many that are empty: an ORM query costs about half a millisecond of
CPU whatever it returns. `nonempty_flags` is one annotation on the row's own query that says which of
the named reverse relations have rows (an EXISTS per relation, joined into one string of "0"/"1", plain
SQL that PostgreSQL and SQLite both run); `load_related` then prefetches the non-empty ones and marks
the others as loaded and empty (for one row or for a list of rows, such as a basis' invoices), so `row.<relation>.all()` answers without a query for them, exactly as
after `prefetch_related`.

A flag is read in the same query as the row, so it is as current as the row itself.
"""

import functools
import weakref

from django.db import connection
from django.db.models import CharField, Model, Prefetch, prefetch_related_objects
from django.db.models.expressions import RawSQL

from kundefaktura.compiled import compiled


def nonempty_flags(model, relations) -> RawSQL:
    """An annotation: one character per name in `relations` (reverse foreign keys of `model`, by their
    accessor names), "1" when the row has a related row there, else "0"."""
    return RawSQL(_flags_sql(model, tuple(relations), connection.vendor), [], output_field=CharField())  # nosec B611


@functools.lru_cache(maxsize=64)
def _flags_sql(model, names: tuple, vendor: str) -> str:
    """The annotation's SQL, the same on every request: built once per process."""
    quote = connection.ops.quote_name
    meta = model._meta
    parts = []
    for k, name in enumerate(names):
        rel = meta.get_field(name)
        if not (rel.one_to_many and rel.auto_created):
            raise ValueError(f"{model.__name__}.{name} is not a reverse foreign key")
        alias = quote(f"nonempty_{k}")  # the related table may be the row's own (an invoice's credit notes)
        parts.append(
            f"(CASE WHEN EXISTS (SELECT 1 FROM {quote(rel.related_model._meta.db_table)} {alias} "  # nosec B608
            f"WHERE {alias}.{quote(rel.field.column)} = {quote(meta.db_table)}.{quote(rel.field.target_field.column)})"
            f" THEN '1' ELSE '0' END)")
    return " || ".join(parts)


def set_loaded(instance, name: str, rows) -> None:
    """Record the reverse relation `name` of `instance` as loaded with `rows` (as prefetch_related would
    with the same rows): `.all()` and iteration answer them without a query."""
    queryset = getattr(instance, name).all()
    queryset._result_cache = list(rows)
    queryset._prefetch_done = True
    if not hasattr(instance, "_prefetched_objects_cache"):
        instance._prefetched_objects_cache = {}
    instance._prefetched_objects_cache[instance._meta.get_field(name).cache_name] = queryset


def mark_empty(instance, name: str) -> None:
    """Record the reverse relation `name` of `instance` as loaded with no rows."""
    set_loaded(instance, name, [])


def load_related(rows, relations: dict) -> None:
    """Prefetch, for each relation in `relations`, the rows of `rows` (one instance or several) whose flag
    says it has related rows there, and mark it empty on the others. Each row carries `nonempty`, from
    `nonempty_flags` over the same names in the same order; `relations` maps each name to its lookup: the
    name itself, a `Prefetch` of it, or a function that returns one (called only when some row has rows
    there, so a set nobody has costs not even the building of its queryset). One query per relation that
    any of the rows has rows in: for up to `COMPILED_ROWS` rows with SQL compiled once per process and
    number of rows (kundefaktura/compiled.py), for more through `prefetch_related_objects`."""
    rows = [rows] if isinstance(rows, Model) else list(rows)
    if any(len(row.nonempty) != len(relations) for row in rows):
        raise ValueError("the flags do not match the relations")
    for k, (name, lookup) in enumerate(relations.items()):
        having = []
        for row in rows:
            if row.nonempty[k] == "1":
                having.append(row)
            else:
                mark_empty(row, name)
        if 0 < len(having) <= COMPILED_ROWS and (load := _rows_loader(type(having[0]), name, lookup)) is not None:
            load(having)
        elif having:
            if callable(lookup):
                lookup = lookup()
            prefetch_related_objects(having, lookup if isinstance(lookup, Prefetch) else Prefetch(name))


# Up to this many rows read a relation with a query compiled once per number of rows (a basis page's
# invoices, the portal's rows); more go through Django's prefetch.
COMPILED_ROWS = 4

# The compiled loaders of a relation, by lookup (a name or a function returning a Prefetch; a
# function's entries go with it) and then by (model, name).
_NAMED_LOADERS: dict = {}
_BUILT_LOADERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _rows_loader(model, name: str, lookup):
    """For a few rows: a function that loads their `name` rows with SQL compiled once per number of rows
    (kundefaktura/compiled.py) and records them as prefetch_related would (each related row's link back
    to its row set, the sets marked loaded, in the queryset's order). None where the lookup is not one
    this handles (a Prefetch object given as such, one with `to_attr` or nested lookups):
    prefetch_related_objects loads those. A lookup function is called once per process here: its
    queryset must not depend on the request, the day or the language."""
    if isinstance(lookup, str):
        loaders = _NAMED_LOADERS.setdefault(lookup, {})
    elif callable(lookup):
        loaders = _BUILT_LOADERS.setdefault(lookup, {})
    else:
        return None
    if (model, name) not in loaders:
        loaders[(model, name)] = _build_loader(model, name, lookup() if callable(lookup) else Prefetch(lookup))
    return loaders[(model, name)]


def _build_loader(model, name: str, prefetch: Prefetch):
    rel = model._meta.get_field(name)
    if (not isinstance(prefetch, Prefetch) or prefetch.to_attr or prefetch.prefetch_through != name
            or not (rel.one_to_many and rel.auto_created)):
        return None
    queryset = prefetch.queryset if prefetch.queryset is not None else rel.related_model._default_manager.all()
    if queryset._prefetch_related_lookups:
        return None
    field, target = rel.field, rel.field.target_field.attname
    queries: dict[int, object] = {}  # number of rows → the compiled query of their related rows

    def load(rows):
        keys = list(dict.fromkeys(getattr(row, target) for row in rows))
        if len(keys) not in queries:
            queries[len(keys)] = compiled(_IN_QUERIES[len(keys)](queryset, field.attname))
        related = queries[len(keys)](*keys)
        if len(rows) == 1:
            for obj in related:
                field.set_cached_value(obj, rows[0])
            set_loaded(rows[0], name, related)
            return
        owner, found = {}, {key: [] for key in keys}
        for row in rows:
            owner.setdefault(getattr(row, target), row)
        for obj in related:
            key = getattr(obj, field.attname)
            field.set_cached_value(obj, owner[key])
            found[key].append(obj)
        for row in rows:
            set_loaded(row, name, list(found[getattr(row, target)]))

    return load


# The related rows of 1 … COMPILED_ROWS rows, as a function of their keys (compiled() reads the number of
# arguments from the function).
_IN_QUERIES = {
    1: lambda qs, column: lambda k0: qs.filter(**{column: k0}),
    2: lambda qs, column: lambda k0, k1: qs.filter(**{f"{column}__in": [k0, k1]}),
    3: lambda qs, column: lambda k0, k1, k2: qs.filter(**{f"{column}__in": [k0, k1, k2]}),
    4: lambda qs, column: lambda k0, k1, k2, k3: qs.filter(**{f"{column}__in": [k0, k1, k2, k3]}),
}
