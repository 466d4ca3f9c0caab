"""Rendered page parts cached per database snapshot — never stale, no invalidation to forget.

A PostgreSQL MVCC snapshot (`pg_current_snapshot()`: xmin, xmax and the transactions in progress)
decides exactly which committed writes a query sees, in every table. Two reads under the same
snapshot therefore see the same data, and a page part rendered under one snapshot may be served
again for as long as the snapshot has not moved. Any write that commits anywhere moves it, so the
next request renders afresh: the cache is conservative (a write to an unrelated table also
invalidates) but can never show data older than a fresh render would.

What a part shows besides the data must be in its key: the request's query parameters, the language,
today's date (overdue and expiry are computed against it) and the user where the part depends on
them. The CSRF token is never cached: the part is rendered with a placeholder that each response
replaces with the requesting user's own token.

Not used (the part is rendered every time) on other databases (SQLite in development) and inside a
transaction (a transaction's own uncommitted writes are not described by the snapshot).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from django.conf import settings
from django.core.cache import caches
from django.db import connection
from django.middleware.csrf import get_token
from django.utils.safestring import SafeString

CSRF_PLACEHOLDER = "kf-csrf-placeholder-0c6f1d"


def db_snapshot() -> str | None:
    """The current snapshot as text ("xmin:xmax:xip,…"), or None when it cannot describe the data."""
    if not settings.PAGE_CACHE_ENABLED or connection.vendor != "postgresql":
        return None
    if connection.in_atomic_block:
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_snapshot()::text")
        return cursor.fetchone()[0]


def cached_part(request, key_parts: tuple, render: Callable[[dict], str]) -> SafeString:
    """The part `render(extra_context)` for this request, from the cache while the snapshot stands.

    `render` receives the context entries the cached part must be rendered with (the CSRF
    placeholder) and returns the autoescaped template output."""
    snapshot = db_snapshot()
    if snapshot is None:
        html = render({"csrf_token": get_token(request)})
    else:
        key = "page:" + hashlib.sha256(repr((snapshot, *key_parts)).encode()).hexdigest()
        cache = caches["pages"]
        html = cache.get(key)
        if html is None:
            html = render({"csrf_token": CSRF_PLACEHOLDER})
            cache.set(key, html)
        # get_token returns [A-Za-z0-9] only, so the replacement cannot break the autoescaped HTML.
        html = html.replace(CSRF_PLACEHOLDER, get_token(request))
    # Autoescaped template output with only an alphanumeric token put in: still safe (str.replace
    # drops the SafeString type, hence the explicit wrapper).
    return SafeString(html)  # nosec B703
