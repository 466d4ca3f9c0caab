"""`/metrics` in the Prometheus text format: django-prometheus's HTTP and database figures plus the
business figures, computed at scrape time.

Business figures are registered by the apps (in their AppConfig.ready) as functions returning
`Figure`s, each a few cheap queries; they read the database, so every web process gives the same
answer and they need no sharing between processes:

    from kundefaktura.metrics import register
    register(selectors.outbox_figures)

The HTTP and database counters live in each process's memory. With several gunicorn processes set
`PROMETHEUS_MULTIPROC_DIR` to an empty directory shared by them (cleared at start); this view then
aggregates every process's files (prometheus_client's multiprocess mode), and gunicorn's `child_exit`
hook (`kundefaktura/gunicorn.py`) marks a dead worker's gauges. Without it, a scrape shows the
counters of the one process that answered.

With `METRICS_TOKEN` set the view answers only `Authorization: Bearer <METRICS_TOKEN>` (compared in
constant time); a missing or wrong token gets the same 404 as when no token is configured, so the
endpoint does not announce itself.
"""

from __future__ import annotations

import hmac
import logging
import os
from dataclasses import dataclass, field

from django.conf import settings
from django.http import Http404, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Figure:
    name: str  # without the kf_ prefix
    help: str
    value: float
    kind: str = "gauge"  # gauge | counter
    labels: dict = field(default_factory=dict)


FIGURES: list = []


def register(func):
    """Add a figure function (idempotent); it takes no arguments and returns an iterable of Figure."""
    if func not in FIGURES:
        FIGURES.append(func)
    return func


class BusinessCollector:
    """A prometheus_client collector over the registered figure functions. One failing function is
    logged and counted in `kf_metrics_errors`; the others are still reported."""

    def collect(self):
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        families: dict = {}
        errors = 0
        for func in list(FIGURES):
            try:
                figures = list(func())
            except Exception:  # noqa: BLE001 - one broken query must not hide the other figures
                log.exception("metrics figure %s.%s failed", func.__module__, func.__qualname__)
                errors += 1
                continue
            for fig in figures:
                key = f"kf_{fig.name}"
                family = families.get(key)
                if family is None:
                    cls = CounterMetricFamily if fig.kind == "counter" else GaugeMetricFamily
                    family = families[key] = cls(key, fig.help, labels=sorted(fig.labels))
                family.add_metric([str(fig.labels[k]) for k in sorted(fig.labels)], fig.value)
        errors_family = GaugeMetricFamily("kf_metrics_errors", "Figure functions that failed in this scrape")
        errors_family.add_metric([], errors)
        yield from families.values()
        yield errors_family


def _authorised(request) -> bool:
    token = settings.METRICS_TOKEN
    if not token:
        return False
    given = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, value = given.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), token.encode())


def exposition() -> bytes:
    """The whole text: this process's (or every process's) django-prometheus figures + business figures."""
    from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        process_registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(process_registry)
    else:
        process_registry = REGISTRY
    business = CollectorRegistry(auto_describe=False)
    business.register(BusinessCollector())
    return generate_latest(process_registry) + generate_latest(business)


@never_cache
@require_GET
def metrics_view(request):
    if not _authorised(request):
        raise Http404
    from prometheus_client import CONTENT_TYPE_LATEST

    return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)
