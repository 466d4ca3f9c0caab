"""The PostgreSQL cursor: parameters bound by the server (so a connection can keep its frequent queries
prepared, kundefaktura/settings.py), with the one case server-side binding cannot take handled."""

import psycopg
from django.db.backends.postgresql.base import ServerBindingCursor

# The wire protocol numbers a statement's bound parameters with 16 bits.
MAX_BOUND_PARAMETERS = 65535


class Cursor(ServerBindingCursor):
    """A statement with more parameters than the server can bind (a delete that cascades over tens of
    thousands of rows, an IN list that long) has its values merged into its text by psycopg instead,
    exactly as Django's default client-side binding does for every statement; all others are bound by
    the server."""

    def execute(self, query, params=None, **kwargs):
        if params is not None and len(params) > MAX_BOUND_PARAMETERS:
            query, params = psycopg.ClientCursor(self.connection).mogrify(query, params), None
        return super().execute(query, params, **kwargs)
