"""Load benchmark: gunicorn on PostgreSQL with 20 000 invoice bases and 200 000 cost lines, driven by wrk.

    .venv/bin/python bench/load.py                 # PostgreSQL database kf_load (created if missing)
    .venv/bin/python bench/load.py --reseed        # drop and re-create the database, seed again
    .venv/bin/python bench/load.py --tune          # also measure the work list under other gunicorn settings
    .venv/bin/python bench/load.py --profile       # cProfile of one work-list and one basis-page request
    BENCH_DATABASE_URL=postgres://…/other …        # another scratch database (dropped by --reseed!)

Prerequisite: Debian's `wrk` (`apt-get install wrk`; `make bench` installs it). The bench installs
nothing itself and stops with a clear message when wrk is missing.

What it does:
1. Seeds (once; reused while the counts are right) 20 000 bases with 10 lines each, 6 000 customers,
   realistic statuses (draft … paid, cancelled), offers, acceptances, issued invoices with snapshot
   lines and payments for the invoiced/paid ones, audit events for every step. **Bench shortcut
   (documented):** these rows are bulk_created directly, not made through billing.services, so
   200 000 lines take about a minute instead of an hour; amounts and totals still come from
   billing.money. The few rows the pages under test act on (the case worker, the portal customer
   and their offer, the API client, the bases the batch API posts to) are made through the real
   services.
2. Starts gunicorn (production settings: DEBUG off, SECRET_KEY set, ALLOWED_HOSTS 127.0.0.1; only
   SECURE_SSL_REDIRECT=false is passed so plain http works on loopback) on a free loopback port.
3. Logs in as the case worker and the customer by POSTing the login form (CSRF token from the GET),
   and hands the session cookie to wrk (a second process; bench/load.lua).
4. Runs, each for --duration seconds after a short warm-up: the work list (20 users, eight views of it
   in turn: paging, sorting, status chips, filters, a search — WORKLIST_PATHS),
   basis pages /arbeid/grunnlag/<id>/ (20 users, 200 different bases), the portal offer page
   /portal/grunnlag/<id>/ (20 users), and POST /api/v1/invoice-bases/{id}/cost-lines/batch with 1000
   lines per request (4 clients, new line references every request).
5. Runs the work list once more with the page cache switched off (PAGE_CACHE_ENABLED=false): the cost
   of a request that renders everything, as after every write. Reported beside the target, not judged.
6. Prints requests/s and p50/p95 for each and, as the last line, one JSON object with the figures,
   the targets and ok; exit 1 when a target is missed. gunicorn is stopped at the end, also on errors.

Everything stays on 127.0.0.1; every wrk run is bounded by --duration, every HTTP call by a timeout.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DB_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://root@127.0.0.1:5432/kf_load")
HOST = "127.0.0.1"
LUA = ROOT / "bench" / "load.lua"
VENV_BIN = Path(sys.executable).parent

N_BASES = 20_000
LINES_PER_BASIS = 10
N_CUSTOMERS = 6_000
SEED_PREFIX = "LOADSEED-"
CASEWORKER = ("bench-saksbehandler", "Belastning-2025!")
CUSTOMER = ("bench-kunde", "Belastning-2025!")

TARGET_WORKLIST_RPS = 150
TARGET_WORKLIST_P95_MS = 250
TARGET_BATCH_LINES_PER_S = 2000
USERS = 20
# The work list as case workers use it: first page, paging, sorting, status chips, filters and a search,
# requested round-robin (each wrk thread starts at a different one).
WORKLIST_PATHS = ["/arbeid/", "/arbeid/?page=2", "/arbeid/?sort=customer", "/arbeid/?status=offer_sent",
                  "/arbeid/?status=invoiced&page=3", "/arbeid/?q=Bakkeveien", "/arbeid/?overdue=on",
                  "/arbeid/?sort=-number&per_page=100"]
BATCH_CLIENTS = 4
BATCH_LINES = 1000

# The statuses of the seeded bases (share of 100) and what each has been through.
STATUS_MIX = [("draft", 24), ("offer_sent", 18), ("accepted", 14), ("declined", 3), ("expired", 4),
              ("invoiced", 17), ("paid", 17), ("cancelled", 3)]
LINE_TEMPLATES = [
    ("connection_contribution", "Materiell (kabel, kabelskap, sikringer)", "1", "stk", "18450.00"),
    ("connection_contribution", "Eget arbeid, montør", "12.5", "t", "845.00"),
    ("connection_contribution", "Gravemaskin", "4", "t", "1150.00"),
    ("connection_contribution", "Entreprenør, graving og legging", "1", "stk", "23780.40"),
    ("connection_contribution", "Kabel TFXP 4x50", "35", "m", "189.00"),
    ("connection_contribution", "Kabelskap med sikringer", "1", "stk", "7420.00"),
    ("connection_contribution", "Prosjektering", "3", "t", "1095.00"),
    ("connection_contribution", "Trafoarbeid, andel", "1", "stk", "5600.00"),
    ("meter_work", "Bytte av måler", "1", "stk", "2400.00"),
    ("resealing", "Replombering av måler", "1", "stk", "1200.00"),
]
FIRST = ["Kari", "Ola", "Ingrid", "Per", "Sigrid", "Lars", "Astrid", "Knut", "Marit", "Nils", "Solveig", "Jon",
         "Liv", "Arne", "Eli", "Bjørn", "Hilde", "Tor", "Anne", "Geir"]
LAST = ["Nordmann", "Hansen", "Johansen", "Olsen", "Larsen", "Andersen", "Pedersen", "Nilsen", "Kristiansen",
        "Jensen", "Karlsen", "Berg", "Haugen", "Hagen", "Bakken", "Solberg", "Lunde", "Dahl", "Moen", "Strand"]
STREETS = ["Bakkeveien", "Fjellveien", "Strandgata", "Kirkeveien", "Skogveien", "Havnegata", "Solbakken",
           "Elvegata", "Lia", "Myrveien", "Granveien", "Furuveien"]
CITIES = [("5003", "Bergen"), ("5010", "Bergen"), ("5221", "Nesttun"), ("5300", "Kleppestø"),
          ("5700", "Voss"), ("6800", "Førde"), ("5500", "Haugesund"), ("4000", "Stavanger")]
TITLES = ["Ny tilknytning, {s}", "Utvidet kapasitet, {s}", "Flytting av stikkledning, {s}",
          "Garasje med lader, {s}", "Boligfelt, tomt {n}", "Målerbytte, {s}", "Hyttetilknytning, {s}"]


class BenchError(Exception):
    pass


# --- environment ------------------------------------------------------------------------------------


def server_env(port: int) -> dict:
    """Production settings for gunicorn (and for the seeding process). Only what plain http on loopback
    needs is relaxed, through environment variables — settings.py keeps its production defaults."""
    env = {k: v for k, v in os.environ.items() if k not in ("KF_TESTING", "DEBUG", "CELERY_BROKER_URL")}
    env.update({
        "DATABASE_URL": DB_URL,
        "DEBUG": "false",
        "SECRET_KEY": "bench-load-" + "k" * 50,
        "ALLOWED_HOSTS": HOST,
        "SITE_URL": f"http://{HOST}:{port}",
        "CSRF_TRUSTED_ORIGINS": f"http://{HOST}:{port}",
        "SECURE_SSL_REDIRECT": "false",
        "SECURE_HSTS_SECONDS": "0",
        "DB_CONN_MAX_AGE": "600",
        "LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "kundefaktura.settings",
    })
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def ensure_database(reseed: bool) -> None:
    import psycopg

    parts = urlsplit(DB_URL)
    name = parts.path.lstrip("/")
    admin = parts._replace(path="/postgres", scheme="postgresql").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists and reseed:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            exists = None
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


# --- seeding ------------------------------------------------------------------------------------------


def _valid_orgnrs(count: int) -> list[str]:
    from billing import norwegian

    out, n = [], 910000000
    while len(out) < count:
        n += 1
        if norwegian.orgnr_valid(str(n)):
            out.append(str(n))
    return out


def seeded() -> bool:
    from billing.models import CostLine, InvoiceBasis

    return (InvoiceBasis.objects.filter(reference__startswith=SEED_PREFIX).count() == N_BASES
            and CostLine.objects.filter(basis__reference__startswith=SEED_PREFIX).count() == N_BASES * LINES_PER_BASIS)


def seed() -> None:
    """Bulk seed (bench shortcut, see the module docstring). Deterministic: row i always gets the same data."""
    from django.db import connection, transaction

    from billing import money, norwegian, services
    from billing.demo import COMPANY
    from billing.models import (
        Acceptance,
        AuditEvent,
        CompanyProfile,
        CostCategory,
        CostLine,
        Customer,
        Invoice,
        InvoiceBasis,
        InvoiceLine,
        NumberSeries,
        Offer,
        Payment,
    )

    if CompanyProfile.objects.filter(pk=1).first() is None:
        profile = CompanyProfile(pk=1, **COMPANY)
        profile.full_clean()
        profile.save()
    profile = CompanyProfile.load()
    seller = services.seller_snapshot(profile)
    categories = {c.code: c for c in CostCategory.objects.select_related("default_vat")}
    worker = ensure_user(*CASEWORKER, "caseworker")
    now = dt.datetime.now(dt.UTC)
    today = dt.date.today()
    year = today.year

    orgnrs = _valid_orgnrs(50)
    t0 = time.perf_counter()
    with transaction.atomic():
        customers = []
        for i in range(N_CUSTOMERS):
            postal, city = CITIES[i % len(CITIES)]
            street = f"{STREETS[i % len(STREETS)]} {i % 97 + 1}"
            if i % 7 == 0:
                customers.append(Customer(kind="organisation", name=f"{LAST[i % len(LAST)]} Bygg AS {i}",
                                          orgnr=orgnrs[i % len(orgnrs)], email=f"faktura{i}@bygg.example",
                                          street=street, postal_code=postal, city=city,
                                          erp_customer_number=str(200000 + i)))
            else:
                customers.append(Customer(name=f"{FIRST[i % len(FIRST)]} {LAST[(i // len(FIRST)) % len(LAST)]}",
                                          email=f"kunde{i}@example.com", phone=f"+47 4{i:07d}", street=street,
                                          postal_code=postal, city=city, erp_customer_number=str(200000 + i)))
        customers = Customer.objects.bulk_create(customers, batch_size=2000)
    print(f"  {len(customers)} customers in {time.perf_counter() - t0:.1f} s", flush=True)

    statuses = [s for s, share in STATUS_MIX for _ in range(share)]
    invoice_no = NumberSeries.objects.get_or_create(name=services.INVOICE_SERIES)[0].next_value
    chunk = 2000
    for start in range(0, N_BASES, chunk):
        t1 = time.perf_counter()
        with transaction.atomic():
            bases = []
            for i in range(start, start + chunk):
                customer = customers[(i * 7919) % N_CUSTOMERS]
                status = statuses[(i * 31) % len(statuses)]
                postal, city = CITIES[i % len(CITIES)]
                street = f"{STREETS[(i // 3) % len(STREETS)]} {i % 211 + 1}"
                created = now - dt.timedelta(days=(N_BASES - i) * 730 / N_BASES, minutes=i % 600)
                offered = status not in ("draft",) and not (status == "cancelled" and i % 2)
                accepted = status in ("accepted", "invoiced", "paid")
                b = InvoiceBasis(
                    number=f"FG-{year}-{i + 1:06d}", reference=f"{SEED_PREFIX}{i + 1:06d}",
                    title=TITLES[i % len(TITLES)].format(s=street, n=i % 40 + 1), customer=customer,
                    site_street=street, site_postal_code=postal, site_city=city,
                    metering_point_id=f"707057500{i + 1:09d}", order_date=(created - dt.timedelta(days=5)).date(),
                    status=status, prepayment_required=i % 10 == 0, created_by=worker,
                    source=("manual", "nettmelding", "work_order", "product_order")[i % 4],
                    offer_version=1 if offered else 0,
                    offer_valid_until=(created + dt.timedelta(days=30 if status != "offer_sent" else 400)).date()
                    if offered else None,
                    accepted_at=created + dt.timedelta(days=6) if accepted else None,
                    work_released_at=created + dt.timedelta(days=6) if accepted else None)
                b._seed = {"created": created, "offered": offered, "accepted": accepted}
                bases.append(b)
            InvoiceBasis.objects.bulk_create(bases)

            lines, offers, events, acceptances = [], [], [], []
            invoices, invoice_rows, payments = [], [], []
            for b in bases:
                i = int(b.reference[len(SEED_PREFIX):]) - 1
                created = b._seed["created"]
                specs = []
                for k, (cat, text, qty, unit, price) in enumerate(LINE_TEMPLATES):
                    q = Decimal(qty) * (1 + (i + k) % 3) if unit in ("t", "m") else Decimal(qty)
                    p = Decimal(price)
                    c = categories[cat]
                    specs.append((c, text, q, unit, p, c.default_vat, money.line_amount(q, p), k + 1))
                b._lines = specs
                totals = money.totals((s[5].code, s[5].rate, s[6]) for s in specs)
                events.append(AuditEvent(basis=b, action="billing.basis.created", to_status="draft",
                                         actor_user=worker, actor_label=worker.username,
                                         data={"number": b.number}))
                if b._seed["offered"]:
                    offers.append(Offer(basis=b, version=1, valid_until=b.offer_valid_until, net=totals.net,
                                        vat=totals.vat, gross=totals.gross, sent_by=worker, snapshot={
                                            "lines": [{"category": s[0].code, "description": s[1],
                                                       "quantity": str(s[2]), "unit": s[3],
                                                       "unit_price": str(s[4]), "amount": str(s[6]),
                                                       "vat_code": s[5].code, "customer_caused": False}
                                                      for s in specs], "base_deduction": "0.00"}))
                    events.append(AuditEvent(basis=b, action="billing.basis.offer_sent", from_status="draft",
                                             to_status="offer_sent", actor_user=worker, actor_label=worker.username,
                                             data={"version": 1, "gross": str(totals.gross)}))
                if b.status in ("declined", "expired", "cancelled") and b._seed["offered"]:
                    events.append(AuditEvent(basis=b, action=f"billing.basis.{b.status}", from_status="offer_sent",
                                             to_status=b.status, actor_label="Kunde"))
                if b._seed["accepted"]:
                    events.append(AuditEvent(basis=b, action="billing.basis.accepted", from_status="offer_sent",
                                             to_status="accepted", actor_label="Kunde"))
                    events.append(AuditEvent(basis=b, action="billing.basis.work_released", actor_label="System"))
                b._invoices = []
                if b.status in ("invoiced", "paid"):
                    issue = (created + dt.timedelta(days=20)).date()
                    buyer = services.buyer_snapshot(b)
                    for regime, group in (("O", [s for s in specs if s[5].code == "O"]),
                                          ("taxable", [s for s in specs if s[5].code != "O"])):
                        t = money.totals((s[5].code, s[5].rate, s[6]) for s in group)
                        inv = Invoice(basis=b, kind="ordinary", series=services.INVOICE_SERIES, number=invoice_no,
                                      status="paid" if b.status == "paid" else "issued", issue_date=issue,
                                      due_date=issue + dt.timedelta(days=profile.due_days), delivery_date=issue,
                                      kid=norwegian.kid_generate(str(invoice_no), profile.kid_scheme,
                                                                 max(profile.kid_length, len(str(invoice_no)) + 1)),
                                      vat_regime=regime, seller=seller, buyer=buyer, net_total=t.net,
                                      vat_total=t.vat, gross_total=t.gross,
                                      vat_breakdown=services.breakdown_json(t), created_by=worker)
                        inv._group = group
                        invoice_no += 1
                        invoices.append(inv)
                        b._invoices.append(inv)
                        events.append(AuditEvent(basis=b, action="billing.invoice.issued", from_status="accepted",
                                                 to_status="invoiced", actor_user=worker, actor_label=worker.username,
                                                 data={"number": inv.number, "gross": str(t.gross)}))
            Invoice.objects.bulk_create(invoices)
            Offer.objects.bulk_create(offers)
            by_basis = {o.basis_id: o for o in offers}
            for b in bases:
                if b._seed["accepted"]:
                    acceptances.append(Acceptance(basis=b, offer=by_basis[b.pk], channel="portal",
                                                  offer_version=1, ip_address="10.0.0.1"))
                for c, text, q, unit, p, v, amount, pos in b._lines:
                    inv = next((x for x in b._invoices if (v.code == "O") == (x.vat_regime == "O")), None)
                    lines.append(CostLine(basis=b, source=b.source,
                                          category=c, description=text, quantity=q, unit=unit, unit_price=p,
                                          amount=amount, vat_code=v, position=pos, invoice=inv, created_by=worker))
            Acceptance.objects.bulk_create(acceptances)
            CostLine.objects.bulk_create(lines, batch_size=5000)
            for ln in lines:
                if ln.invoice is not None:
                    invoice_rows.append(InvoiceLine(
                        invoice=ln.invoice, position=ln.position, cost_line=ln, category_code=ln.category.code,
                        category_label=ln.category.label, description=ln.description, quantity=ln.quantity,
                        unit=ln.unit, unit_price=ln.unit_price, amount=ln.amount, vat_code=ln.vat_code.code,
                        vat_rate=ln.vat_code.rate))
            InvoiceLine.objects.bulk_create(invoice_rows, batch_size=5000)
            for inv in invoices:
                if inv.status == "paid":
                    payments.append(Payment(invoice=inv, method="bank_transfer", amount=inv.gross_total,
                                            status="confirmed", provider="bank", provider_reference=f"SEED-{inv.kid}",
                                            confirmed_at=now))
                    events.append(AuditEvent(basis=inv.basis, action="billing.payment.confirmed",
                                             actor_label="Bank", data={"invoice": inv.number}))
            for b in bases:
                if b.status == "paid":
                    events.append(AuditEvent(basis=b, action="billing.basis.paid", from_status="invoiced",
                                             to_status="paid", actor_label="System"))
            Payment.objects.bulk_create(payments)
            AuditEvent.objects.bulk_create(events, batch_size=5000)
        print(f"  bases {start + 1}–{start + chunk}: {len(lines)} lines, {len(invoices)} invoices, "
              f"{len(events)} events in {time.perf_counter() - t1:.1f} s", flush=True)

    with transaction.atomic(), connection.cursor() as cur:
        # auto_now_add stamped every row "now": spread them over two years like a real history.
        cur.execute("""UPDATE billing_invoicebasis b SET created_at = now() - make_interval(
                         days => (20000 - substr(b.reference, 10)::int) * 730 / 20000, mins => (b.id %% 600)::int)
                       WHERE b.reference LIKE %s""", [SEED_PREFIX + "%"])
        cur.execute("""UPDATE billing_auditevent e SET at = b.created_at + make_interval(days => (e.id %% 30)::int)
                       FROM billing_invoicebasis b WHERE e.basis_id = b.id AND b.reference LIKE %s""",
                    [SEED_PREFIX + "%"])
        NumberSeries.objects.update_or_create(name=f"FG-{year}", defaults={"next_value": N_BASES + 1})
        NumberSeries.objects.update_or_create(name=services.INVOICE_SERIES, defaults={"next_value": invoice_no})
    print(f"seeded {N_BASES} bases, {N_BASES * LINES_PER_BASIS} lines in {time.perf_counter() - t0:.0f} s", flush=True)


def ensure_user(username, password, role):
    from django.contrib.auth import get_user_model

    from kundefaktura.accounts.services import user_create

    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        user = user_create(username=username, role=role, password=password)
    elif not user.check_password(password):
        user.set_password(password)
        user.save(update_fields=["password"])
    return user


def prepare_run(run: str) -> dict:
    """Rows the measured requests act on, made through the real services (cheap, a few per run)."""
    from billing import services
    from billing.models import Customer, InvoiceBasis
    from integrations.services import api_client_create

    worker = ensure_user(*CASEWORKER, "caseworker")
    kunde = ensure_user(*CUSTOMER, "customer")
    customer = Customer.objects.filter(user=kunde).first()
    if customer is None:
        customer = services.customer_create(name="Kari Belastning", email="kari.belastning@example.com",
                                            street="Bakkeveien 2", postal_code="5010", city="Bergen")
        customer.user = kunde
        customer.save(update_fields=["user"])
    offer_basis = InvoiceBasis.objects.filter(customer=customer, status="offer_sent").first()
    if offer_basis is None:
        offer_basis, _ = services.basis_create(by=worker, title="Ny tilknytning, Bakkeveien 2", customer=customer,
                                               site_street="Bakkeveien 2", site_postal_code="5010",
                                               site_city="Bergen")
        services.lines_add(basis=offer_basis, by=worker, lines=[
            {"category": c, "description": d, "quantity": Decimal(q), "unit": u, "unit_price": Decimal(p)}
            for c, d, q, u, p in LINE_TEMPLATES])
        services.offer_send(basis=offer_basis, by=worker)
    cleanup()  # what an interrupted earlier run left behind
    client, token = api_client_create(name=f"Belastningstest {run}")
    targets = []
    for k in range(BATCH_CLIENTS * 8):
        basis, _ = services.basis_create(by=worker, title=f"Arbeidsordre {run}-{k}", customer=customer,
                                         reference=f"LOADAPI-{run}-{k}", source="work_order")
        targets.append(basis.pk)
    seeded_ids = list(InvoiceBasis.objects.filter(reference__startswith=SEED_PREFIX)
                      .order_by("?").values_list("pk", flat=True)[:200])
    return {"token": token, "offer_basis": offer_basis.pk, "batch_bases": targets, "detail_bases": seeded_ids}


def cleanup() -> None:
    """Remove the bases the batch API filled (and their API clients), so every run measures the same
    data: the newest bases are the first page of the work list. Then VACUUM ANALYZE, as autovacuum
    would have done on a live system (index-only scans need the visibility map)."""
    from django.db import connection

    from billing.models import InvoiceBasis
    from integrations.models import ApiClient

    InvoiceBasis.objects.filter(reference__startswith="LOADAPI-").delete()
    ApiClient.objects.filter(name__startswith="Belastningstest ").delete()
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE")


# --- HTTP: log in and hand the cookie to wrk ------------------------------------------------------------


def _request(port, method, path, body=None, headers=None):
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.getheaders(), resp.read().decode("utf-8", "replace")
    finally:
        conn.close()


def _cookies(headers) -> dict:
    out = {}
    for name, value in headers:
        if name.lower() == "set-cookie":
            k, _, v = value.split(";", 1)[0].partition("=")
            out[k.strip()] = v.strip()
    return out


def login(port, username, password) -> str:
    """POST the login form like a browser (CSRF cookie + token); returns the Cookie header for wrk."""
    status, headers, html = _request(port, "GET", "/login/")
    if status != 200:
        raise BenchError(f"GET /login/ answered {status}")
    jar = _cookies(headers)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    if not token or "csrftoken" not in jar:
        raise BenchError("no CSRF token on the login page")
    body = urlencode({"csrfmiddlewaretoken": token.group(1), "username": username, "password": password})
    status, headers, _ = _request(port, "POST", "/login/", body, {
        "Content-Type": "application/x-www-form-urlencoded", "Cookie": f"csrftoken={jar['csrftoken']}",
        "Referer": f"http://{HOST}:{port}/login/"})
    jar.update(_cookies(headers))
    if status != 302 or "sessionid" not in jar:
        raise BenchError(f"login as {username} failed (HTTP {status})")
    return "; ".join(f"{k}={v}" for k, v in jar.items())


def check_page(port, path, cookie, expect: str):
    status, _, html = _request(port, "GET", path, headers={"Cookie": cookie})
    if status != 200 or expect not in html:
        raise BenchError(f"GET {path} answered {status} without {expect!r} — the bench would measure an error page")


# --- gunicorn and wrk ---------------------------------------------------------------------------------------


class Server:
    def __init__(self, port, workers, threads, env):
        self.port, self.workers, self.threads, self.env = port, workers, threads, env
        self.proc = None

    @property
    def label(self):
        return f"{self.workers} workers × {self.threads} threads" if self.threads > 1 else f"{self.workers} sync workers"

    def __enter__(self):
        cmd = [str(VENV_BIN / "gunicorn"), "kundefaktura.wsgi:application", "--bind", f"{HOST}:{self.port}",
               "--workers", str(self.workers), "--log-level", "warning", "--timeout", "60",
               "--backlog", "256"]
        if self.threads > 1:
            cmd += ["--worker-class", "gthread", "--threads", str(self.threads)]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=self.env, start_new_session=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchError(f"gunicorn exited with {self.proc.returncode}")
            try:
                if _request(self.port, "GET", "/healthz")[0] == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.2)
        raise BenchError("gunicorn did not answer /healthz within 30 s")

    def __exit__(self, *exc):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        return False


def wrk(port, *, duration, connections, threads=2, **lua_env) -> dict:
    env = dict(os.environ)
    env.update({f"LOAD_{k.upper()}": str(v) for k, v in lua_env.items()})
    cmd = ["wrk", "-t", str(min(threads, connections)), "-c", str(connections), "-d", f"{duration}s",
           "--timeout", "20s", "-s", str(LUA), f"http://{HOST}:{port}"]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=duration + 60)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("WRK_JSON ")), None)
    if out.returncode != 0 or line is None:
        raise BenchError(f"wrk failed ({out.returncode}): {out.stderr.strip() or out.stdout.strip()}")
    r = json.loads(line[len("WRK_JSON "):])
    seconds = r["duration_us"] / 1e6
    r["rps"] = r["ok"] / seconds  # only successful answers count
    r["seconds"] = seconds
    return r


def measure(port, name, *, duration, warmup, connections, **lua_env) -> dict:
    if warmup:
        wrk(port, duration=warmup, connections=connections, **lua_env)
    loadavg_before = os.getloadavg()
    r = wrk(port, duration=duration, connections=connections, **lua_env)
    r["loadavg"] = Path("/proc/loadavg").read_text().split()[:3]
    r["loadavg_1m_before"] = round(loadavg_before[0], 2)
    errors = r["non_2xx"] + r["socket_errors"] + r["timeouts"]
    print(f"{name:<22} {r['rps']:8.1f} req/s   p50 {r['p50_ms']:7.1f} ms   p95 {r['p95_ms']:7.1f} ms   "
          f"p99 {r['p99_ms']:7.1f} ms   {r['ok']} ok, {errors} errors"
          + (f" (first status {r['first_bad_status']})" if r["first_bad_status"] else "")
          + f"   loadavg {' '.join(r['loadavg'])}", flush=True)
    return r


# --- profiling (--profile) ------------------------------------------------------------------------------------


def profile(ctx):
    """cProfile + query count of one request per page, in this process (DEBUG off, same database)."""
    import cProfile
    import pstats

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from kundefaktura.accounts.models import User

    client = Client(HTTP_HOST=HOST)
    client.force_login(User.objects.get(username=CASEWORKER[0]))
    for path in ["/arbeid/", f"/arbeid/grunnlag/{ctx['detail_bases'][0]}/"]:
        client.get(path)
        with CaptureQueriesContext(connection) as q:
            prof = cProfile.Profile()
            prof.enable()
            t0 = time.perf_counter()
            resp = client.get(path)
            elapsed = time.perf_counter() - t0
            prof.disable()
        print(f"--- {path}: HTTP {resp.status_code}, {elapsed * 1000:.0f} ms, {len(q)} queries")
        for sql in sorted(q.captured_queries, key=lambda x: -float(x["time"]))[:5]:
            print(f"    {float(sql['time']) * 1000:6.1f} ms  {sql['sql'][:160]}")
        pstats.Stats(prof).sort_stats("cumulative").print_stats(25)


# --- main -------------------------------------------------------------------------------------------------


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reseed", action="store_true", help="drop and re-create the bench database first")
    ap.add_argument("--duration", type=int, default=int(os.environ.get("BENCH_LOAD_SECONDS", 20)),
                    help="seconds per measurement (default 20)")
    ap.add_argument("--warmup", type=int, default=3, help="warm-up seconds before each measurement")
    ap.add_argument("--workers", type=int, default=0, help="gunicorn workers (default 2 × cores + 1)")
    ap.add_argument("--threads", type=int, default=1, help="gthread threads per worker (1 = sync workers)")
    ap.add_argument("--tune", action="store_true", help="also measure the work list under other gunicorn settings")
    ap.add_argument("--profile", action="store_true", help="cProfile one work-list and one basis-page request")
    args = ap.parse_args(argv)

    if shutil.which("wrk") is None:
        print("bench/load.py needs wrk (the HTTP load generator), which is not installed.\n"
              "Install it with:  sudo apt-get install wrk   (or run `make bench`, which installs it).",
              file=sys.stderr)
        return 2
    if not (VENV_BIN / "gunicorn").exists():
        print(f"gunicorn is not installed in {VENV_BIN}; run `make bootstrap`.", file=sys.stderr)
        return 2

    port = free_port()
    env = server_env(port)
    os.environ.update(env)
    for key in ("KF_TESTING", "DEBUG", "CELERY_BROKER_URL"):
        os.environ.pop(key, None)
    os.environ["DEBUG"] = "false"
    ensure_database(args.reseed)

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("collectstatic", "--noinput", verbosity=0)  # production storage needs the manifest
    if seeded():
        print(f"database {DB_URL.rsplit('/', 1)[-1]} already holds {N_BASES} bases and "
              f"{N_BASES * LINES_PER_BASIS} lines: reused (--reseed to start over)")
    else:
        if not args.reseed:
            from billing.models import InvoiceBasis

            if InvoiceBasis.objects.exists():
                print("the bench database holds other data; re-creating it", flush=True)
                from django.db import connections

                connections.close_all()
                ensure_database(True)
                call_command("migrate", verbosity=0)
        print(f"seeding {N_BASES} bases and {N_BASES * LINES_PER_BASIS} lines (bulk_create, bench shortcut)",
              flush=True)
        seed()
    run = uuid.uuid4().hex[:8]
    ctx = prepare_run(run)
    if args.profile:
        profile(ctx)
    from django.db import connections

    connections.close_all()

    cores = os.cpu_count() or 1
    workers = args.workers or 2 * cores + 1
    settings_to_try = [(workers, args.threads)]
    if args.tune:
        settings_to_try += [(cores, 1), (cores + 1, 4), (workers, 4)]
    print(f"machine: {cores} cores, loadavg before {Path('/proc/loadavg').read_text().strip()}", flush=True)
    common = {"duration": args.duration, "warmup": args.warmup}
    results, tuning = {}, []
    for index, (w, t) in enumerate(settings_to_try):
        with Server(port, w, t, env) as server:
            staff = login(port, *CASEWORKER)
            for path in WORKLIST_PATHS:  # every view lists bases (not an empty result or an error page)
                check_page(port, path, staff, "FG-")
            if index == 0:
                print(f"gunicorn: {server.label}, DB_CONN_MAX_AGE={env['DB_CONN_MAX_AGE']}; wrk: {USERS} connections, "
                      f"{args.duration} s each after {args.warmup} s warm-up", flush=True)
                kunde = login(port, *CUSTOMER)
                offer_path = f"/portal/grunnlag/{ctx['offer_basis']}/"
                check_page(port, offer_path, kunde, "FG-")
                check_page(port, f"/arbeid/grunnlag/{ctx['detail_bases'][0]}/", staff, "FG-")
                results["worklist"] = measure(port, "work list (8 views)", connections=USERS, mode="get",
                                              cookie=staff, paths=" ".join(WORKLIST_PATHS), **common)
                results["basis_page"] = measure(
                    port, "basis page", connections=USERS, mode="get", cookie=staff,
                    paths=" ".join(f"/arbeid/grunnlag/{pk}/" for pk in ctx["detail_bases"]), **common)
                results["portal_offer"] = measure(port, "portal offer page", connections=USERS, mode="get",
                                                  cookie=kunde, paths=offer_path, **common)
                results["batch_api"] = measure(
                    port, "batch API (1000 lines)", connections=BATCH_CLIENTS, mode="batch", token=ctx["token"],
                    bases=" ".join(map(str, ctx["batch_bases"])), lines=BATCH_LINES, run=run, **common)
                results["batch_api"]["lines_per_s"] = results["batch_api"]["rps"] * BATCH_LINES
                print(f"{'':<22} {results['batch_api']['lines_per_s']:8.0f} lines/s", flush=True)
            else:
                r = measure(port, f"work list ({server.label})", connections=USERS, mode="get", cookie=staff,
                            paths=" ".join(WORKLIST_PATHS), **common)
                tuning.append({"gunicorn": server.label, "rps": round(r["rps"], 1), "p95_ms": r["p95_ms"]})
    # The same work-list load with the snapshot cache switched off: what every request costs when each
    # one renders (as right after a write). Reported, not a target.
    with Server(port, workers, args.threads, {**env, "PAGE_CACHE_ENABLED": "false"}):
        staff = login(port, *CASEWORKER)
        results_uncached = measure(port, "work list, page cache off", connections=USERS, mode="get",
                                   cookie=staff, paths=" ".join(WORKLIST_PATHS), **common)
    cleanup()
    if tuning:
        first = results["worklist"]
        tuning.insert(0, {"gunicorn": f"{workers} workers" + (f" × {args.threads} threads" if args.threads > 1
                                                                 else " (sync)"),
                          "rps": round(first["rps"], 1), "p95_ms": first["p95_ms"]})

    wl, batch = results["worklist"], results["batch_api"]
    checks = {
        "worklist_rps": wl["rps"] >= TARGET_WORKLIST_RPS,
        "worklist_p95": wl["p95_ms"] < TARGET_WORKLIST_P95_MS,
        "batch_lines_per_s": batch["lines_per_s"] >= TARGET_BATCH_LINES_PER_S,
        "no_errors": all(r["non_2xx"] + r["socket_errors"] + r["timeouts"] == 0 for r in results.values()),
    }
    ok = all(checks.values())
    for name, passed in checks.items():
        if not passed:
            print(f"MISSED: {name}", flush=True)
    figures = {
        "bases": N_BASES, "lines": N_BASES * LINES_PER_BASIS, "cores": cores,
        "gunicorn": f"{workers}x{args.threads}", "users": USERS, "seconds": args.duration,
        **{f"{k}_rps": round(r["rps"], 1) for k, r in results.items()},
        **{f"{k}_p50_ms": r["p50_ms"] for k, r in results.items()},
        **{f"{k}_p95_ms": r["p95_ms"] for k, r in results.items()},
        "batch_lines_per_s": round(batch["lines_per_s"]),
        "worklist_uncached_rps": round(results_uncached["rps"], 1),
        "worklist_uncached_p95_ms": results_uncached["p95_ms"],
        "loadavg": wl["loadavg"],
        "target_worklist_rps": TARGET_WORKLIST_RPS, "target_worklist_p95_ms": TARGET_WORKLIST_P95_MS,
        "target_batch_lines_per_s": TARGET_BATCH_LINES_PER_S,
    }
    if tuning:
        figures["tuning"] = tuning
    figures["ok"] = ok
    print(json.dumps(figures, ensure_ascii=False))
    return 0 if ok else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as exc:
        print(f"bench/load.py: {exc}", file=sys.stderr)
        print(json.dumps({"error": str(exc), "ok": False}))
        sys.exit(1)
