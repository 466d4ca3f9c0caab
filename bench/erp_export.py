"""ERP export throughput and memory: 10 000 then 50 000 issued invoices, exported (claim + CSV + EHF zip).

Bench shortcut (documented): invoices and their snapshot lines are bulk_created directly, not issued
through billing.services — the export reads only the snapshot, so this measures the export itself.
Runs in its own SQLite temp database unless BENCH_DATABASE_URL is set (e.g. a scratch PostgreSQL db).
Last line: one JSON object with figures and targets; exit 1 when a target is missed.
"""

import datetime as dt
import json
import os
import sys
import tempfile
import time
import tracemalloc
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
TMP = tempfile.mkdtemp(prefix="kf-erp-bench-")
os.environ["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL", f"sqlite:///{TMP}/bench.sqlite3")
os.environ.setdefault("KF_TESTING", "1")
os.environ["MEDIA_ROOT"] = f"{TMP}/media"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kundefaktura.settings")
os.environ["LOG_LEVEL"] = "WARNING"

import django  # noqa: E402

django.setup()
from django.core.management import call_command  # noqa: E402
from django.db import transaction  # noqa: E402

TARGET_DOCS_PER_S = 1000
TARGET_MEMORY_RATIO = 1.5  # peak(50k) / peak(10k)


def seed(n, start):
    from billing.models import Customer, Invoice, InvoiceBasis, InvoiceLine

    customer = Customer.objects.first() or Customer.objects.create(name="Kari Nordmann", email="kari@example.com")
    basis = InvoiceBasis.objects.first() or InvoiceBasis.objects.create(number="FG-BENCH", title="Bench",
                                                                       customer=customer)
    seller = {"name": "Fjordnett AS", "orgnr": "914588200", "vat_id": "NO914588200MVA", "vat_registered": True,
              "foretaksregisteret": True, "street": "Kraftveien 1", "postal_code": "5003", "city": "Bergen",
              "country": "NO", "email": "kunde@fjordnett.no", "phone": "55 00 00 00", "bank_account": "12345678903",
              "bank_account_display": "1234.56.78903"}
    buyer = {"name": "Kari Nordmann", "kind": "person", "orgnr": "", "email": "kari@example.com",
             "street": "Bakkeveien 2", "postal_code": "5010", "city": "Bergen", "country": "NO",
             "erp_customer_number": "10005", "basis_number": "FG-BENCH", "site": {}, "metering_point_id": ""}
    lines = [("Materiell", "1", "stk", "18450.00"), ("Arbeid", "12.5", "t", "845.00"),
             ("Maskin", "4", "t", "1150.00"), ("Entreprenør", "1", "stk", "23780.40")]
    today = dt.date(2026, 11, 27)
    for chunk in range(start, start + n, 2000):
        size = min(2000, start + n - chunk)
        with transaction.atomic():
            invs = Invoice.objects.bulk_create([Invoice(
                basis=basis, kind="ordinary", series="F", number=chunk + i, status="issued", issue_date=today,
                due_date=today + dt.timedelta(days=14), delivery_date=today, kid=f"{chunk + i:09d}0",
                vat_regime="O", seller=seller, buyer=buyer, net_total=Decimal("57392.90"), vat_total=Decimal("0"),
                gross_total=Decimal("57392.90"),
                vat_breakdown=[{"code": "O", "rate": "0.00", "base": "57392.90", "vat": "0.00"}])
                for i in range(size)])
            InvoiceLine.objects.bulk_create([InvoiceLine(
                invoice=inv, position=p, category_code="connection_contribution", category_label="Anleggsbidrag",
                description=d, quantity=Decimal(q), unit=u, unit_price=Decimal(pr),
                amount=(Decimal(q) * Decimal(pr)).quantize(Decimal("0.01")), vat_code="O", vat_rate=Decimal("0"))
                for inv in invs for p, (d, q, u, pr) in enumerate(lines, 1)])


def export_once():
    from integrations.erp import services

    tracemalloc.start()
    t0 = time.perf_counter()
    batch = services.export_run(trigger="command")
    elapsed = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return batch.document_count, elapsed, peak


def main():
    call_command("migrate", verbosity=0)
    figures = {}
    start = 1
    for n in (10_000, 50_000):
        t0 = time.perf_counter()
        seed(n, start)
        start += n
        print(f"seeded {n} invoices in {time.perf_counter() - t0:.1f} s")
        count, elapsed, peak = export_once()
        rate = count / elapsed
        print(f"exported {count} documents in {elapsed:.1f} s: {rate:.0f} documents/s, "
              f"peak traced memory {peak / 1e6:.1f} MB")
        figures[n] = (count, rate, peak)
    ratio = figures[50_000][2] / figures[10_000][2]
    rate = min(figures[10_000][1], figures[50_000][1])
    print(f"memory peak 50k / 10k = {ratio:.2f} (streamed: it should not grow with the count)")
    ok = rate >= TARGET_DOCS_PER_S and ratio <= TARGET_MEMORY_RATIO and figures[50_000][0] == 50_000
    print(json.dumps({"docs_per_s": round(rate), "docs_per_s_10k": round(figures[10_000][1]),
                      "docs_per_s_50k": round(figures[50_000][1]), "peak_mb_10k": round(figures[10_000][2] / 1e6, 1),
                      "peak_mb_50k": round(figures[50_000][2] / 1e6, 1), "memory_ratio_50k_vs_10k": round(ratio, 2),
                      "target_docs_per_s": TARGET_DOCS_PER_S, "target_memory_ratio": TARGET_MEMORY_RATIO, "ok": ok}))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
