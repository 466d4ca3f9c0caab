"""Benchmark: bulk offer sending of 1 000 bases with two Celery worker processes on Redis, against bare
WeasyPrint renders of the same offer measured in the same run.

    .venv/bin/python bench/bulk_send.py                  # 1 000 bases
    BENCH_BULK_BASES=200 .venv/bin/python bench/bulk_send.py

What it does:
1. Re-creates the scratch database (BENCH_BULK_DATABASE_URL, default kf_bench_bulk), migrates it and
   makes, through the real services, a company profile, a case worker and 1 000 draft bases with 10 cost
   lines each, every one for its own customer with an e-mail address (as a bulk job in production).
2. Bare WeasyPrint: one offer of the same shape is sent in this process; its HTML is rendered with
   `weasyprint.HTML(string=html).write_pdf()` BENCH_RUNS times (default 10) before the workers start
   and as many times again after they stopped (step 4); renders/s = 1 / the median of all. On shared
   CPUs a machine is faster or slower for minutes at a time: a baseline taken only in the seconds
   before a two-minute run moved the ratio by ±0.1 on its own.
3. Starts two `celery worker --pool=solo` processes on Redis (BENCH_REDIS_URL, default
   redis://127.0.0.1:6379/0, on a queue of its own) and waits until both answer a ping.
4. Starts the bulk job as the work list's "Send offers" does (`services.bulk_offer_send_start`) and polls
   the database until every item is done, every offer's PDF is stored and every offer e-mail is queued.
   Documents per second = bases / that time. Target: ≥ 0.8 × (2 × bare renders/s). The time until every
   e-mail was also delivered (to Django's dummy mail backend) is reported too.
5. Prints the figures; the last line is one JSON object with `ok`. Exit 1 when the target is missed or
   an item failed. The workers are stopped (SIGTERM, warm) at the end, also on errors.
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DB_URL = os.environ.get("BENCH_BULK_DATABASE_URL", "postgres://root@127.0.0.1:5432/kf_bench_bulk")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
N_BASES = int(os.environ.get("BENCH_BULK_BASES", "1000"))
RUNS = int(os.environ.get("BENCH_RUNS", "10"))
WORKERS = 2
TARGET_SHARE = 0.8  # of WORKERS × bare renders per second
TIMEOUT_S = 1800
PREFIX = f"kf-bench-bulk-{uuid.uuid4().hex[:8]}-"
QUEUES = ",".join(PREFIX + q for q in ("default", "render", "email"))
MEDIA = Path(tempfile.mkdtemp(prefix="kf-bench-bulk-"))
# The same ten cost lines as the load bench's bases.
from load import LINE_TEMPLATES as LINES  # noqa: E402 - bench/ is on sys.path when a bench script runs


def env() -> dict:
    """Production-like settings for this process and the workers: DEBUG off, PostgreSQL, Redis broker."""
    out = {k: v for k, v in os.environ.items() if k not in ("KF_TESTING", "DEBUG")}
    out.update({
        "DATABASE_URL": DB_URL, "DEBUG": "false", "SECRET_KEY": "bench-bulk-" + "k" * 50,
        "CELERY_BROKER_URL": REDIS_URL, "CELERY_RESULT_BACKEND": REDIS_URL, "CELERY_QUEUE_PREFIX": PREFIX,
        "EMAIL_URL": "dummymail://", "MEDIA_ROOT": str(MEDIA), "DB_CONN_MAX_AGE": "600",
        "LOG_LEVEL": "WARNING", "DJANGO_SETTINGS_MODULE": "kundefaktura.settings", "SITE_URL": "http://127.0.0.1",
    })
    return out


def recreate_database() -> None:
    import psycopg

    name = DB_URL.rsplit("/", 1)[-1]
    with psycopg.connect(DB_URL.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def seed():
    """Company, case worker and N_BASES draft bases with 10 lines each, through the services."""
    from billing import services
    from billing.models import CompanyProfile
    from kundefaktura.accounts.roles import CASEWORKER
    from kundefaktura.accounts.services import user_create

    CompanyProfile(pk=1, name="Fjordnett AS", orgnr="914588200", street="Kraftveien 1", postal_code="5003",
                   city="Bergen", email="kunde@fjordnett.no", bank_account="12345678903").save()
    worker = user_create(username="bench-bulk", role=CASEWORKER, password="Belastning-2025!")
    lines = [{"category": c, "description": d, "quantity": Decimal(q), "unit": u, "unit_price": Decimal(p)}
             for c, d, q, u, p in LINES]
    ids = []
    for i in range(N_BASES + 1):
        customer = services.customer_create(name=f"Kunde {i}", email=f"kunde{i}@example.com",
                                            street=f"Bakkeveien {i}", postal_code="5010", city="Bergen")
        basis, _ = services.basis_create(by=worker, title=f"Ny tilknytning, Bakkeveien {i}", customer=customer,
                                         site_street=f"Bakkeveien {i}", site_postal_code="5010",
                                         site_city="Bergen")
        services.lines_add(basis=basis, by=worker, lines=lines)
        ids.append(basis.pk)
    return worker, ids


def bare_html(worker, basis_id) -> str:
    """Send one offer of the same shape; its letter's HTML (self-contained, as a user would hand it to
    WeasyPrint), after one warm-up render (fonts, imports)."""
    import weasyprint
    from django.db import transaction

    from billing import services
    from billing.models import InvoiceBasis
    from offers import documents, renderers

    with transaction.atomic():
        offer = services.offer_send(basis=InvoiceBasis.objects.get(pk=basis_id), by=worker)
    html = renderers.get_renderer().html(documents.document("offer").template, documents.offer_context(offer))
    weasyprint.HTML(string=html).write_pdf()
    return html


def bare_renders(html, runs=RUNS) -> list[tuple[float, float]]:
    """`runs` bare WeasyPrint renders of `html`: (wall seconds, CPU seconds) of each."""
    import weasyprint

    out = []
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        weasyprint.HTML(string=html).write_pdf()
        out.append((time.perf_counter() - t0, time.process_time() - c0))
    return out


def median_ms(renders) -> tuple[float, float]:
    """(median wall ms, median CPU ms) of bare renders."""
    return (statistics.median(w for w, _c in renders) * 1000, statistics.median(c for _w, c in renders) * 1000)


def cpu_seconds(procs) -> float:
    """User + system CPU seconds the worker processes have used so far (/proc/<pid>/stat)."""
    total = 0
    for p in procs:
        fields = Path(f"/proc/{p.pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / os.sysconf("SC_CLK_TCK")


def start_workers(log_dir: Path) -> list[subprocess.Popen]:
    procs = []
    for n in range(WORKERS):
        log = open(log_dir / f"worker{n}.log", "w")  # noqa: SIM115 - closed with the process
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "kundefaktura", "worker", "--pool=solo", "--concurrency=1",
             "--loglevel=WARNING", "-Q", QUEUES, "--hostname", f"{PREFIX}{n}@%h", "--without-gossip",
             "--without-mingle", "--without-heartbeat"],
            cwd=ROOT, env=env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
    return procs


def stop_workers(procs) -> None:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def wait_ready(procs) -> None:
    """Each worker answers a ping (solo pool: a worker busy with one ping cannot take the other)."""
    from kundefaktura.celery import ping

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in procs):
            raise RuntimeError("a Celery worker exited at start; see its log")
        results = [ping.delay(f"w{n}") for n in range(WORKERS * 2)]
        try:
            if all(r.get(timeout=20) for r in results):
                return
        except Exception:  # noqa: BLE001 - not up yet
            time.sleep(0.5)
    raise RuntimeError("the Celery workers did not answer within 60 s")


def progress(job, basis_ids):
    from django.db.models import Count

    from billing.models import BulkJobItem, Offer
    from offers.models import OutboundEmail

    items = dict(job.items.order_by().values("status").annotate(n=Count("*")).values_list("status", "n"))
    finished = items.get(BulkJobItem.Status.DONE, 0) + items.get(BulkJobItem.Status.FAILED, 0)
    rendered = Offer.objects.filter(basis_id__in=basis_ids, pdf_sha256__gt="").count()
    emails = OutboundEmail.objects.filter(basis_id__in=basis_ids, kind=OutboundEmail.Kind.OFFER)
    return {"finished": finished, "failed": items.get(BulkJobItem.Status.FAILED, 0), "rendered": rendered,
            "queued": emails.count(), "sent": emails.filter(status=OutboundEmail.Status.SENT).count()}


def main() -> int:
    os.environ.update(env())
    import logging

    import django

    recreate_database()
    django.setup()
    logging.getLogger("weasyprint").setLevel(logging.WARNING)
    logging.getLogger("fontTools").setLevel(logging.WARNING)
    from django.core.management import call_command
    from django.db import connections, transaction

    from billing import services

    call_command("migrate", verbosity=0)
    t0 = time.perf_counter()
    worker, ids = seed()
    print(f"seeded {N_BASES} bases with {len(LINES)} lines each in {time.perf_counter() - t0:.0f} s "
          f"(database {DB_URL.rsplit('/', 1)[-1]}, media {MEDIA})", flush=True)
    html = bare_html(worker, ids.pop())
    bare_before = bare_renders(html)
    print("bare WeasyPrint before the workers start: median {:.0f} ms ({:.0f} ms CPU) per offer PDF ({} runs)"
          .format(*median_ms(bare_before), RUNS), flush=True)
    connections.close_all()
    procs = start_workers(MEDIA)
    try:
        wait_ready(procs)
        print(f"{WORKERS} Celery workers (solo pool) on {REDIS_URL}, queues {QUEUES}", flush=True)
        load_before = Path("/proc/loadavg").read_text().split()[:3]
        cpu_before = cpu_seconds(procs)
        start = time.perf_counter()
        with transaction.atomic():
            job = services.bulk_offer_send_start(bases=ids, by=worker)
        done_at = sent_at = None
        last = {}
        while time.perf_counter() - start < TIMEOUT_S:
            last = progress(job, ids)
            now = time.perf_counter() - start
            if done_at is None and last["finished"] == len(ids) and last["rendered"] + last["failed"] >= len(ids) \
                    and last["queued"] + last["failed"] >= len(ids):
                done_at = now
                worker_cpu = cpu_seconds(procs) - cpu_before
            if done_at is not None and last["sent"] + last["failed"] >= len(ids):
                sent_at = now
                break
            if any(p.poll() is not None for p in procs):
                raise RuntimeError("a Celery worker died during the run; see its log in " + str(MEDIA))
            time.sleep(0.25)
        load_after = Path("/proc/loadavg").read_text().split()[:3]
    finally:
        stop_workers(procs)
    if done_at is None:
        raise RuntimeError(f"not finished within {TIMEOUT_S} s: {last}")
    # The baseline brackets the run: as many bare renders after the workers stopped as before they
    # started, so a machine that is faster or slower for a while (shared CPUs) moves both sides.
    bare_after = bare_renders(html)
    bare_ms, bare_cpu_ms = median_ms(bare_before + bare_after)
    bare_rps = 1000 / bare_ms
    target = TARGET_SHARE * WORKERS * bare_rps
    print("bare WeasyPrint after the workers stopped: median {:.0f} ms ({:.0f} ms CPU) ({} runs); baseline: "
          "median of all {} runs {:.0f} ms ({:.0f} ms CPU), {:.2f} renders/s".format(
              *median_ms(bare_after), RUNS, 2 * RUNS, bare_ms, bare_cpu_ms, bare_rps), flush=True)
    docs_per_s = len(ids) / done_at
    # The load-independent view: the workers' CPU per document against bare WeasyPrint's CPU per render.
    cpu_per_doc_ms = worker_cpu / len(ids) * 1000
    ok = docs_per_s >= target and last["failed"] == 0
    print(f"bulk: {len(ids)} offers rendered and their e-mails queued in {done_at:.1f} s = {docs_per_s:.2f} "
          f"documents/s (target ≥ {TARGET_SHARE} × {WORKERS} × {bare_rps:.2f} = {target:.2f}); every e-mail "
          f"delivered after {sent_at:.1f} s; {last['failed']} failed; loadavg {' '.join(load_before)} → "
          f"{' '.join(load_after)}", flush=True)
    print(f"worker CPU per document (render, store, e-mail, job bookkeeping): {cpu_per_doc_ms:.0f} ms against "
          f"{bare_cpu_ms:.0f} ms CPU for a bare render: {bare_cpu_ms / cpu_per_doc_ms:.2f} of the bare rate per "
          f"worker", flush=True)
    print(json.dumps({"bench": "bulk_send", "bases": len(ids), "workers": WORKERS,
                      "bare_render_ms": round(bare_ms, 1), "bare_renders_per_s": round(bare_rps, 2),
                      "bare_render_ms_before": round(median_ms(bare_before)[0], 1),
                      "bare_render_ms_after": round(median_ms(bare_after)[0], 1),
                      "documents_per_s": round(docs_per_s, 2), "emails_queued_per_s": round(last["queued"] / done_at, 2),
                      "seconds": round(done_at, 1), "all_sent_seconds": round(sent_at, 1) if sent_at else None,
                      "failed": last["failed"], "target_documents_per_s": round(target, 2),
                      "bare_render_cpu_ms": round(bare_cpu_ms, 1), "worker_cpu_ms_per_document": round(cpu_per_doc_ms, 1),
                      "cpu_ratio": round(bare_cpu_ms / cpu_per_doc_ms, 3),
                      "ratio": round(docs_per_s / (WORKERS * bare_rps), 3), "target_ratio": TARGET_SHARE,
                      "loadavg": [load_before, load_after], "ok": ok}))
    return 0 if ok else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except RuntimeError as exc:
        print(f"bench/bulk_send.py: {exc}", file=sys.stderr)
        print(json.dumps({"bench": "bulk_send", "error": str(exc), "ok": False}))
        sys.exit(1)
