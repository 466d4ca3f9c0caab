"""The money invariants of one invoice basis, tested as a state machine.

Hypothesis drives the services the case worker's views, the portal and the bank import use, in random
order, and checks after every step that the customer is billed what they accepted, within § 16-11,
exactly once. A refused action (a BillingError) is fine; any other exception is a failure.

Each example runs in a savepoint of the test's transaction that is rolled back afterwards, so every
example starts from the same database (company, users). Side effects queued with on_commit never run
inside the test transaction; the machine runs what matters for money itself (card refunds at the
local provider, bank payouts). PDFs of change notices and reminders are stubbed: rendering is not
what is tested here and would make a few hundred examples take minutes.

`make test` runs the "default" profile (bounded, derandomised under CI); `make fuzz` runs
HYPOTHESIS_PROFILE=fuzz with a few thousand examples.
"""

from __future__ import annotations

import datetime as dt
import os
from collections import defaultdict
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from billing import lifecycle, money, norwegian, services
from billing.errors import BillingError
from billing.models import (
    Acceptance,
    AuditEvent,
    ChangeNotice,
    CostLine,
    Invoice,
    InvoiceLine,
    Payment,
)
from billing.status import AFTER_ACCEPTANCE, EDITABLE, Status
from integrations.erp import services as erp
from portal.payments import LocalProvider

D = Decimal
ZERO = D("0.00")
CAP = D("1.15")

_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
settings.register_profile(
    "default", max_examples=120, stateful_step_count=25, deadline=None, print_blob=True,
    derandomize=_CI, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
settings.register_profile(
    "fuzz", max_examples=3000, stateful_step_count=40, deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "default")

PRICES = st.sampled_from(["100.00", "1234.50", "18450.00", "99999.00", "0.01", "5000.00"])
CATEGORIES = st.sampled_from(["connection_contribution", "resealing"])  # O and S (25 %)
PICK = st.integers(min_value=0, max_value=20)
PAYOUT_ACCOUNT = "12345678903"


def _pick(items, i):
    return items[i % len(items)] if items else None


def camt054(*, ref: str, kid: str, amount: Decimal) -> bytes:
    """One booked credit with a KID, as the bank sends it."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.02"><BkToCstmrDbtCdtNtfctn><Ntfctn>
<Ntry><Amt Ccy="NOK">{amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>
<BookgDt><Dt>{services.today().isoformat()}</Dt></BookgDt><AcctSvcrRef>{ref}</AcctSvcrRef>
<NtryDtls><TxDtls><Refs><AcctSvcrRef>{ref}</AcctSvcrRef></Refs><Amt Ccy="NOK">{amount}</Amt>
<RmtInf><Strd><CdtrRefInf><Ref>{kid}</Ref></CdtrRefInf></Strd></RmtInf></TxDtls></NtryDtls></Ntry>
</Ntfctn></BkToCstmrDbtCdtNtfctn></Document>""".encode()


# --- what the documents say -----------------------------------------------------------------------


def issued(basis):
    return list(Invoice.objects.filter(basis=basis, number__isnull=False).order_by("series", "number"))


def charged_by_code(basis) -> dict[str, Decimal]:
    """Net charged per VAT code: issued invoices minus credit notes."""
    out: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for il in InvoiceLine.objects.filter(invoice__basis=basis, invoice__number__isnull=False).select_related("invoice"):
        sign = -1 if il.invoice.kind == Invoice.Kind.CREDIT_NOTE else 1
        out[il.vat_code] += sign * il.amount
    return out


def accepted_by_code(basis):
    """(accepted offer snapshot lines by id, accepted estimate per VAT code incl. accepted changes)."""
    acceptance = (Acceptance.objects.filter(basis=basis, decision="accepted").select_related("offer")
                  .order_by("-id").first())
    per_code: dict[str, Decimal] = defaultdict(lambda: ZERO)
    snapshot = {}
    if acceptance is None:
        return None, per_code
    for row in acceptance.offer.snapshot["lines"]:
        snapshot[row["id"]] = row
        per_code[row["vat_code"]] += D(row["amount"])
    for notice in ChangeNotice.objects.filter(basis=basis, status=ChangeNotice.Status.ACCEPTED):
        for row in notice.snapshot["lines"]:
            per_code[row["vat_code"]] += D(row["amount"])
    return snapshot, per_code


class MoneyMachine(RuleBasedStateMachine):
    """One basis, its customer and everything that can happen to its money."""

    ctx: dict = {}

    def __init__(self):
        super().__init__()
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        self.by = self.ctx["caseworker"]
        self.customer_user = self.ctx["customer_user"]
        customer = services.customer_create(name="Kari Nordmann", email="kari@example.com", street="Bakkeveien 2",
                                            postal_code="5010", city="Bergen", bank_account=PAYOUT_ACCOUNT)
        self.basis, _ = services.basis_create(by=self.by, customer=customer, title="Ny tilknytning")
        self.counter = 0
        self.settled: dict[str, Decimal] | None = None  # charged per VAT code the last settlement fixed
        self.credited_after_settlement: dict[str, Decimal] = defaultdict(lambda: ZERO)
        self.n_lines = self.n_invoices = self.n_notices = self.n_pending_refunds = 0

    def teardown(self):
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    # --- helpers --------------------------------------------------------------------------------

    def refresh(self):
        self.basis.refresh_from_db()
        return self.basis

    def next_ref(self, prefix):
        self.counter += 1
        return f"{prefix}-{self.basis.pk}-{self.counter}"

    def try_(self, fn, **kw):
        try:
            return fn(**kw)
        except BillingError:
            return None

    def lines(self, **filters):
        return list(self.basis.lines.filter(**filters).order_by("pk"))

    def invoices(self):
        return list(Invoice.objects.filter(basis=self.basis, number__isnull=False)
                    .exclude(kind=Invoice.Kind.CREDIT_NOTE).order_by("number"))

    # --- lines ----------------------------------------------------------------------------------

    @rule(category=CATEGORIES, price=PRICES, qty=st.sampled_from(["1", "2", "0.5"]))
    def add_estimate_line(self, category, price, qty):
        self.try_(services.line_add, basis=self.basis, by=self.by, category=category, description="Kostnad",
                  quantity=D(qty), unit_price=D(price))

    @precondition(lambda self: self.basis.status in AFTER_ACCEPTANCE)
    @rule(category=CATEGORIES, price=PRICES, customer_caused=st.booleans())
    def add_actual_line(self, category, price, customer_caused):
        self.try_(services.line_add, basis=self.basis, by=self.by, category=category, description="Faktisk",
                  quantity=D("1"), unit_price=D(price), phase=CostLine.Phase.ACTUAL, customer_caused=customer_caused)

    @precondition(lambda self: self.n_lines)
    @rule(i=PICK, price=PRICES)
    def edit_line(self, i, price):
        line = _pick(self.lines(), i)
        if line:
            self.try_(services.line_update, line=line, by=self.by, unit_price=D(price))

    @precondition(lambda self: self.n_lines)
    @rule(i=PICK)
    def remove_line(self, i):
        line = _pick(self.lines(), i)
        if line:
            self.try_(services.line_remove, line=line, by=self.by)

    # --- offer ----------------------------------------------------------------------------------

    @precondition(lambda self: self.basis.status in EDITABLE and self.n_lines)
    @rule()
    def send_offer(self):
        self.try_(services.offer_send, basis=self.basis, by=self.by)

    @precondition(lambda self: self.basis.status == Status.OFFER_SENT)
    @rule(oldest=st.booleans())
    def accept_offer(self, oldest):
        offers = list(self.basis.offers.filter(kind="offer").order_by("version"))
        if offers:
            self.try_(services.offer_accept, basis=self.basis, by=self.customer_user,
                      offer=offers[0] if oldest else offers[-1])

    @precondition(lambda self: self.basis.status == Status.OFFER_SENT)
    @rule()
    def decline_offer(self):
        self.try_(services.offer_decline, basis=self.basis, by=self.customer_user, reason="For dyrt")

    @precondition(lambda self: self.basis.status == Status.OFFER_SENT)
    @rule()
    def expire_offer(self):
        b = self.refresh()
        if b.offer_valid_until:
            self.try_(services.offer_expire, basis=b, on=b.offer_valid_until + dt.timedelta(days=1))

    # --- change notices -------------------------------------------------------------------------

    @precondition(lambda self: self.basis.status in AFTER_ACCEPTANCE)
    @rule()
    def send_change_notice(self):
        self.try_(lifecycle.change_notice_send, basis=self.basis, by=self.by)

    @precondition(lambda self: self.n_notices)
    @rule(i=PICK, accept=st.booleans())
    def answer_change_notice(self, i, accept):
        notice = _pick(list(self.basis.change_notices.order_by("version")), i)
        if notice:
            self.try_(lifecycle.change_notice_answer, notice=notice, by=self.customer_user,
                      decision="accepted" if accept else "declined")

    @precondition(lambda self: self.n_notices)
    @rule(i=PICK)
    def expire_change_notice(self, i):
        notice = _pick(list(self.basis.change_notices.order_by("version")), i)
        if notice:
            self.try_(lifecycle.change_notice_expire, notice=notice, on=notice.valid_until + dt.timedelta(days=1))

    # --- invoices and settlement ----------------------------------------------------------------

    @precondition(lambda self: self.basis.status in AFTER_ACCEPTANCE)
    @rule()
    def issue_invoices(self):
        self.try_(services.invoices_issue, basis=self.basis, by=self.by)

    @precondition(lambda self: self.basis.status in AFTER_ACCEPTANCE)
    @rule()
    def settle(self):
        docs = self.try_(services.final_settle, basis=self.basis, by=self.by)
        if docs is None:
            return
        event = (AuditEvent.objects.filter(basis=self.basis, action="billing.basis.final_settled")
                 .order_by("-id").first())
        if docs and event is not None:
            self.settled = {code: D(s["recalculated"]) for code, s in event.data["settlement"].items()}
            self.credited_after_settlement = defaultdict(lambda: ZERO)

    @precondition(lambda self: self.n_invoices)
    @rule(i=PICK, fraction=st.sampled_from(["0.5", "0.1", "1"]))
    def credit_by_amount(self, i, fraction):
        inv = _pick(self.invoices(), i)
        if inv is None:
            return
        amount = money.round_ore(inv.net_total * D(fraction))
        if amount > 0:
            self._credit(inv, amount=amount)

    @precondition(lambda self: self.n_invoices)
    @rule(i=PICK, j=PICK)
    def credit_by_line(self, i, j):
        inv = _pick(self.invoices(), i)
        line = _pick(list(inv.lines.order_by("pk")), j) if inv else None
        if line:
            self._credit(inv, line_ids=[line.pk])

    @precondition(lambda self: self.n_invoices)
    @rule(i=PICK)
    def credit_fully(self, i):
        inv = _pick(self.invoices(), i)
        if inv:
            self._credit(inv)

    def _credit(self, inv, **kw):
        credit = self.try_(services.invoice_credit, invoice=inv, by=self.by, reason="Korrigering", **kw)
        if credit is not None and self.settled is not None:
            for ln in credit.lines.all():
                self.credited_after_settlement[ln.vat_code] += ln.amount

    # --- payments -------------------------------------------------------------------------------

    @precondition(lambda self: self.n_invoices)
    @rule(i=PICK, twice=st.booleans())
    def pay_by_card(self, i, twice):
        """The portal's pay button (in one or two tabs), then the provider confirms each checkout."""
        inv = _pick(self.invoices(), i)
        if inv is None:
            return
        owed = lifecycle.amount_owed(inv)
        if owed <= 0:
            return  # the portal does not offer to pay
        provider = LocalProvider()
        checkouts = []
        for _n in range(2 if twice else 1):
            checkouts.append(provider.start_checkout(invoice=inv, amount=owed, attempt=self.next_ref("tab"),
                                                     by=self.customer_user, success_url="/", cancel_url="/"))
        for checkout in checkouts:
            services.payment_confirm(payment=checkout.payment, by=self.customer_user)

    @precondition(lambda self: self.n_invoices)
    @rule(i=PICK, how=st.sampled_from(["partial", "exact", "over"]))
    def pay_by_bank(self, i, how):
        inv = _pick(self.invoices(), i)
        if inv is None:
            return
        owed = lifecycle.amount_owed(inv)
        amount = {"partial": money.round_ore(owed / 2), "exact": owed, "over": owed + D("500.00")}[how]
        if amount <= 0:
            amount = D("250.00")  # a customer paying an invoice that is already paid
        erp.bank_import_file(data=camt054(ref=self.next_ref("BANK"), kid=inv.kid, amount=amount),
                             filename="camt054.xml")

    @precondition(lambda self: self.n_invoices)
    @rule(i=PICK)
    def send_reminder(self, i):
        inv = _pick(self.invoices(), i)
        if inv is None:
            return
        on = inv.due_date + dt.timedelta(days=15 + 30 * inv.reminders.count())
        self.try_(lifecycle.reminder_send, invoice=inv, on=on)

    @precondition(lambda self: self.n_pending_refunds)
    @rule()
    def execute_refunds(self):
        """The refund task (card, through the provider) and the case worker's bank payout."""
        for p in Payment.objects.filter(invoice__basis=self.basis, direction=Payment.Direction.REFUND,
                                        status=Payment.Status.PENDING).order_by("pk"):
            if p.method == Payment.Method.CARD:
                lifecycle.refund_execute(payment=p)
            else:
                self.try_(lifecycle.refund_mark_paid_out, payment=p, by=self.by, account=PAYOUT_ACCOUNT)

    # --- invariants -----------------------------------------------------------------------------

    @invariant()
    def charged_within_accepted_and_cap(self):
        basis = self.refresh()
        charged = charged_by_code(basis)
        _snapshot, accepted = accepted_by_code(basis)
        cc_actual: dict[str, Decimal] = defaultdict(lambda: ZERO)
        for ln in basis.lines.filter(phase=CostLine.Phase.ACTUAL, customer_caused=True).select_related("vat_code"):
            cc_actual[ln.vat_code.code] += ln.amount
        for code, amount in charged.items():
            limit = money.round_ore(accepted[code] * CAP) + cc_actual[code]
            assert amount <= limit, (
                f"charged {amount} on VAT code {code}, more than accepted {accepted[code]} × 1,15 "
                f"+ customer-caused {cc_actual[code]}")
            assert amount >= 0, f"credited more than invoiced on VAT code {code}: {amount}"
        if self.settled is not None:
            for code, settled in self.settled.items():
                expected = settled - self.credited_after_settlement[code]
                assert charged[code] == expected, (
                    f"after the final settlement, charged {charged[code]} on VAT code {code}; "
                    f"settled {settled}, credited since {self.credited_after_settlement[code]}")

    @invariant()
    def lines_invoiced_once_and_as_accepted(self):
        basis = self.basis
        snapshot, _accepted = accepted_by_code(basis)
        net_count: dict[int, int] = defaultdict(int)
        rows = (InvoiceLine.objects.filter(invoice__basis=basis, invoice__number__isnull=False,
                                           cost_line__isnull=False)
                .select_related("invoice", "cost_line", "cost_line__change_notice"))
        for il in rows:
            credit = il.invoice.kind == Invoice.Kind.CREDIT_NOTE
            net_count[il.cost_line_id] += -1 if credit else 1
            line = il.cost_line
            if credit or line.phase != CostLine.Phase.ESTIMATE:
                continue
            if line.is_change:
                notice = line.change_notice
                assert notice is not None and notice.status == ChangeNotice.Status.ACCEPTED, (
                    f"change line {line.pk} invoiced on {il.invoice.number} without an accepted change notice")
                continue
            assert snapshot is not None and line.pk in snapshot, (
                f"estimate line {line.pk} invoiced on {il.invoice.number} but not in the accepted offer")
            assert il.amount == D(snapshot[line.pk]["amount"]), (
                f"estimate line {line.pk} invoiced at {il.amount}, the accepted offer says "
                f"{snapshot[line.pk]['amount']}")
        for pk, count in net_count.items():
            assert count <= 1, f"cost line {pk} invoiced {count} times"

    @invariant()
    def payments_never_exceed_what_is_due_without_a_refund(self):
        for inv in self.invoices():
            paid = services.invoice_paid_amount(inv)  # confirmed payments − confirmed refunds
            due = inv.gross_total - services.invoice_credited_amount(inv) + lifecycle.reminder_fees(inv)
            excess = paid - due
            if excess > 0:
                pending = sum((p.amount for p in inv.payments.filter(direction=Payment.Direction.REFUND,
                                                                      status=Payment.Status.PENDING)), ZERO)
                assert pending >= excess, (
                    f"invoice {inv.number}: paid {paid}, due {due} (incl. fees); {excess} too much and only "
                    f"{pending} on its way back")

    @invariant()
    def numbers_gapless_and_kids_valid(self):
        # Every document in this example's savepoint belongs to this basis (the database is rolled back).
        for series_kind in (Invoice.Kind.CREDIT_NOTE, None):
            qs = Invoice.objects.filter(number__isnull=False)
            qs = qs.filter(kind=series_kind) if series_kind else qs.exclude(kind=Invoice.Kind.CREDIT_NOTE)
            numbers = sorted(qs.values_list("number", flat=True))
            assert len(numbers) == len(set(numbers)), f"duplicate numbers {numbers}"
            if numbers:
                assert numbers == list(range(numbers[0], numbers[0] + len(numbers))), f"gap in {numbers}"
        kids = list(Invoice.objects.filter(number__isnull=False).exclude(kind=Invoice.Kind.CREDIT_NOTE)
                    .values_list("kid", flat=True))
        assert len(kids) == len(set(kids)), f"duplicate KIDs {kids}"
        scheme = self.ctx["company"].kid_scheme
        for kid in kids:
            assert norwegian.kid_valid(kid, scheme), f"invalid KID {kid!r}"

    @invariant()
    def status_agrees_with_documents(self):
        basis = self.refresh()
        invoices = self.invoices()
        # What the next step's preconditions look at.
        self.n_lines = basis.lines.count()
        self.n_invoices = len(invoices)
        self.n_notices = basis.change_notices.count()
        self.n_pending_refunds = Payment.objects.filter(invoice__basis=basis, direction=Payment.Direction.REFUND,
                                                        status=Payment.Status.PENDING).count()
        if basis.status in (Status.DRAFT, Status.OFFER_SENT, Status.DECLINED, Status.EXPIRED, Status.ACCEPTED):
            assert not invoices, f"status {basis.status} but invoices {[i.number for i in invoices]} are issued"
        if basis.status in (Status.INVOICED, Status.PAID):
            assert invoices, f"status {basis.status} without an issued invoice"
        owed = {inv.number: lifecycle.amount_owed(inv) for inv in invoices}
        if basis.status == Status.PAID:
            assert all(v == 0 for v in owed.values()), f"«Faktura betalt» while owed {owed}"
        if basis.status == Status.INVOICED:
            assert any(v > 0 for v in owed.values()), f"«Faktura sendt» while nothing is owed ({owed})"


@pytest.fixture
def machine_context(db, company, caseworker, customer_user, monkeypatch):
    monkeypatch.setattr(lifecycle, "render_pdf", lambda template, context: b"%PDF-1.4 stub")
    MoneyMachine.ctx = {"company": company, "caseworker": caseworker, "customer_user": customer_user}
    yield
    MoneyMachine.ctx = {}


def test_money_invariants_hold_over_random_sequences(machine_context):
    run_state_machine_as_test(MoneyMachine, settings=settings.get_profile(PROFILE))


def run_steps(*steps):
    """Run one sequence of the machine's rules, checking every invariant after each (a found example)."""
    machine = MoneyMachine()
    try:
        for name, kwargs in steps:
            getattr(machine, name)(**kwargs)
            for check in INVARIANTS:
                getattr(machine, check)()
    finally:
        machine.teardown()


INVARIANTS = ("charged_within_accepted_and_cap", "lines_invoiced_once_and_as_accepted",
              "payments_never_exceed_what_is_due_without_a_refund", "numbers_gapless_and_kids_valid",
              "status_agrees_with_documents")


def test_invoice_equals_the_accepted_offer_after_an_edit_while_it_was_out(machine_context):
    run_steps(("add_estimate_line", {"category": "connection_contribution", "price": "18450.00", "qty": "1"}),
              ("send_offer", {}),
              ("edit_line", {"i": 0, "price": "99999.00"}),
              ("accept_offer", {"oldest": False}),
              ("issue_invoices", {}))
