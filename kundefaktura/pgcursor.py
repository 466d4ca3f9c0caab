"""The PostgreSQL cursor: parameters bound by the server (so a connection can keep its frequent queries
prepared, kundefaktura/settings.py), with the one case server-side binding cannot take handled."""

import contextlib
import contextvars

import psycopg
from django.db.backends.postgresql.base import ServerBindingCursor

# The wire protocol numbers a statement's bound parameters with 16 bits.
MAX_BOUND_PARAMETERS = 65535


_unprepared = contextvars.ContextVar("unprepared", default=False)


@contextlib.contextmanager
def unprepared():
    """Statements run inside are planned afresh each time, never kept prepared. For a statement whose
    best plan depends on its parameters' values, such as a substring search (a common term reads a
    range of rows in order, a rare one the trigram index): a prepared statement may settle on one plan
    for all values, and that plan was up to four times slower on the bench's searches."""
    token = _unprepared.set(True)
    try:
        yield
    finally:
        _unprepared.reset(token)


class Cursor(ServerBindingCursor):
    """A statement with more parameters than the server can bind (a delete that cascades over tens of
    thousands of rows, an IN list that long) has its values merged into its text by psycopg instead,
    exactly as Django's default client-side binding does for every statement; all others are bound by
    the server."""

    def execute(self, query, params=None, **kwargs):
        if _unprepared.get():
            kwargs.setdefault("prepare", False)
        if params is not None and len(params) > MAX_BOUND_PARAMETERS:
            query, params = psycopg.ClientCursor(self.connection).mogrify(query, params), None
        return super().execute(query, params, **kwargs)
