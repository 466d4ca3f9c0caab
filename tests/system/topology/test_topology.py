"""The production shape on one machine: two gunicorn processes, two Celery workers and beat on one
PostgreSQL database, one Redis and one S3 endpoint (moto's server on loopback), with a worker killed
(SIGKILL) mid-way. No process has a file the others need: every stored file is in the bucket.

200 bases go through bulk offer sending (HTTP, web process A), acceptance and invoicing (services in
this process, as the portal and the case worker would) and the ERP export (HTTP, web process B). The
render-only worker is killed while it renders; its unacknowledged task comes back after the
visibility timeout (CELERY_VISIBILITY_TIMEOUT, 10 s here) and the other worker finishes it.

Asserted: every e-mail reached the SMTP server exactly once, every document is stored once and its
bytes (SHA-256 as recorded) come back from both web processes, the export holds each invoice once,
and the worker's log lines are JSON with the task's context.

PDFs are made by the text renderer (DOCUMENT_RENDERER=text): 400 WeasyPrint renders would take
minutes and prove nothing about the topology.
"""

from __future__ import annotations

import collections
import contextlib
import csv
import hashlib
import io
import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.core.files.storage import default_storage
from django.test import Client
from django.urls import reverse

from billing import services
from billing.models import Invoice, InvoiceBasis, Offer
from billing.status import Status
from integrations.erp.models import ExportBatch
from offers.models import OutboundEmail, Receipt
from tests.conftest import ARTIFACTS_DIR, REPO_ROOT, free_port, redis_ping, require_service
from tests.support.celery_worker import reset_celery_connections, test_database_url
from tests.support.factories import add_line, make_basis, make_customer

pytestmark = [pytest.mark.topology, pytest.mark.long(150), pytest.mark.services, pytest.mark.django_db(transaction=True)]

BASES = int(os.environ.get("TOPOLOGY_BASES", "200"))
# Seconds for the flow up to the last invoice e-mail, and then for the export. Generous: the test is about
# correctness; on a busy 2-core machine 200 bases take a few minutes.
DEADLINE = float(os.environ.get("TOPOLOGY_DEADLINE", "900"))
EXPORT_DEADLINE = 120.0


class Processes:
    """Subprocesses of one test, each in its own session (so a kill reaches its children), with logs."""

    def __init__(self, tmp_path, env):
        self.tmp_path, self.env, self.procs = tmp_path, env, {}

    def start(self, name, *args):
        log = open(self.tmp_path / f"{name}.log", "w")
        self.procs[name] = subprocess.Popen([sys.executable, "-m", *args], cwd=REPO_ROOT, env=self.env,
                                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        return self.procs[name]

    def log(self, name) -> str:
        return (self.tmp_path / f"{name}.log").read_text(errors="replace")

    def wait_for(self, name, predicate, timeout=60):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.procs[name].poll() is not None:
                raise AssertionError(f"{name} exited early:\n{self.log(name)[-3000:]}")
            if predicate():
                return
            time.sleep(0.2)
        raise AssertionError(f"{name} not ready in {timeout} s:\n{self.log(name)[-3000:]}")

    def kill(self, name):
        os.killpg(self.procs[name].pid, signal.SIGKILL)
        self.procs[name].wait(timeout=10)

    def stop_all(self):
        for proc in self.procs.values():
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def _in_flight(log: str) -> list[str]:
    """Ids of render-queue tasks (a document render, or an e-mail's documents rendered before its send)
    the worker took and has not finished (acks_late: not acknowledged either)."""
    tasks = r"Task offers\.(?:document_render|email_prepare)\[([0-9a-f-]+)\]"
    received = re.findall(tasks + r" received", log)
    done = set(re.findall(tasks + r" (?:succeeded|failed|raised|retry)", log))
    return [t for t in received if t not in done]


def _kill_inside_a_task(procs, name, timeout=10.0) -> list[str]:
    """SIGKILL worker `name` while its log shows a task taken and unfinished (or at the timeout)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end and not _in_flight(procs.log(name)):
        time.sleep(0.005)
    procs.kill(name)
    return _in_flight(procs.log(name))


def _http_ok(url) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


@pytest.fixture
def topology(tmp_path, settings, redis_url, smtp_sink, s3_server, s3_storage):
    """Web A and B (gunicorn), worker `render` (render queue only) and worker `main` (every queue),
    beat; this process publishes to the same queues."""
    require_service("Redis", lambda: redis_ping(redis_url))
    prefix = f"kf-topo-{uuid.uuid4().hex[:8]}-"
    media = tmp_path / "media"  # stays empty: files go to the bucket
    media.mkdir()
    ports = {"web_a": free_port(), "web_b": free_port()}
    env = {**os.environ, "KF_TESTING": "1", "DATABASE_URL": test_database_url(), "CELERY_BROKER_URL": redis_url,
           "CELERY_RESULT_BACKEND": redis_url, "CELERY_QUEUE_PREFIX": prefix, "CELERY_VISIBILITY_TIMEOUT": "10",
           "EMAIL_URL": f"smtp://127.0.0.1:{settings.EMAIL_PORT}", "MEDIA_ROOT": str(media),
           "DOCUMENT_RENDERER": "text", "ALLOWED_HOSTS": "127.0.0.1,localhost", "LOG_FORMAT": "json",
           "SITE_URL": f"http://127.0.0.1:{ports['web_a']}", "ERP_ADAPTER": "demo",
           "ERP_DROP_DIR": str(tmp_path / "erp-drop"), **s3_server.env(s3_storage)}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    env.pop("DB_CONN_MAX_AGE", None)  # persistent connections, as in production
    settings.CELERY_BROKER_URL = settings.CELERY_RESULT_BACKEND = redis_url
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_QUEUE_NAMES = {role: f"{prefix}{role}" for role in ("default", "render", "email")}
    settings.CELERY_TASK_DEFAULT_QUEUE = f"{prefix}default"
    settings.MEDIA_ROOT = media
    settings.DOCUMENT_RENDERER = "text"
    reset_celery_connections()
    procs = Processes(tmp_path, env)
    queues = settings.CELERY_QUEUE_NAMES
    worker = ["celery", "-A", "kundefaktura", "worker", "--loglevel=INFO", "--without-gossip", "--without-mingle"]
    try:
        for name, port in ports.items():
            procs.start(name, "gunicorn", "kundefaktura.wsgi:application", "-b", f"127.0.0.1:{port}", "-w", "1",
                        "--timeout", "120", "-c", "python:kundefaktura.gunicorn")
        procs.start("render", *worker, "--pool=solo", "-Q", queues["render"], "-n", f"render-{prefix}@%h")
        procs.start("main", *worker, "--pool=prefork", "--concurrency=2", "-n", f"main-{prefix}@%h",
                    "-Q", ",".join([queues["default"], queues["email"], queues["render"]]))
        procs.start("beat", "celery", "-A", "kundefaktura", "beat", "--loglevel=INFO",
                    "--schedule", str(tmp_path / "beat-schedule"))
        for name, port in ports.items():
            procs.wait_for(name, lambda p=port: _http_ok(f"http://127.0.0.1:{p}/healthz"))
        for name in ("render", "main"):
            procs.wait_for(name, lambda n=name: " ready." in procs.log(n))
        procs.wait_for("beat", lambda: "beat: Starting" in procs.log("beat"))
        yield {"procs": procs, "ports": ports, "media": media, "smtp": smtp_sink, "prefix": prefix,
               "bucket": s3_storage, "s3": s3_server}
    finally:
        procs.stop_all()
        reset_celery_connections()
        import redis

        leftovers = redis.Redis.from_url(redis_url)  # this run's queues (beat's last sweeps) go with it
        for key in leftovers.scan_iter(match=f"{prefix}*"):
            leftovers.delete(key)
        keep = ARTIFACTS_DIR / "topology"  # every process's log, for a failure in CI
        keep.mkdir(parents=True, exist_ok=True)
        for name in procs.procs:
            (keep / f"{name}.log").write_text(procs.log(name))
            print(f"--- {name} (last lines, whole log in {keep})\n{procs.log(name)[-1500:]}")


def _session(port, cookies) -> requests.Session:
    http = requests.Session()
    for key, value in cookies.items():
        http.cookies.set(key, value, domain="127.0.0.1")
    return http


def _post(http, base, path, data):
    """A form POST with the CSRF cookie a GET of the work list gave (as a browser would)."""
    if "csrftoken" not in http.cookies:
        http.get(f"{base}/arbeid/", timeout=30).raise_for_status()
    response = http.post(f"{base}{path}", data={**data, "csrfmiddlewaretoken": http.cookies["csrftoken"]},
                         allow_redirects=False, timeout=60)
    assert response.status_code == 302, (path, response.status_code, response.text[:500])
    return response


def test_two_web_two_workers_and_beat_with_a_worker_killed(topology, company, caseworker):
    procs, ports, smtp = topology["procs"], topology["ports"], topology["smtp"]
    web_a, web_b = (f"http://127.0.0.1:{ports[k]}" for k in ("web_a", "web_b"))
    started = time.monotonic()

    bases = []
    for i in range(BASES):
        basis = make_basis(by=caseworker, title=f"Tilknytning {i}",
                           customer=make_customer(name=f"Kunde {i}", email=f"kunde{i}@example.com"))
        add_line(basis, caseworker, unit_price=f"{1000 + i}.00")
        bases.append(basis)
    setup_s = time.monotonic() - started

    login = Client()
    login.force_login(caseworker, backend="django.contrib.auth.backends.ModelBackend")
    cookies = {"sessionid": login.cookies["sessionid"].value}
    http_a, http_b = _session(ports["web_a"], cookies), _session(ports["web_b"], cookies)

    # Bulk offer sending through web process A: one task per basis on the default queue.
    _post(http_a, web_a, reverse("billing:bulk_send_offers"), {"ids": [b.pk for b in bases]})

    ids = [b.pk for b in bases]
    killed_at, lost = None, []
    accepted, invoiced = set(), set()
    end = time.monotonic() + DEADLINE
    while time.monotonic() < end:
        rendered = Offer.objects.filter(basis_id__in=ids).exclude(pdf_sha256="").count()
        if killed_at is None and rendered >= BASES // 4:
            lost = _kill_inside_a_task(procs, "render")  # its task was taken, not acknowledged
            killed_at = rendered
        # Customers accept an offer once its PDF is there (the portal shows the stored PDF) ...
        for basis in InvoiceBasis.objects.filter(pk__in=ids, status=Status.OFFER_SENT,
                                                 offers__pdf_sha256__gt="").exclude(pk__in=accepted)[:40]:
            services.offer_accept(basis=basis, by=None)
            accepted.add(basis.pk)
        # ... and the case worker invoices accepted bases.
        for basis in InvoiceBasis.objects.filter(pk__in=ids, status=Status.ACCEPTED).exclude(pk__in=invoiced)[:40]:
            services.invoices_issue(basis=basis, by=caseworker)
            invoiced.add(basis.pk)
        waiting = OutboundEmail.objects.exclude(status=OutboundEmail.Status.SENT).count()
        unrendered = Invoice.objects.filter(basis_id__in=ids, pdf_sha256="").count()
        if len(invoiced) == BASES and not waiting and not unrendered:
            break
        time.sleep(0.3)
    flow_s = time.monotonic() - started - setup_s
    assert killed_at is not None, "the render worker was never killed"
    assert procs.procs["render"].returncode == -signal.SIGKILL
    assert len(invoiced) == BASES, (f"{len(invoiced)} of {BASES} invoiced in {DEADLINE} s; e-mails: "
                                    f"{collections.Counter(OutboundEmail.objects.values_list('status', flat=True))}")

    # The task the killed worker held came back (after the visibility timeout) to the main worker.
    end = time.monotonic() + 60
    while lost and time.monotonic() < end and not all(f"[{t}] succeeded" in procs.log("main") for t in lost):
        time.sleep(0.3)
    for task_id in lost:
        assert f"[{task_id}] succeeded" in procs.log("main"), f"task {task_id} was lost"
    assert lost, "the render worker was killed while it held no task"

    # The nightly export, started from web process B; the main worker writes and delivers the batch.
    _post(http_b, web_b, reverse("erp:export_start"), {})
    end = time.monotonic() + EXPORT_DEADLINE
    while time.monotonic() < end and not ExportBatch.objects.filter(status=ExportBatch.Status.DELIVERED).exists():
        time.sleep(0.3)
    batch = ExportBatch.objects.get()
    assert batch.status == ExportBatch.Status.DELIVERED, (batch.status, batch.last_error)

    # Every e-mail exactly once: offer, acceptance and invoice per basis, as many as the outbox rows.
    emails = list(OutboundEmail.objects.values_list("to", "subject", "status"))
    assert {s for _t, _s, s in emails} == {"sent"}
    assert len(emails) >= 3 * BASES
    received = collections.Counter((str(m["To"]), " ".join(str(m["Subject"]).split())) for m in smtp.messages)
    assert sum(received.values()) == len(emails), "an e-mail was sent twice, or not at all"
    assert received == collections.Counter((to, " ".join(subject.split())) for to, subject, _s in emails)

    # Every document stored once; its bytes are what was recorded, from either web process.
    docs = [("offer", o) for o in Offer.objects.filter(basis_id__in=ids)]
    docs += [("invoice", i) for i in Invoice.objects.filter(basis_id__in=ids)]
    docs += [("receipt", r) for r in Receipt.objects.filter(basis_id__in=ids)]
    assert len(docs) == 3 * BASES, "an offer, an invoice and the receipt of the acceptance per basis"
    names = [doc.pdf.name for _k, doc in docs]
    assert all(names) and len(set(names)) == len(names)
    export_s = time.monotonic() - started - setup_s - flow_s

    def read_stored(some):  # straight from the bucket, through this process's storage backend
        out = []
        for _kind, doc in some:
            with default_storage.open(doc.pdf.name, "rb") as fh:
                out.append((doc.pdf.name, doc.pdf_sha256, hashlib.sha256(fh.read()).hexdigest()))
        return out

    def download(http, base, some):  # one thread per web process (each runs one sync gunicorn worker)
        return [(kind, doc.pk, doc.pdf_sha256, http.get(base + reverse("offers:pdf", args=[kind, doc.pk]),
                                                        timeout=30)) for kind, doc in some]

    # Every document from one web process, every other one from the other, one in ten from both; and
    # every document read from the bucket by this process. The three read at the same time: each web
    # process serves one request at a time, and the waits on S3 overlap.
    with ThreadPoolExecutor(4) as pool:
        got = pool.submit(download, http_a, web_a, [d for n, d in enumerate(docs) if n % 2 == 0 or n % 10 == 1])
        got_b = pool.submit(download, http_b, web_b, [d for n, d in enumerate(docs) if n % 2 == 1 or n % 10 == 0])
        stored_reads = [pool.submit(read_stored, docs[half::2]) for half in (0, 1)]
        read_back = [row for future in stored_reads for row in future.result()]
        responses = got.result() + got_b.result()
    assert len(read_back) == len(docs)
    for name, recorded, sha in read_back:
        assert sha == recorded, name
    assert len(responses) == len(docs) + sum(1 for n in range(len(docs)) if n % 10 in (0, 1))
    for kind, pk, sha, response in responses:
        assert response.status_code == 200, (response.url, response.status_code)
        assert hashlib.sha256(response.content).hexdigest() == sha, (kind, pk)
    download_s = time.monotonic() - started - setup_s - flow_s - export_s

    # One object per stored file (documents, the export's CSV, EHF and receipts archives), nothing on local disk.
    # The killed worker may have uploaded its PDF before dying, before its transaction committed: that
    # object is a stray no row names (the redelivered task stored the document under a new name).
    keys = topology["s3"].names(topology["bucket"])
    stored = {*names, batch.csv_file, batch.ehf_archive, batch.receipts_archive}
    assert stored <= keys, sorted(stored - keys)[:5]
    strays = keys - stored
    assert len(strays) <= len(lost) and all(k.startswith(("offers/", "receipts/")) for k in strays), sorted(strays)
    assert not any(topology["media"].rglob("*")), "a process wrote a file to local disk"

    # The export holds each invoice once.
    with default_storage.open(batch.csv_file, "rb") as fh:
        text = fh.read().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=";" if ";" in text.splitlines()[0] else ","))
    numbers = collections.Counter(row[2] for row in rows[1:] if row and row[0] == "invoice")
    expected = {str(n) for n in Invoice.objects.filter(basis_id__in=ids).values_list("number", flat=True)}
    assert set(numbers) == expected and set(numbers.values()) == {1}
    assert batch.items.count() == len(expected)

    assert procs.procs["beat"].poll() is None and procs.procs["main"].poll() is None

    # The main worker logged JSON lines with the task's context (LOG_FORMAT=json).
    lines = [json.loads(line) for line in procs.log("main").splitlines() if line.startswith("{")]
    assert any(line.get("task") == "offers.email_send" and line.get("task_id") for line in lines)
    print(f"topology: {BASES} bases, setup {setup_s:.1f} s, flow {flow_s:.1f} s, export {export_s:.1f} s, "
          f"downloads {download_s:.1f} s, checks {time.monotonic() - started - setup_s - flow_s - export_s - download_s:.1f} s, render worker killed after "
          f"{killed_at} offers rendered holding {lost}, {len(strays)} stray object(s), {len(emails)} e-mails, {len(docs)} documents")
