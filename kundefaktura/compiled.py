"""Querysets compiled to SQL once per process.

Building a queryset and compiling it to SQL costs about as much CPU as running it: 0.3–0.5 ms for the
basis row with its flags, a basis' offer lines with their category and VAT code, the session's user with
their permissions. The pages run the same few shapes on every request with other ids. `compiled` builds
such a queryset once per process and database (with placeholder ids), keeps its SQL and the compiler's
description of the columns, and on each call runs that SQL with the call's ids and builds the model
instances exactly as Django's ModelIterable does: the same `from_db`, the same select_related
population, the same annotations. With prepared statements (kundefaktura/pgcursor.py) PostgreSQL then
skips the parsing and planning too.

Only integer arguments (ids) vary; everything else in the queryset is fixed when it is built. A
queryset this cannot reproduce (prefetch_related, values(), known related objects, a placeholder the
SQL does not carry as a plain parameter) is refused when it is first compiled, so a mistake shows in the
first test that runs it. A call with an argument that is not an integer runs the queryset through the
ORM, as without this (which raises what the ORM raises). tests/kundefaktura/test_compiled.py holds every
compiled query of the application to the ORM's answer.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable

from django.core.exceptions import EmptyResultSet, FullResultSet
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import QuerySet
from django.db.models.query import ModelIterable, get_related_populators

# Placeholder ids, one per argument: negative, which no row's id is (sequences start at 1), and inside
# a 32-bit integer's range (Django answers an id out of the column's range with no query at all).
_SLOT = -2_000_000_000


class CompileError(Exception):
    """The queryset cannot be compiled once and rerun with other ids."""


class _Plan:
    """The SQL of one queryset shape on one database, and how to turn its rows into instances."""

    def __init__(self, queryset: QuerySet, arity: int):
        if queryset._iterable_class is not ModelIterable:
            raise CompileError("only querysets of model instances (no values(), values_list())")
        if queryset._prefetch_related_lookups or queryset._known_related_objects:
            raise CompileError("prefetch_related and related-manager querysets are not compiled")
        compiler = queryset.query.get_compiler(using=queryset.db)
        try:
            sql, params = compiler.as_sql()
        except (EmptyResultSet, FullResultSet):
            raise CompileError("a placeholder id is out of the field's range") from None
        slots = {_SLOT - k: k for k in range(arity)}
        self.positions = []  # (index in params, argument number)
        for i, value in enumerate(params):
            if type(value) is int and value in slots:
                self.positions.append((i, slots[value]))
            elif (isinstance(value, int) and any(abs(value - slot) < 10**6 for slot in slots)) or \
                    any(str(-slot) in str(value) for slot in slots):
                # Something computed from an argument (pk + 1, a text holding it) would keep the placeholder's.
                raise CompileError("an argument reaches the SQL other than as a plain parameter")
        found = {k for _, k in self.positions}
        if found != set(range(arity)) or any(str(-slot) in sql for slot in slots):
            raise CompileError("an argument does not reach the SQL as a plain parameter")
        self.sql, self.params = sql, list(params)
        self.db = queryset.db
        select, klass_info = compiler.select, compiler.klass_info
        self.annotations = list(compiler.annotation_col_map.items())
        self.model = klass_info["model"]
        fields = klass_info["select_fields"]
        self.start, self.end = fields[0], fields[-1] + 1
        self.init_list = [f[0].target.attname for f in select[self.start:self.end]]
        self.populators = get_related_populators(klass_info, select, self.db)
        columns = [s[0] for s in select[0:compiler.col_count]]
        if compiler.has_composite_fields(columns):
            raise CompileError("composite fields are not compiled")
        self.compiler = compiler
        self.converters = compiler.get_converters(columns)

    def run(self, args) -> list:
        params = list(self.params)
        for i, k in self.positions:
            params[i] = args[k]
        with connections[self.db].cursor() as cursor:
            cursor.execute(self.sql, params)
            rows = cursor.fetchall()
        if self.converters:
            rows = self.compiler.apply_converters(rows, self.converters)
        out = []
        for row in rows:
            obj = self.model.from_db(self.db, self.init_list, row[self.start:self.end])
            for populator in self.populators:
                populator.populate(row, obj)
            for name, pos in self.annotations:
                setattr(obj, name, row[pos])
            out.append(obj)
        return out


def compiled(build: Callable[..., QuerySet]) -> Callable[..., list]:
    """`build(*ids)` returns a queryset in which only the integer arguments vary; the result, called
    with ids, returns `list(build(*ids))`, running SQL compiled once per process and database."""
    arity = build.__code__.co_argcount
    plans: dict[tuple, _Plan] = {}
    lock = threading.Lock()

    @functools.wraps(build)
    def run(*args, using: str = DEFAULT_DB_ALIAS) -> list:
        if len(args) != arity or any(type(a) is not int for a in args):
            return list(build(*args).using(using))
        key = (using, connections[using].vendor)
        plan = plans.get(key)
        if plan is None:
            with lock:
                plan = plans.get(key) or _Plan(build(*(_SLOT - k for k in range(arity))).using(using), arity)
                plans[key] = plan
        return plan.run(args)

    run.plans = plans  # for the tests: what has been compiled
    return run
