import datetime as dt
import json
import threading
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from billing import services
from billing.models import Invoice, Payment
from tests.factories import accepted_basis, add_line, make_basis, make_customer

D = Decimal


def issue_prepaid_settlement(by, customer, *, estimate: str, actual: str) -> tuple[Invoice, Invoice]:
    """A prepaid connection settled against its actual cost (worked example 5's path): (the paid
    prepayment invoice, the final invoice or credit note that settles it)."""
    basis = make_basis(by=by, customer=customer, prepayment_required=True, site_street="Byggefeltet 1",
                       site_postal_code="5035", site_city="Bergen", metering_point_id="707057500000000018")
    add_line(basis, by, description="Anleggsbidrag, estimat", unit_price=estimate)
    services.offer_send(basis=basis, by=by)
    services.offer_accept(basis=basis, by=None)
    [prepay] = basis.invoices.all()
    services.payment_register(invoice=prepay, by=by, amount=D(estimate), method=Payment.Method.MANUAL)
    add_line(basis, by, description="Faktisk kostnad", unit_price=actual, phase="actual")
    [settlement] = services.final_settle(basis=basis, by=by)
    return prepay, settlement


def issue_every_kind(by) -> dict[str, Invoice]:
    """One issued document of every kind our system produces (through the real services)."""
    docs = {}
    # Ordinary O and S (worked example 1), buyer without orgnr → e-mail endpoint.
    basis = accepted_basis(by=by)
    for inv in services.invoices_issue(basis=basis, by=by):
        docs["ordinary_O" if inv.vat_regime == "O" else "ordinary_S"] = inv
    # Change invoice: a line added after acceptance.
    add_line(basis, by, category="meter_work", description="Ekstra målerarbeid", quantity="2.5", unit="t",
             unit_price="845.00")

    notice = services.change_notice_send(basis=basis, by=by)
    services.change_notice_answer(notice=notice, by=None, decision="accepted", channel="phone",
                                   note="Akseptert på telefon")
    [change] = services.invoices_issue(basis=basis, by=by)
    docs["change"] = change
    # Credit note of the S invoice (full).
    docs["credit_note"] = services.invoice_credit(invoice=docs["ordinary_S"], by=by, reason="Feil sats")
    # Prepayment + final invoice, an organisation as buyer (orgnr endpoint).
    org = make_customer(name="Bergen Boligbygg AS", kind="organisation", orgnr="914500001",
                        email="post@bergenboligbygg.example", erp_customer_number="10001")
    docs["prepayment"], docs["final"] = issue_prepaid_settlement(by, org, estimate="80000.00", actual="97350.00")
    return docs


def issue_base_deduction_invoice(by) -> Invoice:
    """A legacy (2018) order with bunnfradrag: an O invoice with a negative line."""
    from billing.models import CompanyProfile

    CompanyProfile.objects.filter(pk=1).update(base_deduction_enabled=True, base_deduction_amount=D("15000.00"))
    basis = accepted_basis(by=by, order_date=dt.date(2018, 6, 1))
    [o_invoice] = [i for i in services.invoices_issue(basis=basis, by=by) if i.vat_regime == "O"]
    CompanyProfile.objects.filter(pk=1).update(base_deduction_enabled=False)
    return o_invoice


@pytest.fixture
def every_kind(company, caseworker):
    return issue_every_kind(caseworker)


@pytest.fixture
def deduction_invoice(company, caseworker):
    return issue_base_deduction_invoice(caseworker)


def issue_settlement_credit_note(by) -> Invoice:
    """Worked example 5, actual below the estimate: an O credit note (8 765.44) against a paid prepayment,
    to an organisation."""
    org = make_customer(name="Vestland Eiendom AS", kind="organisation", orgnr="923600019",
                        email="faktura@vestlandeiendom.example")
    _prepay, credit = issue_prepaid_settlement(by, org, estimate="80000.00", actual="71234.56")
    return credit


def issue_mixed_taxable_invoice(by) -> Invoice:
    """One taxable invoice holding S (25 %), Z (zero-rated) and E (exempt) lines, to a person with only a
    postal address (no e-mail or phone) when invoiced (the offer went by e-mail; the customer was edited after)."""
    person = make_customer(name="Ola Nordmann", email="ola@example.com", phone="", street="Vossavegen 1",
                           postal_code="5700", city="Voss")
    basis = make_basis(by=by, customer=person)
    add_line(basis, by, category="meter_work", description="Målerarbeid", quantity="3", unit="t",
             unit_price="845.00")
    add_line(basis, by, category="service", description="Nullsats-tjeneste", unit_price="500.00", vat_code="Z")
    add_line(basis, by, category="fee", description="Fritatt gebyr", unit_price="250.00", vat_code="E")
    services.offer_send(basis=basis, by=by)
    services.offer_accept(basis=basis, by=by)
    services.customer_update(customer=person, by=by, email="")
    [invoice] = services.invoices_issue(basis=basis, by=by)
    return invoice


@pytest.fixture
def settlement_credit_note(company, caseworker):
    return issue_settlement_credit_note(caseworker)


@pytest.fixture
def mixed_taxable_invoice(company, caseworker):
    return issue_mixed_taxable_invoice(caseworker)


# --- a local HTTP/JSON ERP for the http adapter --------------------------------------------------


class FakeErp(BaseHTTPRequestHandler):
    received: list = []
    fail_next = 0

    def log_message(self, *args):
        pass

    def _json(self, status, body):
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def do_GET(self):
        if self.headers.get("Authorization") != "Bearer s3cret":
            return self._json(401, {"error": "auth"})
        self._json(200, {"results": [{"customer_number": "C-77", "name": "Bergen Boligbygg AS",
                                      "orgnr": "914500001", "city": "Bergen"}]})

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if FakeErp.fail_next:
            FakeErp.fail_next -= 1
            return self._json(503, {"error": "busy"})
        key = self.headers.get("Idempotency-Key")
        if any(k == key for k, _ in FakeErp.received):
            return self._json(409, {"error": "duplicate"})
        FakeErp.received.append((key, body))
        self._json(201, {"ok": True})


@pytest.fixture
def fake_erp(settings):
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeErp)
    FakeErp.received, FakeErp.fail_next = [], 0
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.ERP_ADAPTER, settings.ERP_TOKEN = "http", "s3cret"
    settings.ERP_BASE_URL = f"http://127.0.0.1:{server.server_address[1]}"
    yield FakeErp
    server.shutdown()
    server.server_close()
