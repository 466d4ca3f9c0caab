"""Load benchmark: gunicorn on PostgreSQL with 20 000 invoice bases and 200 000 cost lines, driven by wrk.

    .venv/bin/python bench/load.py                 # PostgreSQL database kf_load (created if missing)
    .venv/bin/python bench/load.py --reseed        # drop and re-create the database, seed again
    .venv/bin/python bench/load.py --bases 200000  # another size (its own database, kf_load_200000)
    .venv/bin/python bench/load.py --scale 20000,200000  # work-list search + basis page p95 at each size
    .venv/bin/python bench/load.py --tune          # also the uncached work list under other gunicorn settings
    .venv/bin/python bench/load.py --profile       # cProfile + SQL of one request of each page
    .venv/bin/python bench/load.py --cpu 60        # only CPU + wall ms per request of each page, in-process
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
   SECURE_SSL_REDIRECT=false is passed so plain http works on loopback; production's gunicorn hooks,
   kundefaktura/gunicorn.py) on a free loopback port.
3. Logs in as the case worker and the customer by POSTing the login form (CSRF token from the GET),
   and hands the session cookie to wrk (a second process; bench/load.lua).
4. Runs, each for --duration seconds after a short warm-up: first the floor (GET /login/ without a
   cookie) and /healthz, then each page judged as a ratio to the floor (TARGETS), with the floor
   measured again after every page: a page's ratio is to the mean of the floors just before and just
   after it. The pages: the work list (20 users, eight views of it in turn: paging, sorting, status
   chips, filters, a search — WORKLIST_PATHS), basis pages /arbeid/grunnlag/<id>/ (20 users, 200
   different bases), the portal offer and invoice pages and the installer's case page (20 users), and
   POST /api/v1/invoice-bases/{id}/cost-lines/batch with 1000 lines per request (4 clients, new line
   references every request).
5. Runs the work list once more with the page cache switched off (PAGE_CACHE_ENABLED=false): the cost
   of a request that renders everything, as after every write; between two floors of its own server.
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
BASE_DB_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://root@127.0.0.1:5432/kf_load")
# Sessions in Redis (SESSION_REDIS_URL), as docker-compose.yml runs them.
SESSION_REDIS_URL = os.environ.get("BENCH_SESSION_REDIS_URL", "redis://127.0.0.1:6379/0")
HOST = "127.0.0.1"
LUA = ROOT / "bench" / "load.lua"
VENV_BIN = Path(sys.executable).parent

N_BASES = 20_000  # default --bases
SEED_BLOCK = 20_000  # bases made row by row in Python; larger sizes copy this block in SQL
LINES_PER_BASIS = 10
N_CUSTOMERS = 6_000  # per SEED_BLOCK bases
SEED_PREFIX = "LOADSEED-"
CASEWORKER = ("bench-saksbehandler", "Belastning-2025!")
CUSTOMER = ("bench-kunde", "Belastning-2025!")
INSTALLER = ("bench-installator", "Belastning-2025!")
INSTALLER_COMPANY = {"name": "Belastning Elektro AS", "email": "post@belastning-elektro.example",
                     "phone": "55 99 88 77"}
INSTALLER_CASE = ("nettmelding", "NM-BELASTNING-1")

# Each page's throughput as a share of the floor (the login page GET, measured in the same run) and its p95.
TARGETS = {  # page: (ratio to floor ≥, p95 ms <)
    "basis_page": (0.20, 250),
    "worklist_uncached": (0.15, 250),
    "worklist_cached": (0.40, 150),
    "portal_offer": (0.25, 250),
    "portal_invoice": (0.25, 250),
    "installer_case": (0.25, 250),
}
TARGET_BATCH_LINES_PER_S = 2000
TARGET_SCALE_GROWTH = 1.5  # p95 at the largest --scale size / p95 at the smallest
USERS = 20
# The work list as case workers use it: first page, paging, sorting, status chips, filters and a search,
# requested round-robin (each wrk thread starts at a different one).
WORKLIST_PATHS = ["/arbeid/", "/arbeid/?page=2", "/arbeid/?sort=customer", "/arbeid/?status=offer_sent",
                  "/arbeid/?status=invoiced&page=3", "/arbeid/?q=Bakkeveien", "/arbeid/?overdue=on",
                  "/arbeid/?sort=-number&per_page=100"]
# The work-list searches of --scale: a street (a twelfth of all bases match), a surname, a metering point
# id and a title word.
SEARCH_PATHS = ["/arbeid/?q=Bakkeveien", "/arbeid/?q=Hansen", "/arbeid/?q=707057500000001234",
                "/arbeid/?q=Hyttetilknytning"]
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


def db_url(bases: int) -> str:
    """One database per size, so each is seeded once and reused: the base name for the default size,
    the name with _<bases> appended for any other."""
    return BASE_DB_URL if bases == N_BASES else f"{BASE_DB_URL}_{bases}"


def server_env(port: int, database_url: str) -> dict:
    """Production settings for gunicorn (and for the seeding process). Only what plain http on loopback
    needs is relaxed, through environment variables — settings.py keeps its production defaults."""
    env = {k: v for k, v in os.environ.items() if k not in ("KF_TESTING", "DEBUG", "CELERY_BROKER_URL")}
    env.update({
        "DATABASE_URL": database_url,
        "DEBUG": "false",
        "SECRET_KEY": "bench-load-" + "k" * 50,
        "ALLOWED_HOSTS": HOST,
        "SITE_URL": f"http://{HOST}:{port}",
        "CSRF_TRUSTED_ORIGINS": f"http://{HOST}:{port}",
        "SECURE_SSL_REDIRECT": "false",
        "SECURE_HSTS_SECONDS": "0",
        "DB_CONN_MAX_AGE": "600",
        "SESSION_REDIS_URL": SESSION_REDIS_URL,
        "LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "kundefaktura.settings",
    })
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def ensure_database(database_url: str, reseed: bool) -> None:
    import psycopg

    parts = urlsplit(database_url)
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


def seeded(n: int) -> bool:
    from billing.models import CostLine, InvoiceBasis

    return (InvoiceBasis.objects.filter(reference__startswith=SEED_PREFIX).count() == n
            and CostLine.objects.filter(basis__reference__startswith=SEED_PREFIX).count() == n * LINES_PER_BASIS)


def seed(n: int) -> None:
    """Bulk seed (bench shortcut, see the module docstring). Deterministic: row i always gets the same data.
    The first SEED_BLOCK bases are built here row by row; a larger n copies that block in SQL (replicate)."""
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
    first = min(n, SEED_BLOCK)
    n_customers = max(1, N_CUSTOMERS * first // SEED_BLOCK)
    t0 = time.perf_counter()
    with transaction.atomic():
        customers = []
        for i in range(n_customers):
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
    for start in range(0, first, chunk):
        t1 = time.perf_counter()
        with transaction.atomic():
            bases = []
            for i in range(start, min(start + chunk, first)):
                customer = customers[(i * 7919) % n_customers]
                status = statuses[(i * 31) % len(statuses)]
                postal, city = CITIES[i % len(CITIES)]
                street = f"{STREETS[(i // 3) % len(STREETS)]} {i % 211 + 1}"
                created = now - dt.timedelta(days=(first - i) * 730 / first, minutes=i % 600)
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
                    # The snapshot (billing.selectors.totals.offer_snapshot) names the lines by id: filled in
                    # once the lines are saved.
                    offers.append(Offer(basis=b, version=1, valid_until=b.offer_valid_until, net=totals.net,
                                        vat=totals.vat, gross=totals.gross, sent_by=worker, snapshot={}))
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
            by_basis_lines = {}
            for b in bases:
                for c, text, q, unit, p, v, amount, pos in b._lines:
                    inv = next((x for x in b._invoices if (v.code == "O") == (x.vat_regime == "O")), None)
                    lines.append(CostLine(basis=b, source=b.source,
                                          category=c, description=text, quantity=q, unit=unit, unit_price=p,
                                          amount=amount, vat_code=v, position=pos, invoice=inv, created_by=worker))
                    by_basis_lines.setdefault(b.pk, []).append(lines[-1])
            CostLine.objects.bulk_create(lines, batch_size=5000)
            for o in offers:
                o.snapshot = {"lines": [{"id": ln.pk, "category": ln.category.code, "description": ln.description,
                                         "quantity": str(ln.quantity), "unit": ln.unit,
                                         "unit_price": str(ln.unit_price), "amount": str(ln.amount),
                                         "vat_code": ln.vat_code.code, "customer_caused": False}
                                        for ln in by_basis_lines[o.basis_id]], "base_deduction": "0.00"}
            Offer.objects.bulk_create(offers)
            by_basis = {o.basis_id: o for o in offers}
            for b in bases:
                if b._seed["accepted"]:
                    acceptances.append(Acceptance(basis=b, offer=by_basis[b.pk], channel="portal",
                                                  offer_version=1, ip_address="10.0.0.1"))
            Acceptance.objects.bulk_create(acceptances)
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
        print(f"  bases {start + 1}–{min(start + chunk, first)}: {len(lines)} lines, {len(invoices)} invoices, "
              f"{len(events)} events in {time.perf_counter() - t1:.1f} s", flush=True)

    if n > first:
        replicate(n, first)
    with transaction.atomic(), connection.cursor() as cur:
        t1 = time.perf_counter()
        # auto_now_add stamped every row "now": spread them over two years like a real history.
        cur.execute(f"""UPDATE billing_invoicebasis b SET created_at = now() - make_interval(
                          days => ({n} - substr(b.reference, {len(SEED_PREFIX) + 1})::int) * 730 / {n},
                          mins => (b.id %% 600)::int)
                        WHERE b.reference LIKE %s""", [SEED_PREFIX + "%"])
        cur.execute("""UPDATE billing_auditevent e SET at = b.created_at + make_interval(days => (e.id %% 30)::int)
                       FROM billing_invoicebasis b WHERE e.basis_id = b.id AND b.reference LIKE %s""",
                    [SEED_PREFIX + "%"])
        cur.execute("SELECT coalesce(max(number), 0) + 1 FROM billing_invoice WHERE series = %s",
                    [services.INVOICE_SERIES])
        invoice_no = max(invoice_no, cur.fetchone()[0])
        NumberSeries.objects.update_or_create(name=f"FG-{year}", defaults={"next_value": n + 1})
        NumberSeries.objects.update_or_create(name=services.INVOICE_SERIES, defaults={"next_value": invoice_no})
    print(f"  dates spread over two years in {time.perf_counter() - t1:.1f} s", flush=True)
    print(f"seeded {n} bases, {n * LINES_PER_BASIS} lines in {time.perf_counter() - t0:.0f} s", flush=True)


# Copied block by block by replicate(), parents first; every foreign key between them is shifted with its row.
REPLICATED = ["billing.Customer", "billing.InvoiceBasis", "billing.Offer", "billing.Invoice", "billing.CostLine",
              "billing.InvoiceLine", "billing.Acceptance", "billing.Payment", "billing.AuditEvent"]


def replicate(n: int, first: int) -> None:
    """Grow the seeded block of `first` bases to n bases with one INSERT … SELECT per table, inside
    PostgreSQL (no rows travel through Python): copy k (1, 2, …) of a row gets id + k × the table's
    largest id, its foreign keys to the copied tables shifted the same way, and new unique values
    (basis number, reference and metering point id from the basis index, invoice numbers shifted past
    the seeded ones, payment references suffixed). Copies keep the block's statuses, lines, invoices,
    payments and events; customers are copied too (6 000 per 20 000 bases)."""
    from django.apps import apps
    from django.db import connection, transaction

    models = [apps.get_model(label) for label in REPLICATED]
    copies = -(-n // first) - 1  # blocks beyond the seeded one
    rest = n - copies * first  # bases in the last copy
    p = len(SEED_PREFIX) + 1
    width = max(6, len(str(n)))
    with transaction.atomic(), connection.cursor() as cur:
        span = {}
        for m in models:
            cur.execute(f"SELECT coalesce(max(id), 0) FROM {m._meta.db_table}")
            span[m] = cur.fetchone()[0]
        cur.execute("SELECT coalesce(max(number), 0) + 1 FROM billing_invoice")
        invoice_span = cur.fetchone()[0]
        cur.execute("SELECT id FROM billing_invoicebasis WHERE reference = %s", [f"{SEED_PREFIX}{rest:06d}"])
        last_basis = cur.fetchone()[0]  # the last copy holds the bases up to this one
        refno = f"(substr(t.reference, {p})::int + g.k * {first})"
        overrides = {
            "billing_invoicebasis": {
                "reference": f"'{SEED_PREFIX}' || lpad({refno}::text, {width}, '0')",
                "number": f"split_part(t.number, '-', 1) || '-' || split_part(t.number, '-', 2) || '-' "
                          f"|| lpad({refno}::text, {width}, '0')",
                "metering_point_id": f"'707057500' || lpad({refno}::text, 9, '0')"},
            "billing_invoice": {"number": f"t.number + g.k * {invoice_span}"},
            # The offer's snapshot names its cost lines by id: shift them with the lines.
            "billing_offer": {"snapshot": "jsonb_set(t.snapshot, '{lines}', (SELECT coalesce(jsonb_agg(jsonb_set("
                                          "e, '{id}', to_jsonb((e->>'id')::bigint + g.k * %d)) ORDER BY o), "
                                          "'[]'::jsonb) FROM jsonb_array_elements(t.snapshot->'lines') "
                                          "WITH ORDINALITY AS x(e, o)))"},
            "billing_payment": {"provider_reference": "CASE WHEN t.provider_reference = '' THEN '' "
                                                      "ELSE t.provider_reference || '-' || g.k END"},
        }
        # How each table reaches its basis (to cut the last copy short) and which rows are the seeded block.
        via_invoice = ("JOIN billing_invoice p ON p.id = t.invoice_id", "p.basis_id")
        basis_of = {"billing_invoicebasis": ("", "t.id"), "billing_invoiceline": via_invoice,
                    "billing_payment": via_invoice}
        for m in models:
            table = m._meta.db_table
            t1 = time.perf_counter()
            cols, exprs = [], []
            for f in m._meta.concrete_fields:
                cols.append(f'"{f.column}"')
                if table == "billing_offer" and f.column == "snapshot":
                    exprs.append(overrides[table][f.column] % span[apps.get_model("billing.CostLine")])
                elif f.primary_key:
                    exprs.append(f"t.{f.column} + g.k * {span[m]}")
                elif f.column in overrides.get(table, {}):
                    exprs.append(overrides[table][f.column])
                elif f.is_relation and f.related_model in span:
                    exprs.append(f"t.{f.column} + g.k * {span[f.related_model]}")
                else:
                    exprs.append(f't."{f.column}"')
            if table == "billing_invoicebasis":
                # The stored net estimate (a database-only column) as its source's: the copy's lines are the
                # source's, so the lines' trigger then finds every sum right and rewrites no basis row.
                cols.append('"estimate_net"')
                exprs.append('t."estimate_net"')
            where = [f"t.id <= {span[m]}"]
            join = ""
            if table == "billing_customer":
                where.append("t.user_id IS NULL")
            else:
                join, basis_col = basis_of.get(table, ("", "t.basis_id"))
                where.append(f"(g.k < {copies} OR {basis_col} <= {last_basis})")
            cur.execute(f"INSERT INTO {table} ({', '.join(cols)}) SELECT {', '.join(exprs)} FROM {table} t {join} "
                        f"CROSS JOIN generate_series(1, {copies}) AS g(k) WHERE {' AND '.join(where)}")
            rows = cur.rowcount
            cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
            print(f"  {table}: {rows} rows copied in {time.perf_counter() - t1:.1f} s", flush=True)


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


def prepare_run(run: str, *, batch: bool = True) -> dict:
    """Rows the measured requests act on, made through the real services (cheap, a few per run): the
    customer's offer and invoice, the installer's case, and (batch) the API client and bases the batch
    API posts to."""
    from billing import services
    from billing.models import Customer, Invoice, InvoiceBasis
    from integrations import services as integration_services
    from integrations.models import Installer
    from integrations.services import api_client_create

    worker = ensure_user(*CASEWORKER, "caseworker")
    kunde = ensure_user(*CUSTOMER, "customer")
    fitter = ensure_user(*INSTALLER, "installer")
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
    # The customer's invoice: a basis offered, accepted in the portal and invoiced (one invoice per VAT
    # regime; the page measured is the taxable one, which holds most of the lines).
    invoice = (Invoice.objects.filter(basis__customer=customer, number__isnull=False, vat_regime="taxable")
               .order_by("id").first())
    if invoice is None:
        basis, _ = services.basis_create(by=worker, title="Utvidet kapasitet, Bakkeveien 2", customer=customer,
                                         site_street="Bakkeveien 2", site_postal_code="5010", site_city="Bergen")
        services.lines_add(basis=basis, by=worker, lines=[
            {"category": c, "description": d, "quantity": Decimal(q), "unit": u, "unit_price": Decimal(p)}
            for c, d, q, u, p in LINE_TEMPLATES])
        services.offer_send(basis=basis, by=worker)
        services.offer_accept(basis=basis, by=kunde)
        issued = services.invoices_issue(basis=basis, by=worker)
        invoice = next(i for i in issued if i.vat_regime == "taxable")
    # The installer's case: a Nettmelding case on a seeded basis that has been through every step
    # (offer, acceptance, release, invoice, payment), so the case page shows the whole timeline.
    installer = Installer.objects.filter(name=INSTALLER_COMPANY["name"]).first()
    if installer is None:
        installer = Installer.objects.create(**INSTALLER_COMPANY)
    installer.users.add(fitter)
    paid = (InvoiceBasis.objects.filter(reference__startswith=SEED_PREFIX, status="paid")
            .order_by("reference").first())
    case, _ = integration_services.related_case_link(
        basis=paid, by=None, source=INSTALLER_CASE[0], external_id=INSTALLER_CASE[1],
        title="Forhåndsmelding: ny tilknytning", installer=installer)
    cleanup()  # what an interrupted earlier run left behind
    token, targets = "", []
    if batch:
        client, token = api_client_create(name=f"Belastningstest {run}")
        for k in range(BATCH_CLIENTS * 8):
            basis, _ = services.basis_create(by=worker, title=f"Arbeidsordre {run}-{k}", customer=customer,
                                             reference=f"LOADAPI-{run}-{k}", source="work_order")
            targets.append(basis.pk)
    seeded_ids = list(InvoiceBasis.objects.filter(reference__startswith=SEED_PREFIX)
                      .order_by("?").values_list("pk", flat=True)[:200])
    return {"token": token, "offer_basis": offer_basis.pk, "invoice": invoice.pk, "invoice_number": invoice.number,
            "installer_case": case.pk, "batch_bases": targets, "detail_bases": seeded_ids}


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
               "--backlog", "256", "-c", "python:kundefaktura.gunicorn"]  # production's hooks
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
    print(f"{name:<26} {r['rps']:8.1f} req/s   p50 {r['p50_ms']:7.1f} ms   p95 {r['p95_ms']:7.1f} ms   "
          f"p99 {r['p99_ms']:7.1f} ms   {r['ok']} ok, {errors} errors"
          + (f" (first status {r['first_bad_status']})" if r["first_bad_status"] else "")
          + f"   loadavg {' '.join(r['loadavg'])}", flush=True)
    return r


# --- in-process look at single requests: query counts and --profile -------------------------------------------


def page_paths(ctx) -> dict:
    """What each measured page requests, and as whom."""
    return {
        "floor": (None, ["/login/"]),
        "healthz": (None, ["/healthz"]),
        "worklist_cached": (CASEWORKER, WORKLIST_PATHS),
        "worklist_uncached": (CASEWORKER, WORKLIST_PATHS),
        "basis_page": (CASEWORKER, [f"/arbeid/grunnlag/{pk}/" for pk in ctx["detail_bases"]]),
        "portal_offer": (CUSTOMER, [f"/portal/grunnlag/{ctx['offer_basis']}/"]),
        "portal_invoice": (CUSTOMER, [f"/portal/fakturaer/{ctx['invoice']}/"]),
        "installer_case": (INSTALLER, [f"/installator/saker/{ctx['installer_case']}/"]),
    }


def _clients():
    from django.test import Client

    from kundefaktura.accounts.models import User

    out = {None: Client(HTTP_HOST=HOST)}
    for creds in (CASEWORKER, CUSTOMER, INSTALLER):
        out[creds] = Client(HTTP_HOST=HOST)
        out[creds].force_login(User.objects.get(username=creds[0]))
    return out


def query_counts(ctx) -> dict:
    """SQL queries of one request per page, in this process (same database and settings as gunicorn;
    the page cache as in the measurement). Each page is requested once before it is counted; for the
    work list and the basis page, the most any of its paths needs."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext, override_settings

    clients = _clients()
    counts = {}
    for page, (who, paths) in page_paths(ctx).items():
        with override_settings(PAGE_CACHE_ENABLED=page != "worklist_uncached"):
            most = 0
            for path in paths[:8]:
                clients[who].get(path)
                with CaptureQueriesContext(connection) as q:
                    resp = clients[who].get(path)
                if resp.status_code != 200:
                    raise BenchError(f"GET {path} answered {resp.status_code} in-process")
                most = max(most, len(q))
        counts[page] = most
    return counts


def profile(ctx):
    """cProfile + query count of one request per page, in this process (DEBUG off, same database)."""
    import cProfile
    import pstats

    from django.db import connection
    from django.test.utils import CaptureQueriesContext, override_settings

    clients = _clients()
    for page, (who, paths) in page_paths(ctx).items():
        if page in ("floor", "healthz", "worklist_cached"):
            continue
        path = paths[0]
        with override_settings(PAGE_CACHE_ENABLED=False):
            clients[who].get(path)
            with CaptureQueriesContext(connection) as q:
                prof = cProfile.Profile()
                prof.enable()
                t0 = time.perf_counter()
                resp = clients[who].get(path)
                elapsed = time.perf_counter() - t0
                prof.disable()
        print(f"--- {page} {path}: HTTP {resp.status_code}, {elapsed * 1000:.0f} ms, {len(q)} queries")
        for sql in sorted(q.captured_queries, key=lambda x: -float(x["time"]))[:5]:
            print(f"    {float(sql['time']) * 1000:6.1f} ms  {sql['sql'][:160]}")
        pstats.Stats(prof).sort_stats("cumulative").print_stats(25)


def _backend_cpu_seconds(connection) -> float | None:
    """CPU seconds (user + system) the PostgreSQL backend serving `connection` has used so far, from
    /proc (the server runs on this machine in the bench's setup); None where that cannot be read."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_costs(ctx, rounds: int) -> dict:
    """CPU milliseconds per request of each page, one request at a time, page cache off except for the
    cached work list: this process's (Django + the database driver; median over `rounds` passes through
    the page's paths) and the PostgreSQL backend's (its CPU over all passes / `rounds`, from /proc; clock
    ticks of 10 ms, so use 40 rounds or more). Their sum is what a request costs the machine, which is
    what the throughput under wrk divides up: a guide that stays steady on a shared machine, where wrk's
    throughput does not. Also wall milliseconds, and the Python function calls of one request
    (cProfile), which do not depend on the machine's load at all."""
    import cProfile
    import statistics

    from django.db import connection
    from django.test.utils import override_settings

    clients = _clients()
    out = {}
    for page, (who, paths) in page_paths(ctx).items():
        with override_settings(PAGE_CACHE_ENABLED=page == "worklist_cached"):
            for path in paths[:8]:
                clients[who].get(path)  # warm: templates, connection, caches
            cpu, wall = [], []
            db0 = _backend_cpu_seconds(connection)
            for k in range(rounds):
                path = paths[k % len(paths)]
                c0, w0 = time.process_time(), time.perf_counter()
                resp = clients[who].get(path)
                cpu.append(time.process_time() - c0)
                wall.append(time.perf_counter() - w0)
                if resp.status_code != 200:
                    raise BenchError(f"GET {path} answered {resp.status_code} in-process")
            db1 = _backend_cpu_seconds(connection)  # the same backend: the connection is kept (CONN_MAX_AGE)
            # Python function calls of one request: the same whatever else the machine is doing.
            prof = cProfile.Profile()
            prof.enable()
            clients[who].get(paths[0])
            prof.disable()
        calls = sum(entry.callcount for entry in prof.getstats())
        db_ms = None if db0 is None or db1 is None else round((db1 - db0) / rounds * 1000, 1)
        out[page] = {"cpu_ms": round(statistics.median(cpu) * 1000, 1), "db_cpu_ms": db_ms,
                     "wall_ms": round(statistics.median(wall) * 1000, 1), "python_calls": calls}
        print(f"{page:<20} CPU {out[page]['cpu_ms']:6.1f} ms + database {db_ms if db_ms is not None else '?':>5} ms"
              f"   wall {out[page]['wall_ms']:6.1f} ms   (median of {rounds})   {calls:7d} Python calls", flush=True)
    return out


# --- setup ------------------------------------------------------------------------------------------------------


def environment(port: int, bases: int) -> dict:
    """Point this process at the size's database with the server's settings (before django.setup())."""
    env = server_env(port, db_url(bases))
    os.environ.update(env)
    for key in ("KF_TESTING", "DEBUG", "CELERY_BROKER_URL"):
        os.environ.pop(key, None)
    os.environ["DEBUG"] = "false"
    return env


def prepare_database(bases: int, reseed: bool) -> None:
    """Migrate, collect static files and seed the size's database unless it already holds that data."""
    url = db_url(bases)
    ensure_database(url, reseed)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("collectstatic", "--noinput", verbosity=0)  # production storage needs the manifest
    name = url.rsplit("/", 1)[-1]
    if seeded(bases):
        print(f"database {name} already holds {bases} bases and {bases * LINES_PER_BASIS} lines: reused "
              f"(--reseed to start over)", flush=True)
        return
    from billing.models import InvoiceBasis

    if InvoiceBasis.objects.exists():
        print(f"database {name} holds other data; re-creating it", flush=True)
        from django.db import connections

        connections.close_all()
        ensure_database(url, True)
        call_command("migrate", verbosity=0)
    print(f"seeding {bases} bases and {bases * LINES_PER_BASIS} lines into {name} (bulk inserts, bench shortcut)",
          flush=True)
    seed(bases)


def preflight() -> int | None:
    if shutil.which("wrk") is None:
        print("bench/load.py needs wrk (the HTTP load generator), which is not installed.\n"
              "Install it with:  sudo apt-get install wrk   (or run `make bench`, which installs it).",
              file=sys.stderr)
        return 2
    if not (VENV_BIN / "gunicorn").exists():
        print(f"gunicorn is not installed in {VENV_BIN}; run `make bootstrap`.", file=sys.stderr)
        return 2
    return None


def ratio_line(name, r, floor_rps):
    return (f"{'':<26} ratio to floor {r['rps'] / floor_rps:5.2f}   (floor {floor_rps:.1f} req/s: the mean of the "
            f"measurements before and after)") if floor_rps else ""


# --- the main run -------------------------------------------------------------------------------------------------


def main_pages(args) -> int:
    port = free_port()
    env = environment(port, args.bases)
    prepare_database(args.bases, args.reseed)
    run = uuid.uuid4().hex[:8]
    ctx = prepare_run(run)
    if args.profile:
        profile(ctx)
    if args.cpu:
        from django.db import connections

        figures = cpu_costs(ctx, args.cpu)
        cleanup()
        connections.close_all()
        print(json.dumps({"cpu": figures, "loadavg": Path("/proc/loadavg").read_text().split()[:3]}))
        return 0
    queries = query_counts(ctx)
    from django.db import connections

    connections.close_all()

    cores = os.cpu_count() or 1
    workers = args.workers or 2 * cores + 1
    print(f"machine: {cores} cores, loadavg before {Path('/proc/loadavg').read_text().strip()}", flush=True)
    common = {"duration": args.duration, "warmup": args.warmup}
    pages = page_paths(ctx)
    results, tuning = {}, []
    floors: list[dict] = []  # every floor measurement, in order
    page_floor: dict[str, float] = {}  # page: the mean of the floors measured just before and just after it

    def bracket(page, before, after):
        page_floor[page] = (before["rps"] + after["rps"]) / 2
        print(ratio_line(page, results[page], page_floor[page]), flush=True)

    def get(server_port, page, label, cookie):
        return measure(server_port, label, connections=USERS, mode="get", cookie=cookie,
                       paths=" ".join(pages[page][1]), **common)

    with Server(port, workers, args.threads, env) as server:
        staff = login(port, *CASEWORKER)
        kunde = login(port, *CUSTOMER)
        fitter = login(port, *INSTALLER)
        for path in WORKLIST_PATHS:  # every view lists bases (not an empty result or an error page)
            check_page(port, path, staff, "FG-")
        check_page(port, pages["basis_page"][1][0], staff, "FG-")
        check_page(port, pages["portal_offer"][1][0], kunde, "FG-")
        check_page(port, pages["portal_invoice"][1][0], kunde, str(ctx["invoice_number"]))
        check_page(port, pages["installer_case"][1][0], fitter, INSTALLER_CASE[1])
        check_page(port, "/login/", "", "csrfmiddlewaretoken")
        print(f"gunicorn: {server.label}, DB_CONN_MAX_AGE={env['DB_CONN_MAX_AGE']}; wrk: {USERS} connections, "
              f"{args.duration} s each after {args.warmup} s warm-up; {args.bases} bases", flush=True)
        # The floor first: Django's own cost (template, CSRF, session; no queries) on this machine now. It is
        # measured again after every page, and each page is judged against the mean of the floors just
        # before and just after it: a shared machine's speed drifts within a run (a fifth and more), and a
        # single floor at the start would judge the last pages by a speed the machine no longer has.
        floors.append(get(port, "floor", "floor: login page", ""))
        results["healthz"] = get(port, "healthz", "/healthz", "")
        for page, label, cookie in [("worklist_cached", "work list, cache on", staff),
                                    ("basis_page", "basis page (200 bases)", staff),
                                    ("portal_offer", "portal offer page", kunde),
                                    ("portal_invoice", "portal invoice page", kunde),
                                    ("installer_case", "installer case page", fitter)]:
            results[page] = get(port, page, label, cookie)
            floors.append(get(port, "floor", "floor: login page", ""))
            bracket(page, floors[-2], floors[-1])
        results["batch_api"] = measure(
            port, "batch API (1000 lines)", connections=BATCH_CLIENTS, mode="batch", token=ctx["token"],
            bases=" ".join(map(str, ctx["batch_bases"])), lines=BATCH_LINES, run=run, **common)
        results["batch_api"]["lines_per_s"] = results["batch_api"]["rps"] * BATCH_LINES
        print(f"{'':<26} {results['batch_api']['lines_per_s']:8.0f} lines/s", flush=True)
    # The work list with the snapshot cache switched off: every request renders, as right after a write.
    # Its own server, so its own floors on either side.
    with Server(port, workers, args.threads, {**env, "PAGE_CACHE_ENABLED": "false"}):
        staff = login(port, *CASEWORKER)
        floors.append(get(port, "floor", "floor: login page", ""))
        results["worklist_uncached"] = get(port, "worklist_uncached", "work list, cache off", staff)
        floors.append(get(port, "floor", "floor: login page", ""))
        bracket("worklist_uncached", floors[-2], floors[-1])
    if args.tune:
        for w, t in [(workers, args.threads), (cores, 1), (cores + 1, 4), (workers, 4)]:
            with Server(port, w, t, {**env, "PAGE_CACHE_ENABLED": "false"}) as server:
                staff = login(port, *CASEWORKER)
                r = get(port, "worklist_uncached", f"cache off, {server.label}", staff)
                tuning.append({"gunicorn": server.label, "rps": round(r["rps"], 1), "p95_ms": r["p95_ms"]})
    cleanup()

    print("queries per request (in-process, one request per page; the most of its paths): "
          + ", ".join(f"{k} {v}" for k, v in queries.items()), flush=True)
    figures = {"bases": args.bases, "lines": args.bases * LINES_PER_BASIS, "cores": cores,
               "gunicorn": f"{workers}x{args.threads}", "users": USERS, "seconds": args.duration,
               "floor_rps": round(sum(f["rps"] for f in floors) / len(floors), 1),
               "floor_rps_first": round(floors[0]["rps"], 1),
               "floor_rps_runs": [round(f["rps"], 1) for f in floors],
               "floor_p95_ms": max(f["p95_ms"] for f in floors),
               "healthz_rps": round(results["healthz"]["rps"], 1)}
    missed = []
    for page, (min_ratio, max_p95) in TARGETS.items():
        r = results[page]
        floor = page_floor[page]
        ratio = r["rps"] / floor if floor else 0.0
        figures.update({f"{page}_rps": round(r["rps"], 1), f"{page}_floor_rps": round(floor, 1),
                        f"{page}_p50_ms": r["p50_ms"],
                        f"{page}_p95_ms": r["p95_ms"], f"{page}_ratio": round(ratio, 3),
                        f"target_{page}_ratio": min_ratio, f"target_{page}_p95_ms": max_p95})
        if ratio < min_ratio:
            missed.append(f"{page}_ratio {ratio:.3f} < {min_ratio}")
        if r["p95_ms"] >= max_p95:
            missed.append(f"{page}_p95_ms {r['p95_ms']:.0f} ≥ {max_p95}")
    batch = results["batch_api"]
    figures.update({"batch_lines_per_s": round(batch["lines_per_s"]), "batch_api_p95_ms": batch["p95_ms"],
                    "target_batch_lines_per_s": TARGET_BATCH_LINES_PER_S})
    if batch["lines_per_s"] < TARGET_BATCH_LINES_PER_S:
        missed.append(f"batch_lines_per_s {batch['lines_per_s']:.0f} < {TARGET_BATCH_LINES_PER_S}")
    for name, r in [*results.items(), *(("floor", f) for f in floors)]:
        errors = r["non_2xx"] + r["socket_errors"] + r["timeouts"]
        if errors:
            missed.append(f"{name}: {errors} failed requests (first status {r['first_bad_status'] or '-'})")
    figures["queries"] = queries
    figures["loadavg"] = results["worklist_uncached"]["loadavg"]
    if tuning:
        figures["tuning"] = tuning
    figures["missed"] = missed
    figures["ok"] = not missed
    for m in missed:
        print(f"MISSED: {m}", flush=True)
    print("all targets met" if not missed else f"{len(missed)} target(s) missed", flush=True)
    print(json.dumps(figures, ensure_ascii=False))
    return 0 if not missed else 1


# --- scale: the same searches and basis pages at several sizes --------------------------------------------------


def main_prepare_only(args) -> int:
    """--prepare-only (used by --scale, one process per size): seed the size's database if needed and
    print the measured rows as CTX_JSON."""
    environment(free_port(), args.bases)
    prepare_database(args.bases, args.reseed)
    ctx = prepare_run(uuid.uuid4().hex[:8], batch=False)
    from django.db import connections

    connections.close_all()
    print("CTX_JSON " + json.dumps(ctx))
    return 0


def main_scale(args) -> int:
    sizes = [int(x) for x in args.scale.split(",") if x.strip()]
    if len(sizes) < 2:
        raise BenchError("--scale needs at least two sizes, e.g. --scale 20000,200000")
    cores = os.cpu_count() or 1
    workers = args.workers or 2 * cores + 1
    common = {"duration": args.duration, "warmup": args.warmup}
    per_size = []
    for n in sizes:
        t0 = time.perf_counter()
        cmd = [sys.executable, str(Path(__file__).resolve()), "--bases", str(n), "--prepare-only"]
        if args.reseed:
            cmd.append("--reseed")
        proc = subprocess.run(cmd, capture_output=True, text=True)
        for ln in proc.stdout.splitlines():
            if not ln.startswith("CTX_JSON "):
                print(ln, flush=True)
        line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("CTX_JSON ")), None)
        if proc.returncode != 0 or line is None:
            raise BenchError(f"preparing {n} bases failed: {proc.stderr.strip()[-2000:]}")
        ctx = json.loads(line[len("CTX_JSON "):])
        print(f"{n} bases ready in {time.perf_counter() - t0:.0f} s", flush=True)
        port = free_port()
        # The page cache is off: the searches would otherwise be served from it after the warm-up.
        env = {**server_env(port, db_url(n)), "PAGE_CACHE_ENABLED": "false"}
        with Server(port, workers, args.threads, env) as server:
            staff = login(port, *CASEWORKER)
            for path in SEARCH_PATHS:
                check_page(port, path, staff, "FG-")
            print(f"gunicorn: {server.label}, page cache off; wrk: {USERS} connections, {args.duration} s each "
                  f"after {args.warmup} s warm-up; {n} bases", flush=True)
            floor = measure(port, f"floor ({n})", connections=USERS, mode="get", cookie="", paths="/login/",
                            **common)
            search = measure(port, f"work list search ({n})", connections=USERS, mode="get", cookie=staff,
                             paths=" ".join(SEARCH_PATHS), **common)
            basis = measure(port, f"basis page ({n})", connections=USERS, mode="get", cookie=staff,
                            paths=" ".join(f"/arbeid/grunnlag/{pk}/" for pk in ctx["detail_bases"]), **common)
        per_size.append({"bases": n, "floor_rps": round(floor["rps"], 1),
                         "worklist_search_rps": round(search["rps"], 1), "worklist_search_p95_ms": search["p95_ms"],
                         "basis_page_rps": round(basis["rps"], 1), "basis_page_p95_ms": basis["p95_ms"],
                         "errors": sum(r["non_2xx"] + r["socket_errors"] + r["timeouts"]
                                       for r in (floor, search, basis))})
    small, large = per_size[0], per_size[-1]
    figures = {"sizes": sizes, "per_size": per_size, "target_growth": TARGET_SCALE_GROWTH}
    missed = []
    for key in ("worklist_search", "basis_page"):
        growth = large[f"{key}_p95_ms"] / small[f"{key}_p95_ms"] if small[f"{key}_p95_ms"] else float("inf")
        figures[f"{key}_growth"] = round(growth, 2)
        print(f"{key}: p95 {small[f'{key}_p95_ms']:.0f} ms at {small['bases']} → {large[f'{key}_p95_ms']:.0f} ms "
              f"at {large['bases']} bases: ×{growth:.2f} (target ≤ {TARGET_SCALE_GROWTH})", flush=True)
        if growth > TARGET_SCALE_GROWTH:
            missed.append(f"{key}_growth {growth:.2f} > {TARGET_SCALE_GROWTH}")
    for row in per_size:
        if row["errors"]:
            missed.append(f"{row['errors']} failed requests at {row['bases']} bases")
    figures["missed"] = missed
    figures["ok"] = not missed
    for m in missed:
        print(f"MISSED: {m}", flush=True)
    print(json.dumps(figures, ensure_ascii=False))
    return 0 if not missed else 1


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reseed", action="store_true", help="drop and re-create the bench database first")
    ap.add_argument("--bases", type=int, default=N_BASES,
                    help=f"seeded bases, {LINES_PER_BASIS} lines each (default {N_BASES}); one database per size")
    ap.add_argument("--scale", metavar="N,M,…",
                    help="measure the work-list search and the basis page at each size (e.g. 20000,200000)")
    ap.add_argument("--duration", type=int, default=int(os.environ.get("BENCH_LOAD_SECONDS", 20)),
                    help="seconds per measurement (default 20)")
    ap.add_argument("--warmup", type=int, default=3, help="warm-up seconds before each measurement")
    ap.add_argument("--workers", type=int, default=0, help="gunicorn workers (default 2 × cores + 1)")
    ap.add_argument("--threads", type=int, default=1, help="gthread threads per worker (1 = sync workers)")
    ap.add_argument("--tune", action="store_true",
                    help="also measure the uncached work list under other gunicorn settings")
    ap.add_argument("--profile", action="store_true", help="cProfile one request of each page")
    ap.add_argument("--cpu", type=int, metavar="ROUNDS", default=0,
                    help="only the in-process CPU and wall ms per request of each page (median of ROUNDS), no wrk")
    ap.add_argument("--prepare-only", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.prepare_only:
        return main_prepare_only(args)
    error = preflight()
    if error:
        return error
    if args.scale:
        return main_scale(args)
    return main_pages(args)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as exc:
        print(f"bench/load.py: {exc}", file=sys.stderr)
        print(json.dumps({"error": str(exc), "ok": False}))
        sys.exit(1)
