"""ERP export benchmark: throughput and memory for 10 000 and 50 000 issued invoices (claim + CSV + EHF zip).

    .venv/bin/python bench/erp_export.py            # PostgreSQL scratch database kf_bench_erp (re-created)
    BENCH_DATABASE_URL=postgres://…/other …         # another scratch PostgreSQL database (dropped/re-created!)
    BENCH_SIZES=2000,10000 …                        # other sizes (the last is compared with the first)

Bench shortcut (documented): the invoices and their snapshot lines are bulk_created directly, not
issued through billing.services — the export reads only the snapshot (Invoice columns, seller/buyer
JSON, vat_breakdown, InvoiceLine rows), so this measures the export itself. Four lines per invoice,
worked example 1 (O regime, 57 392,90 kr).

Phases:
1. speed — for each size: seed N new invoices, then `export_run()` (claim + build) timed with
   perf_counter, NO tracemalloc (it slows allocation-heavy code 2–3× and distorts the figure).
   The process peak RSS (VmHWM, reset before each run through /proc/self/clear_refs) is recorded.
2. memory — the same batches are built again under tracemalloc (put back to "claimed", as after a
   run that died before recording its files; `export_build` builds only a claimed batch): the peak
   of Python allocations must not grow with the number of documents (ratio largest/smallest).

Last line: one JSON object with figures and targets; exit 1 when a target is missed.
"""

import datetime as dt
import gc
import json
import os
import sys
import tempfile
import time
import tracemalloc
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
TMP = tempfile.mkdtemp(prefix="kf-erp-bench-")
DB_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://root@127.0.0.1:5432/kf_bench_erp")
SIZES = [int(s) for s in os.environ.get("BENCH_SIZES", "10000,50000").split(",")]
os.environ["DATABASE_URL"] = DB_URL
os.environ.setdefault("KF_TESTING", "1")
os.environ["MEDIA_ROOT"] = f"{TMP}/media"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kundefaktura.settings")
os.environ["LOG_LEVEL"] = "WARNING"

TARGET_DOCS_PER_S = 1000
TARGET_MEMORY_RATIO = 1.5  # traced peak(largest) / traced peak(smallest): streamed → ≈ 1


def recreate_database(url: str) -> None:
    """The bench owns its database: drop and create it, so every run starts from the same state."""
    parts = urlsplit(url)
    if not parts.scheme.startswith("postgres"):
        return
    import psycopg

    name = parts.path.lstrip("/")
    admin = parts._replace(path="/postgres", scheme="postgresql").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def rss_reset() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")  # reset VmHWM (the peak resident set) to the current RSS
        return True
    except OSError:
        return False


def rss_kb(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def seed(n, start):
    from billing.models import Customer, Invoice, InvoiceBasis, InvoiceLine

    customer = Customer.objects.first() or Customer.objects.create(name="Kari Nordmann", email="kari@example.com")
    basis = InvoiceBasis.objects.first() or InvoiceBasis.objects.create(number="FG-BENCH", title="Bench",
                                                                       customer=customer)
    seller = {"name": "Fjordnett AS", "orgnr": "914588200", "vat_id": "NO914588200MVA", "vat_registered": True,
              "foretaksregisteret": True, "street": "Kraftveien 1", "postal_code": "5003", "city": "Bergen",
              "country": "NO", "email": "kunde@fjordnett.no", "phone": "55 00 00 00", "bank_account": "12345678903",
              "bank_account_display": "1234.56.78903"}
    lines = [("Materiell", "1", "stk", "18450.00"), ("Arbeid", "12.5", "t", "845.00"),
             ("Maskin", "4", "t", "1150.00"), ("Entreprenør", "1", "stk", "23780.40")]
    today = dt.date(2026, 11, 27)
    from django.db import transaction

    for chunk in range(start, start + n, 2000):
        size = min(2000, start + n - chunk)
        with transaction.atomic():
            invs = Invoice.objects.bulk_create([Invoice(
                basis=basis, kind="ordinary", series="F", number=chunk + i, status="issued", issue_date=today,
                due_date=today + dt.timedelta(days=14), delivery_date=today, kid=f"{chunk + i:09d}0",
                vat_regime="O", seller=seller,
                buyer={"name": f"Kari Nordmann {chunk + i}", "kind": "person", "orgnr": "",
                       "email": f"kunde{chunk + i}@example.com", "street": "Bakkeveien 2", "postal_code": "5010",
                       "city": "Bergen", "country": "NO", "erp_customer_number": str(10000 + chunk + i),
                       "basis_number": f"FG-{chunk + i}", "site": {"street": "Tomt 7", "postal_code": "5010",
                                                                   "city": "Bergen"},
                       "metering_point_id": f"7070575{chunk + i:011d}"},
                net_total=Decimal("57392.90"), vat_total=Decimal("0"), gross_total=Decimal("57392.90"),
                vat_breakdown=[{"code": "O", "rate": "0.00", "base": "57392.90", "vat": "0.00"}])
                for i in range(size)])
            InvoiceLine.objects.bulk_create([InvoiceLine(
                invoice=inv, position=p, category_code="connection_contribution", category_label="Anleggsbidrag",
                description=d, quantity=Decimal(q), unit=u, unit_price=Decimal(pr),
                amount=(Decimal(q) * Decimal(pr)).quantize(Decimal("0.01")), vat_code="O", vat_rate=Decimal("0"))
                for inv in invs for p, (d, q, u, pr) in enumerate(lines, 1)])


def speed_run():
    """claim + build, timed, no tracemalloc. Returns (batch, wall seconds, CPU seconds of this process,
    peak RSS growth in MB). The CPU figure shows what the export costs when the machine is shared."""
    from integrations.erp import services

    gc.collect()
    reset = rss_reset()
    before = rss_kb("VmRSS")
    t0, c0 = time.perf_counter(), time.process_time()
    batch = services.export_run(trigger="command")
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    growth = max(0.0, (rss_kb("VmHWM") - before) / 1024) if reset else None
    return batch, elapsed, cpu, growth


def memory_run(batch):
    """Build the batch again under tracemalloc: peak of Python allocations during the build, in MB."""
    from integrations.erp import services
    from integrations.erp.models import ExportBatch

    ExportBatch.objects.filter(pk=batch.pk).update(status=ExportBatch.Status.CLAIMED)

    gc.collect()
    tracemalloc.start()
    tracemalloc.reset_peak()
    base, _ = tracemalloc.get_traced_memory()
    services.export_build(batch=batch)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return (peak - base) / 1e6


def main():
    recreate_database(DB_URL)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}; zip compression: "
          f"{getattr(django.conf.settings, 'ERP_EXPORT_ZIP_COMPRESSION', 'deflate')}")
    runs, start = {}, 1
    for n in SIZES:
        t0 = time.perf_counter()
        seed(n, start)
        start += n
        print(f"seeded {n} invoices ({4 * n} lines) in {time.perf_counter() - t0:.1f} s")
        batch, elapsed, cpu, rss = speed_run()
        assert batch.document_count == n, (batch.document_count, n)
        runs[n] = {"batch": batch, "rate": n / elapsed, "seconds": elapsed, "cpu_seconds": cpu, "rss_growth_mb": rss,
                   "zip_mb": Path(os.environ["MEDIA_ROOT"], batch.ehf_archive).stat().st_size / 1e6}
        print(f"exported {n} documents in {elapsed:.1f} s: {n / elapsed:.0f} documents/s "
              f"({n / cpu:.0f} per CPU-second of this process; load average {os.getloadavg()[0]:.1f}); peak RSS growth "
              f"{rss if rss is None else round(rss, 1)} MB; zip {runs[n]['zip_mb']:.1f} MB")
    for n in SIZES:
        runs[n]["traced_peak_mb"] = memory_run(runs[n]["batch"])
        print(f"rebuilt {n} documents under tracemalloc: peak Python allocations {runs[n]['traced_peak_mb']:.1f} MB")
    small, large = SIZES[0], SIZES[-1]
    rate = min(r["rate"] for r in runs.values())
    ratio = runs[large]["traced_peak_mb"] / runs[small]["traced_peak_mb"]
    print(f"traced memory peak {large} / {small} = {ratio:.2f} (streamed: it should not grow with the count)")
    ok = rate >= TARGET_DOCS_PER_S and ratio <= TARGET_MEMORY_RATIO
    figures = {"database": connection.vendor, "docs_per_s": round(rate)}
    for n in SIZES:
        r = runs[n]
        figures[f"docs_per_s_{n}"] = round(r["rate"])
        figures[f"seconds_{n}"] = round(r["seconds"], 1)
        figures[f"docs_per_cpu_s_{n}"] = round(n / r["cpu_seconds"])
        figures[f"traced_peak_mb_{n}"] = round(r["traced_peak_mb"], 1)
        figures[f"rss_growth_mb_{n}"] = None if r["rss_growth_mb"] is None else round(r["rss_growth_mb"], 1)
        figures[f"zip_mb_{n}"] = round(r["zip_mb"], 1)
    figures.update({"load_average": round(os.getloadavg()[0], 1), "memory_ratio": round(ratio, 2), "target_docs_per_s": TARGET_DOCS_PER_S,
                    "target_memory_ratio": TARGET_MEMORY_RATIO, "ok": ok})
    print(json.dumps(figures))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
