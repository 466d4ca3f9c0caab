"""Benchmark: the offer PDF pipeline against WeasyPrint rendering the same HTML directly.

Builds a two-page offer with 50 cost lines (in-memory SQLite, through the real services), renders it
20 times through offers.documents and offers.renderers (context from the Offer snapshot + template + WeasyPrint with the
local-only fetcher and a shared font configuration), and 20 times with bare
`weasyprint.HTML(string=html).write_pdf()`. Prints the medians; the last line is one JSON object.
Targets: pipeline ≤ 1.3 × bare, median < 400 ms. Exit status 1 when a target is missed.

    .venv/bin/python bench/pdf_offer.py
"""

import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["DATABASE_URL"] = "sqlite://:memory:"
os.environ.setdefault("KF_TESTING", "1")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kundefaktura.settings")
os.environ.setdefault("CELERY_BROKER_URL", "")
os.environ.setdefault("EMAIL_URL", "dummymail://")  # the offer e-mail queued by offer_send goes nowhere

RUNS = int(os.environ.get("BENCH_RUNS", "20"))
LINES = 50
TARGET_RATIO = 1.3
TARGET_MEDIAN_MS = 400.0


def setup():
    import logging

    import django

    django.setup()
    logging.getLogger("weasyprint").setLevel(logging.WARNING)
    logging.getLogger("fontTools").setLevel(logging.WARNING)
    from django.core.management import call_command
    from django.db import transaction

    call_command("migrate", verbosity=0)
    from billing import services
    from billing.models import CompanyProfile

    CompanyProfile(pk=1, name="Fjordnett AS", orgnr="914588200", street="Kraftveien 1", postal_code="5003",
                   city="Bergen", email="kunde@fjordnett.no", bank_account="12345678903").save()
    customer = services.customer_create(name="Åse Ødegård", email="ase@example.com", street="Bakkeveien 2",
                                        postal_code="5010", city="Bergen")
    basis, _ = services.basis_create(by=None, title="Ny tilknytning, Bakkeveien 2", customer=customer,
                                     site_street="Bakkeveien 2", site_postal_code="5010", site_city="Bergen",
                                     metering_point_id="707057500000000001")
    categories = ["connection_contribution", "meter_work"]
    for i in range(LINES):
        services.line_add(basis=basis, by=None, category=categories[i % len(categories)],
                          description=f"Kostnadslinje {i + 1}: grøft og kabel",
                          quantity=f"{(i % 7) + 1}.5", unit_price=f"{1000 + i * 37}.25", unit="t")
    with transaction.atomic():
        offer = services.offer_send(basis=basis, by=None)
    return offer


def timed(func, runs):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        result = func()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), result


def main():
    offer = setup()
    import weasyprint
    from pypdf import PdfReader

    from offers import documents, renderers

    renderer = renderers.get_renderer()
    template = documents.document("offer").template
    html = renderer.html(template, documents.offer_context(offer))

    def pipeline():
        return renderer.pdf(template, documents.offer_context(offer))

    def bare():
        return weasyprint.HTML(string=html).write_pdf()

    pipeline(), bare()  # warm-up: fonts, imports, caches
    pipeline_ms, pdf = timed(pipeline, RUNS)
    bare_ms, _ = timed(bare, RUNS)
    import io

    pages = len(PdfReader(io.BytesIO(pdf)).pages)
    ratio = pipeline_ms / bare_ms
    ok = ratio <= TARGET_RATIO and pipeline_ms < TARGET_MEDIAN_MS
    print(f"offer with {LINES} lines, {pages} pages, {RUNS} runs")
    print(f"pipeline median {pipeline_ms:.1f} ms, bare WeasyPrint median {bare_ms:.1f} ms, ratio {ratio:.2f}")
    print(json.dumps({"bench": "pdf_offer", "lines": LINES, "pages": pages, "runs": RUNS,
                      "pipeline_median_ms": round(pipeline_ms, 1), "weasyprint_median_ms": round(bare_ms, 1),
                      "ratio": round(ratio, 3), "target_ratio": TARGET_RATIO,
                      "target_median_ms": TARGET_MEDIAN_MS, "ok": ok}))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
