"""The money invariants of one invoice basis, tested as a state machine.

Hypothesis drives the services the case worker's views, the portal and the bank import use, in random
order, and checks after every step that the customer is billed what they accepted, within § 16-11,
exactly once. A refused action (a BillingError) is fine; any other exception is a failure.

Each example runs in a savepoint of the test's transaction that is rolled back afterwards, so every
example starts from the same database (company, users). Side effects queued with on_commit never run
inside the test transaction; the machine runs what matters for money itself (card refunds at the
local provider, bank payouts). PDFs of change notices and reminders are stubbed: rendering is not
what is tested here and would make a few hundred examples take minutes.

`make test` runs the "money" profile (bounded, derandomised under CI); `make fuzz` runs
HYPOTHESIS_PROFILE=fuzz with a few thousand examples.
"""

from __future__ import annotations

import datetime as dt
import os
from collections import defaultdict
from decimal import Decimal

import pytest
from django.db import connection, transaction
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from billing import money, norwegian, providers, selectors, services
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
from billing.services.checkout import checkout_start
from billing.status import AFTER_ACCEPTANCE, EDITABLE, Status
from integrations.erp import services as erp

D = Decimal
ZERO = D("0.00")
CAP = D("1.15")

_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
# Under CI the examples are derived from the test's name (the same every run) and the local example
# database is not read, so a red build is reproducible from the printed blob alone.
# Named profiles of their own: re-registering hypothesis' "default" would change every other property
# test in the suite.
settings.register_profile(
    "money", max_examples=200, stateful_step_count=20, deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    **({"derandomize": True, "database": None} if _CI else {}),
)
settings.register_profile(
    "fuzz", max_examples=2000, stateful_step_count=30, deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
PROFILE = "fuzz" if os.environ.get("HYPOTHESIS_PROFILE") == "fuzz" else "money"

PRICES = st.sampled_from(["100.00", "1234.50", "18450.00", "99999.00", "0.01", "5000.00"])
CATEGORIES = st.sampled_from(["connection_contribution", "resealing"])  # O and S (25 %)
PICK = st.integers(min_value=0, max_value=20)
PAYOUT_ACCOUNT = "12345678903"


def note_event(name: str) -> None:
    """Count what the examples reached (`--hypothesis-show-statistics`); a no-op in the plain examples."""
    try:
        event(name)
    except InvalidArgument:
        pass


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


def accepted_by_code(basis, notices=None):
    """(accepted offer snapshot lines by id, accepted estimate per VAT code incl. accepted changes).
    `notices`: the basis' change notices when the caller has read them already."""
    acceptance = (Acceptance.objects.filter(basis=basis, decision="accepted").select_related("offer")
                  .order_by("-id").first())
    per_code: dict[str, Decimal] = defaultdict(lambda: ZERO)
    snapshot = {}
    if acceptance is None:
        return None, per_code
    for row in acceptance.offer.snapshot["lines"]:
        snapshot[row["id"]] = row
        per_code[row["vat_code"]] += D(row["amount"])
    if notices is None:
        notices = ChangeNotice.objects.filter(basis=basis)
    for notice in notices:
        if notice.status != ChangeNotice.Status.ACCEPTED:
            continue
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

    # --- a head start: lines, and how far the case has come before the random steps ---------------

    @initialize(categories=st.lists(CATEGORIES, min_size=1, max_size=3), price=PRICES,
                stage=st.sampled_from(["draft", "offer_sent", "accepted", "invoiced"]))
    def start(self, categories, price, stage):
        for category in categories:
            services.line_add(basis=self.basis, by=self.by, category=category, description="Kostnad",
                              quantity=D("1"), unit_price=D(price))
        if stage == "draft":
            return
        services.offer_send(basis=self.basis, by=self.by)
        if stage == "offer_sent":
            return
        services.offer_accept(basis=self.basis, by=self.customer_user)
        if stage == "invoiced":
            services.invoices_issue(basis=self.basis, by=self.by)

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
        self.try_(services.change_notice_send, basis=self.basis, by=self.by)

    @precondition(lambda self: self.n_notices)
    @rule(i=PICK, accept=st.booleans())
    def answer_change_notice(self, i, accept):
        notice = _pick(list(self.basis.change_notices.order_by("version")), i)
        if notice:
            self.try_(services.change_notice_answer, notice=notice, by=self.customer_user,
                      decision="accepted" if accept else "declined")

    @precondition(lambda self: self.n_notices)
    @rule(i=PICK)
    def expire_change_notice(self, i):
        notice = _pick(list(self.basis.change_notices.order_by("version")), i)
        if notice:
            self.try_(services.change_notice_expire, notice=notice, on=notice.valid_until + dt.timedelta(days=1))

    @precondition(lambda self: self.basis.status in AFTER_ACCEPTANCE)
    @rule(category=CATEGORIES, price=PRICES, accept=st.booleans())
    def change_round_trip(self, category, price, accept):
        """A change after acceptance, notified and answered in one go (the atomic steps exist too)."""
        self.add_estimate_line(category=category, price=price, qty="1")
        notice = self.try_(services.change_notice_send, basis=self.basis, by=self.by)
        if notice is not None:
            self.try_(services.change_notice_answer, notice=notice, by=self.customer_user,
                      decision="accepted" if accept else "declined")

    # --- invoices and settlement ----------------------------------------------------------------

    @precondition(lambda self: self.basis.status in AFTER_ACCEPTANCE)
    @rule()
    def issue_invoices(self):
        issued = self.try_(services.invoices_issue, basis=self.basis, by=self.by) or []
        for inv in issued:
            note_event(f"{inv.get_kind_display()} issued")

    @precondition(lambda self: self.basis.status in AFTER_ACCEPTANCE)
    @rule()
    def settle(self):
        docs = self.try_(services.final_settle, basis=self.basis, by=self.by)
        if docs is None:
            return
        settled_event = (AuditEvent.objects.filter(basis=self.basis, action="billing.basis.final_settled")
                 .order_by("-id").first())
        if docs and settled_event is not None:
            note_event("final settlement issued documents")
            self.settled = {code: D(s["recalculated"]) for code, s in settled_event.data["settlement"].items()}
            self.credited_after_settlement = defaultdict(lambda: ZERO)

    @precondition(lambda self: self.basis.status in AFTER_ACCEPTANCE)
    @rule(category=CATEGORIES, price=PRICES, customer_caused=st.booleans())
    def actual_cost_then_settle(self, category, price, customer_caused):
        self.add_actual_line(category=category, price=price, customer_caused=customer_caused)
        self.settle()

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
        if credit is not None:
            note_event("credit note issued")
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
        owed = selectors.amount_owed(inv)
        if owed <= 0:
            return  # the portal does not offer to pay
        provider = providers.get_provider(providers.LOCAL)
        checkouts = []
        for _n in range(2 if twice else 1):
            checkouts.append(checkout_start(provider=provider, invoice=inv, amount=owed, attempt=self.next_ref("tab"),
                                            by=self.customer_user, success_url="/", cancel_url="/"))
        for checkout in checkouts:
            services.payment_confirm(payment=checkout.payment, by=self.customer_user)
        note_event("paid by card in two tabs" if twice else "paid by card")

    @precondition(lambda self: self.n_invoices)
    @rule(i=PICK, how=st.sampled_from(["partial", "exact", "over"]))
    def pay_by_bank(self, i, how):
        inv = _pick(self.invoices(), i)
        if inv is None:
            return
        owed = selectors.amount_owed(inv)
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
        self.try_(services.reminder_send, invoice=inv, on=on)

    @precondition(lambda self: self.n_pending_refunds)
    @rule()
    def execute_refunds(self):
        """The refund task (card, through the provider) and the case worker's bank payout."""
        for p in Payment.objects.filter(invoice__basis=self.basis, direction=Payment.Direction.REFUND,
                                        status=Payment.Status.PENDING).order_by("pk"):
            note_event("refund executed")
            if p.method == Payment.Method.CARD:
                services.refund_execute(payment=p)
            else:
                self.try_(services.refund_mark_paid_out, payment=p, by=self.by, account=PAYOUT_ACCOUNT)

    # --- invariants -----------------------------------------------------------------------------

    @invariant()
    def stored_outstanding_is_exact(self):
        """The outstanding amount PostgreSQL stores per invoice for the work list's overdue filter
        (billing/migrations/0012_invoice_outstanding.py, kept by triggers) is the rule's, after every step."""
        if connection.vendor != "postgresql":
            return
        with connection.cursor() as cursor:
            cursor.execute("SELECT id, outstanding FROM billing_invoice WHERE basis_id = %s", [self.basis.pk])
            stored = dict(cursor.fetchall())
        for inv in Invoice.objects.filter(basis=self.basis, number__isnull=False).exclude(kind=Invoice.Kind.CREDIT_NOTE):
            assert stored[inv.pk] == selectors.invoice_outstanding(inv), inv

    @invariant()
    def money_is_right(self):
        """All checks on one read of the basis' documents (a few queries per step keeps it fast)."""
        basis = self.refresh()
        docs = list(Invoice.objects.filter(basis=basis, number__isnull=False)
                    .prefetch_related("lines__cost_line__change_notice", "payments", "reminders")
                    .order_by("number"))
        invoices = [d for d in docs if d.kind != Invoice.Kind.CREDIT_NOTE]
        lines = list(basis.lines.select_related("vat_code"))
        notices = list(basis.change_notices.all())
        snapshot, accepted = accepted_by_code(basis, notices)
        self.check_charged_within_accepted_and_cap(lines, docs, accepted)
        self.check_lines_invoiced_once_and_as_accepted(docs, snapshot)
        self.check_payments_never_exceed_what_is_due_without_a_refund(docs, invoices)
        self.check_numbers_gapless_and_kids_valid(docs)
        self.check_status_agrees_with_documents(basis, invoices)
        # What the next step's preconditions look at.
        self.n_lines = len(lines)
        self.n_invoices = len(invoices)
        self.n_notices = len(notices)
        self.n_pending_refunds = sum(1 for d in invoices for p in d.payments.all()
                                     if p.direction == Payment.Direction.REFUND and p.status == Payment.Status.PENDING)

    def check_charged_within_accepted_and_cap(self, lines, docs, accepted):
        """Issued invoices − credit notes ≤ (accepted offer + accepted changes) × 1,15 + customer-caused
        actual cost, per VAT code; after a final settlement, exactly the settled amount."""
        charged: dict[str, Decimal] = defaultdict(lambda: ZERO)
        for d in docs:
            sign = -1 if d.kind == Invoice.Kind.CREDIT_NOTE else 1
            for il in d.lines.all():
                charged[il.vat_code] += sign * il.amount
        cc_actual: dict[str, Decimal] = defaultdict(lambda: ZERO)
        for ln in lines:
            if ln.phase == CostLine.Phase.ACTUAL and ln.customer_caused:
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

    def check_lines_invoiced_once_and_as_accepted(self, docs, snapshot):
        """Every cost line is invoiced at most once (net of credit notes); a change line only once its
        notice was accepted; an offer line at the accepted offer's snapshot amount."""
        net_count: dict[int, int] = defaultdict(int)
        for d in docs:
            credit = d.kind == Invoice.Kind.CREDIT_NOTE
            for il in d.lines.all():
                if il.cost_line_id is None:
                    continue
                net_count[il.cost_line_id] += -1 if credit else 1
                line = il.cost_line
                if credit or line.phase != CostLine.Phase.ESTIMATE:
                    continue
                if line.is_change:
                    notice = line.change_notice
                    assert notice is not None and notice.status == ChangeNotice.Status.ACCEPTED, (
                        f"change line {line.pk} invoiced on {d.number} without an accepted change notice")
                    continue
                assert snapshot is not None and line.pk in snapshot, (
                    f"estimate line {line.pk} invoiced on {d.number} but not in the accepted offer")
                assert il.amount == D(snapshot[line.pk]["amount"]), (
                    f"estimate line {line.pk} invoiced at {il.amount}, the accepted offer says "
                    f"{snapshot[line.pk]['amount']}")
        for pk, count in net_count.items():
            assert count <= 1, f"cost line {pk} invoiced {count} times"

    def check_payments_never_exceed_what_is_due_without_a_refund(self, docs, invoices):
        """Per invoice: paid − refunded ≤ gross − credited + reminder fees, or the excess is on its way back."""
        credited: dict[int, Decimal] = defaultdict(lambda: ZERO)
        for d in docs:
            if d.kind == Invoice.Kind.CREDIT_NOTE and d.credited_invoice_id:
                credited[d.credited_invoice_id] += d.gross_total
        for inv in invoices:
            payments = inv.payments.all()
            paid = sum((p.amount for p in payments if p.direction == Payment.Direction.PAYMENT
                        and p.status in (Payment.Status.CONFIRMED, Payment.Status.REFUNDED)), ZERO)
            refunded = sum((p.amount for p in payments if p.direction == Payment.Direction.REFUND
                            and p.status == Payment.Status.CONFIRMED), ZERO)
            pending = sum((p.amount for p in payments if p.direction == Payment.Direction.REFUND
                           and p.status == Payment.Status.PENDING), ZERO)
            due = inv.gross_total - credited[inv.pk] + sum((r.fee for r in inv.reminders.all()), ZERO)
            excess = paid - refunded - due
            assert excess <= pending, (
                f"invoice {inv.number}: paid {paid} − refunded {refunded}, due {due} (incl. fees); "
                f"{excess} too much and only {pending} on its way back")

    def check_numbers_gapless_and_kids_valid(self, docs):
        """Invoice and credit-note numbers are gapless and unique per series; KIDs unique and valid.
        (The example's savepoint holds only this basis' documents.)"""
        assert Invoice.objects.filter(number__isnull=False).count() == len(docs)
        for series in {d.series for d in docs}:
            numbers = sorted(d.number for d in docs if d.series == series)
            assert numbers == list(range(numbers[0], numbers[0] + len(numbers))), f"{series}: not gapless {numbers}"
        kids = [d.kid for d in docs if d.kind != Invoice.Kind.CREDIT_NOTE]
        assert len(kids) == len(set(kids)), f"duplicate KIDs {kids}"
        scheme = self.ctx["company"].kid_scheme
        for kid in kids:
            assert norwegian.kid_valid(kid, scheme), f"invalid KID {kid!r}"

    def check_status_agrees_with_documents(self, basis, invoices):
        """No invoice before acceptance; «Faktura betalt» only when nothing is owed, «Faktura sendt»
        only while something is."""
        if basis.status in (Status.DRAFT, Status.OFFER_SENT, Status.DECLINED, Status.EXPIRED, Status.ACCEPTED):
            assert not invoices, f"status {basis.status} but invoices {[i.number for i in invoices]} are issued"
        if basis.status in (Status.INVOICED, Status.PAID):
            assert invoices, f"status {basis.status} without an issued invoice"
            owed = {inv.number: selectors.amount_owed(inv) for inv in invoices}
            if basis.status == Status.PAID:
                assert all(v == 0 for v in owed.values()), f"«Faktura betalt» while owed {owed}"
            else:
                assert any(v > 0 for v in owed.values()), f"«Faktura sendt» while nothing is owed ({owed})"


@pytest.fixture
def machine_context(db, company, caseworker, customer_user):
    # No PDF is rendered here: documents are rendered after commit, and each example rolls back.
    MoneyMachine.ctx = {"company": company, "caseworker": caseworker, "customer_user": customer_user}
    yield
    MoneyMachine.ctx = {}


@pytest.mark.long(120)
def test_money_invariants_hold_over_random_sequences(machine_context):
    profile = settings.get_profile(PROFILE)
    if os.environ.get("MONEY_EXAMPLES"):  # a quick local look: MONEY_EXAMPLES=20
        profile = settings(profile, max_examples=int(os.environ["MONEY_EXAMPLES"]))
    run_state_machine_as_test(MoneyMachine, settings=profile)


def run_steps(*steps):
    """Run one sequence of the machine's rules, checking every invariant after each (a found example)."""
    machine = MoneyMachine()
    try:
        for name, kwargs in steps:
            getattr(machine, name)(**kwargs)
            machine.money_is_right()
    finally:
        machine.teardown()




def test_invoice_equals_the_accepted_offer_after_an_edit_while_it_was_out(machine_context):
    run_steps(("add_estimate_line", {"category": "connection_contribution", "price": "18450.00", "qty": "1"}),
              ("send_offer", {}),
              ("edit_line", {"i": 0, "price": "99999.00"}),
              ("accept_offer", {"oldest": False}),
              ("issue_invoices", {}))


# --- sequences the machine found, kept as plain examples --------------------------------------------

O_LINE = ("add_estimate_line", {"category": "connection_contribution", "price": "100.00", "qty": "1"})


def test_a_line_added_while_the_offer_is_out_is_not_invoiced_as_accepted(machine_context):
    run_steps(O_LINE, ("send_offer", {}), O_LINE, ("accept_offer", {"oldest": False}), ("issue_invoices", {}))


def test_nothing_is_invoiced_again_after_the_final_settlement(machine_context):
    run_steps(O_LINE, ("send_offer", {}), ("accept_offer", {"oldest": False}),
              ("add_actual_line", {"category": "connection_contribution", "price": "1234.50",
                                   "customer_caused": False}),
              ("settle", {}), ("issue_invoices", {}))


def test_an_accepted_change_is_not_invoiced_again_after_the_final_settlement(machine_context):
    run_steps(O_LINE, ("send_offer", {}), ("accept_offer", {"oldest": False}), ("issue_invoices", {}),
              ("change_round_trip", {"category": "connection_contribution", "price": "100.00", "accept": True}),
              ("add_actual_line", {"category": "connection_contribution", "price": "5000.00",
                                   "customer_caused": False}),
              ("settle", {}), ("issue_invoices", {}))


def test_an_invoice_paid_by_card_in_two_tabs_gets_the_second_payment_refunded(machine_context):
    run_steps(O_LINE, ("send_offer", {}), ("accept_offer", {"oldest": False}), ("issue_invoices", {}),
              ("pay_by_card", {"i": 0, "twice": True}))


def test_a_bank_overpayment_is_refunded(machine_context):
    run_steps(O_LINE, ("send_offer", {}), ("accept_offer", {"oldest": False}), ("issue_invoices", {}),
              ("pay_by_bank", {"i": 0, "how": "over"}))


def test_a_basis_with_an_unpaid_reminder_fee_is_not_paid(machine_context, customer_client, customer_user):
    """Found by the machine: invoice, reminder, then the invoice amount settled (here by a full credit)
    left the basis «Faktura betalt» while the portal still asked for the reminder fee."""
    run_steps(("start", {"categories": ["connection_contribution"], "price": "100.00", "stage": "invoiced"}),
              ("send_reminder", {"i": 0}), ("credit_by_amount", {"i": 0, "fraction": "1"}))


def test_paying_only_the_invoice_amount_after_a_reminder_leaves_the_fee_owed(machine_context, caseworker,
                                                                             customer_user, customer_client):
    machine = MoneyMachine()
    try:
        machine.basis.customer.user = customer_user
        machine.basis.customer.save(update_fields=["user"])
        machine.start(categories=["connection_contribution"], price="100.00", stage="invoiced")
        [invoice] = machine.invoices()
        machine.send_reminder(i=0)
        erp.bank_import_file(data=camt054(ref="BANK-BALANCE", kid=invoice.kid, amount=D("100.00")),
                             filename="camt054.xml")
        machine.money_is_right()
        home = customer_client.get("/portal/").content.decode()
        assert "Faktura sendt" in home and "Faktura betalt" not in home
        erp.bank_import_file(data=camt054(ref="BANK-FEE", kid=invoice.kid, amount=D("35.00")),
                             filename="camt054.xml")
        machine.money_is_right()
        assert machine.refresh().status == Status.PAID
        assert "Faktura betalt" in customer_client.get("/portal/").content.decode()
    finally:
        machine.teardown()


def test_a_line_is_credited_once_and_never_beyond_what_was_invoiced(machine_context):
    """Found by the machine: two 0,01 lines at 25 % (gross 0,03) let line 1 be credited three times,
    because only the gross total was compared; 0,03 net was then credited on a 0,02 invoice."""
    machine = MoneyMachine()
    try:
        for _ in range(2):
            machine.add_estimate_line(category="resealing", price="0.01", qty="1")
        machine.send_offer()
        machine.accept_offer(oldest=False)
        machine.issue_invoices()
        for _ in range(3):
            machine.credit_by_line(i=0, j=0)
            machine.money_is_right()
        invoice = Invoice.objects.get(kind=Invoice.Kind.ORDINARY)
        assert invoice.credit_notes.filter(number__isnull=False).count() == 1
        with pytest.raises(BillingError, match="allerede kreditert"):
            services.invoice_credit(invoice=invoice, by=None, reason="Igjen",
                                    line_ids=[invoice.lines.order_by("pk").first().pk])
    finally:
        machine.teardown()
