"""The status machines (billing/status.py): each table refuses the moves it does not list, and no code
outside the module assigns a status of a row that has a machine."""

import ast
from pathlib import Path
from types import SimpleNamespace

import pytest

from billing import status
from billing.errors import TransitionError
from billing.models import ChangeNotice, Invoice, InvoiceBasis, Payment, TenYearRefund
from billing.status import (
    BASIS,
    CHANGE_NOTICE,
    INVOICE,
    MACHINES,
    PAYMENT,
    TEN_YEAR_REFUND,
    ChangeNoticeStatus,
    InvoiceStatus,
    PaymentStatus,
    Status,
)

ROOT = Path(__file__).resolve().parents[2]
APPS = ("billing", "offers", "portal", "integrations", "kundefaktura")
MODULE = ROOT / "billing" / "status.py"

# Rows whose status is the progress of a delivery or a job, not a rule of the domain (billing/status.py
# says why): they may set their status where they are delivered, with their own literal values.
DELIVERY_ROWS = {"OutboundEmail", "Notification", "ExportBatch", "BankImport", "BankTransaction", "BulkJobItem"}
# Rows with a machine, by the name the code uses for their model (a bare `Status` is the basis').
GOVERNED = {"InvoiceBasis": BASIS, "Status": BASIS, "Invoice": INVOICE, "Payment": PAYMENT,
            "ChangeNotice": CHANGE_NOTICE, "TenYearRefund": TEN_YEAR_REFUND}
CREATE_CALLS = {"create", "get_or_create"}
WRITE_CALLS = CREATE_CALLS | {"update", "update_or_create", "bulk_update"}


def row(machine, value):
    return SimpleNamespace(Status=machine.statuses, status=value)


# --- the tables -----------------------------------------------------------------------------------


def test_every_stateful_model_has_its_machine():
    for model, machine in ((InvoiceBasis, BASIS), (Invoice, INVOICE), (Payment, PAYMENT),
                           (ChangeNotice, CHANGE_NOTICE), (TenYearRefund, TEN_YEAR_REFUND)):
        assert status.machine(model) is machine
        assert model._meta.get_field("status").default in machine.initial
        assert {c for c, _label in model._meta.get_field("status").choices} == set(machine.statuses.values)
    assert len(MACHINES) == 5


@pytest.mark.parametrize("machine", [BASIS, INVOICE, PAYMENT, CHANGE_NOTICE, TEN_YEAR_REFUND],
                         ids=lambda m: m.name)
def test_every_move_is_between_known_statuses_and_every_other_move_is_refused(machine):
    values = set(machine.statuses.values)
    assert machine.initial <= values
    for event, moves in machine.moves.items():
        assert set(moves) <= values and set(moves.values()) <= values, event
        for current in values:
            obj = row(machine, current)
            if current in moves:
                assert status.transition(obj, event) == (current, moves[current])
                assert obj.status == moves[current]
            else:
                with pytest.raises(TransitionError):
                    status.transition(obj, event)
                assert obj.status == current, "a refused move leaves the row as it was"


def test_the_basis_table_as_the_workspace_knows_it():
    assert status.allowed_actions(Status.DRAFT) == ["send_offer", "cancel"]
    assert status.allowed_actions(Status.CANCELLED) == []
    with pytest.raises(TransitionError, match="Kan ikke registrer aksept når status er «Under arbeid»"):
        status.target(Status.DRAFT, "accept")
    assert status.can(Status.PAID, "invoice") and not status.can(Status.DECLINED, "invoice")


def test_terminal_statuses_have_no_way_out():
    assert BASIS.events(Status.CANCELLED) == []
    assert INVOICE.events(InvoiceStatus.CREDITED) == [] and INVOICE.events(InvoiceStatus.VOID) == []
    assert PAYMENT.events(PaymentStatus.CONFIRMED) == []
    for answered in (ChangeNoticeStatus.ACCEPTED, ChangeNoticeStatus.DECLINED, ChangeNoticeStatus.EXPIRED,
                     ChangeNoticeStatus.SUPERSEDED):
        assert CHANGE_NOTICE.events(answered) == []


def test_an_invoice_moves_to_its_derived_paid_state_only_along_the_table():
    invoice = row(INVOICE, InvoiceStatus.SENT)
    assert status.transition_to(invoice, InvoiceStatus.PAID) == ("sent", "paid")
    assert status.transition_to(invoice, InvoiceStatus.SENT) == ("paid", "sent"), "a refund: owed again"
    assert status.transition_to(invoice, InvoiceStatus.SENT) == ("sent", "sent"), "no move is always allowed"
    status.transition_to(invoice, InvoiceStatus.CREDITED)
    for other in (InvoiceStatus.PAID, InvoiceStatus.ISSUED, InvoiceStatus.DRAFT):
        with pytest.raises(TransitionError, match="Status kan ikke endres fra «Kreditert»"):
            status.transition_to(invoice, other)
    assert invoice.status == InvoiceStatus.CREDITED
    with pytest.raises(TransitionError):
        status.transition_to(row(INVOICE, InvoiceStatus.DRAFT), InvoiceStatus.PAID)


def test_a_claim_moves_only_the_rows_the_event_may_move():
    assert status.claim(Invoice, "send") == ({"status__in": ["issued"]}, {"status": "sent"})
    assert status.claim(TenYearRefund, "credit") == ({"status__in": ["proposed"]}, {"status": "credited"})
    assert status.claim(Invoice, "pay") == ({"status__in": ["issued", "sent"]}, {"status": "paid"})


def test_a_new_row_starts_only_in_an_initial_status():
    assert status.initial(Payment, PaymentStatus.PENDING) == "pending"
    assert status.initial(Payment, PaymentStatus.CONFIRMED) == "confirmed"
    assert status.initial(ChangeNotice) == "sent"
    for refused in (PaymentStatus.FAILED, PaymentStatus.REFUNDED):
        with pytest.raises(TransitionError):
            status.initial(Payment, refused)
    with pytest.raises(TypeError):
        status.machine(SimpleNamespace(status="x"))


# --- the scan -------------------------------------------------------------------------------------


def _owner(node) -> str | None:
    """`Invoice` for `Invoice.Status.PAID`, `Status` for `Status.DRAFT`; None for anything else."""
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute) \
            and node.value.attr == "Status" and isinstance(node.value.value, ast.Name):
        return node.value.value.id
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "Status":
        return "Status"
    return None


def _is_initial_call(node) -> bool:
    func = getattr(node, "func", None)
    return isinstance(node, ast.Call) and (getattr(func, "attr", None) or getattr(func, "id", None)) == "initial"


def _write_kind(call: ast.Call) -> str | None:
    """"create" for a call that makes a row, "update" for one that changes rows, None for a read."""
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    if name in CREATE_CALLS or name in GOVERNED or name in DELIVERY_ROWS:
        return "create"  # objects.create(…), Model(…)
    if name in WRITE_CALLS:
        return "update"
    return None


def _allowed_value(value, kind: str) -> bool:
    owner = _owner(value)
    if owner in DELIVERY_ROWS:
        return True
    if kind == "create":
        if owner in GOVERNED:
            return value.attr in {m.name for m in GOVERNED[owner].statuses if m in GOVERNED[owner].initial}
        return _is_initial_call(value)
    return False


def status_writes() -> list[str]:
    """Every place outside billing/status.py that sets a status other than as the module allows."""
    found = []
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" in path.parts or path == MODULE:
                continue
            for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
                where = f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', 0)}"
                if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
                    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                    for target in targets:
                        if isinstance(target, ast.Attribute) and target.attr == "status" \
                                and _owner(node.value) not in DELIVERY_ROWS:
                            found.append(f"{where}: {ast.unparse(node)}")
                elif isinstance(node, ast.Call):
                    func = node.func
                    if getattr(func, "id", None) == "setattr" and len(node.args) > 1 \
                            and getattr(node.args[1], "value", None) == "status":
                        found.append(f"{where}: {ast.unparse(node)}")
                        continue
                    kind = _write_kind(node)
                    if kind is None:
                        continue
                    values = [kw.value for kw in node.keywords if kw.arg == "status"]
                    for kw in node.keywords:  # update_or_create(defaults={"status": …})
                        if isinstance(kw.value, ast.Dict):
                            values += [v for k, v in zip(kw.value.keys, kw.value.values, strict=True)
                                       if getattr(k, "value", None) == "status"]
                    found += [f"{where}: {ast.unparse(node)}" for v in values if not _allowed_value(v, kind)]
    return found


def test_the_scan_sees_what_it_must_refuse():
    def scan(source):
        tree = ast.parse(source)
        bad = []
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and any(isinstance(t, ast.Attribute) and t.attr == "status"
                                                    for t in node.targets):
                bad.append(_owner(node.value) not in DELIVERY_ROWS)
            elif isinstance(node, ast.Call) and (kind := _write_kind(node)):
                bad += [not _allowed_value(kw.value, kind) for kw in node.keywords if kw.arg == "status"]
        return bad

    assert scan("invoice.status = Invoice.Status.PAID") == [True]
    assert scan("invoice.status = new_status") == [True]
    assert scan("Invoice.objects.filter(pk=1).update(status=Invoice.Status.SENT)") == [True]
    assert scan("Payment.objects.create(status=Payment.Status.FAILED)") == [True]
    assert scan("Payment.objects.create(status=status)") == [True]
    assert scan("Payment.objects.create(status=Payment.Status.PENDING)") == [False]
    assert scan("Payment.objects.create(status=initial(Payment, status))") == [False]
    assert scan("Invoice(status=Invoice.Status.ISSUED)") == [False]
    assert scan("row.status = OutboundEmail.Status.SENT") == [False]
    assert scan("Invoice.objects.filter(status=Invoice.Status.SENT)") == []


def test_no_status_is_set_outside_the_status_module():
    assert status_writes() == []
