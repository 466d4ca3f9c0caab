"""The six worked examples of docs/billing-rules.md through the services, to the øre, plus the service rules."""

import datetime as dt
from decimal import Decimal

import pytest

from billing import services
from billing.errors import ConflictError, InvalidInput, LockedError, TransitionError
from billing.models import AuditEvent, CostLine, ImmutableError, Invoice, Payment, TenYearRefund
from billing.status import Status
from tests.support.factories import NO_CUSTOMER, accepted_basis, add_line, example1_lines, make_basis

D = Decimal
pytestmark = pytest.mark.django_db


def test_example1_sole_user_totals_and_two_invoices(company, caseworker):
    basis = make_basis(by=caseworker)
    example1_lines(basis, caseworker)
    totals = services.basis_totals(basis)
    groups = {g.code: g for g in totals.groups}
    assert groups["O"].base == D("57392.90") and groups["O"].vat == D("0.00")
    assert groups["S"].base == D("1200.00") and groups["S"].vat == D("300.00")
    assert totals.gross == D("58892.90")
    services.offer_send(basis=basis, by=caseworker)
    services.offer_accept(basis=basis, by=None)
    invoices = services.invoices_issue(basis=basis, by=caseworker)
    assert sorted((i.vat_regime, i.gross_total) for i in invoices) == [("O", D("57392.90")), ("taxable", D("1500.00"))]
    for inv in invoices:
        codes = {ln.vat_code for ln in inv.lines.all()}
        assert codes == ({"O"} if inv.vat_regime == "O" else {"S"}), "BR-O-11: O never shares a document"
    assert sum(i.gross_total for i in invoices) == D("58892.90")
    basis.refresh_from_db()
    assert basis.status == Status.INVOICED


def test_example1_legacy_base_deduction_only_before_2019(caseworker, db):
    from tests.support.factories import make_company

    make_company(base_deduction_enabled=True, base_deduction_amount=D("15000.00"))
    old = make_basis(by=caseworker, order_date=dt.date(2018, 6, 1))
    example1_lines(old, caseworker)
    groups = {g.code: g for g in services.basis_totals(old).groups}
    assert groups["O"].base == D("42392.90")
    new = make_basis(by=caseworker, order_date=dt.date(2019, 1, 1))
    example1_lines(new, caseworker)
    assert {g.code: g.base for g in services.basis_totals(new).groups}["O"] == D("57392.90")
    with pytest.raises(InvalidInput, match="forbudt"):
        services.basis_update(basis=new, by=caseworker, base_deduction_applied=True)
    services.offer_send(basis=old, by=caseworker)
    services.offer_accept(basis=old, by=None)
    o_invoice = [i for i in services.invoices_issue(basis=old, by=caseworker) if i.vat_regime == "O"][0]
    assert o_invoice.gross_total == D("42392.90")
    assert any(ln.amount == D("-15000.00") for ln in o_invoice.lines.all())


def test_base_deduction_never_below_zero(caseworker, db):
    from tests.support.factories import make_company

    make_company(base_deduction_enabled=True, base_deduction_amount=D("40000.00"))
    basis = make_basis(by=caseworker, order_date=dt.date(2017, 3, 1))
    add_line(basis, caseworker, unit_price="25000.00")
    assert services.basis_totals(basis).net == D("0.00")


def _shared(caseworker, allocation, capacity="400", cost="480000.00", expected=None):
    shared, _ = services.shared_cost_create(
        by=caseworker, description="Nettstasjon 400 kVA", capacity=D(capacity), capacity_unit="kVA",
        allocation=allocation, expected_count=expected,
        lines=[{"category": "transformer_delivery", "description": "Transformator", "quantity": "1",
                "unit_price": cost}])
    return shared


def _share(basis):
    return sum((ln.amount for ln in basis.lines.filter(source=CostLine.Source.SHARED_COST)), D("0"))


@pytest.mark.parametrize("allocation, a, b, carried", [
    ("component_capacity", "72000.00", "108000.00", "300000.00"),
    ("ordered_capacity", "192000.00", "288000.00", "0.00"),
])
def test_example2_shared_transformer(company, caseworker, allocation, a, b, carried):
    shared = _shared(caseworker, allocation)
    basis_a, basis_b = make_basis(by=caseworker), make_basis(by=caseworker)
    services.shared_cost_add_participant(shared_cost=shared, basis=basis_a, capacity=D("60"), by=caseworker)
    services.shared_cost_add_participant(shared_cost=shared, basis=basis_b, capacity=D("90"), by=caseworker)
    assert (_share(basis_a), _share(basis_b)) == (D(a), D(b))
    alloc = services.shared_cost_allocation(shared)
    assert alloc["carried"] == D(carried)
    assert _share(basis_a) + _share(basis_b) + alloc["carried"] == D("480000.00")


def test_example2_largest_remainder_three_equal(company, caseworker):
    shared = _shared(caseworker, "ordered_capacity", cost="100000.00")
    bases = [make_basis(by=caseworker) for _ in range(3)]
    for b in bases:
        services.shared_cost_add_participant(shared_cost=shared, basis=b, capacity=D("40"), by=caseworker)
    assert [_share(b) for b in bases] == [D("33333.34"), D("33333.33"), D("33333.33")]


def test_example3_housing_field_equal_per_expected(company, caseworker):
    shared = _shared(caseworker, "equal_per_expected", cost="1250000.00", expected=18)
    bases = [make_basis(by=caseworker) for _ in range(18)]
    for b in bases:
        services.shared_cost_add_participant(shared_cost=shared, basis=b, capacity=D("1"), by=caseworker)
    assert {_share(b) for b in bases} == {D("69444.44")}
    assert services.shared_cost_allocation(shared)["carried"] == D("0.08")


def test_example4_ten_year_rule_refund_proposed(company, caseworker):
    shared, _ = services.shared_cost_create(
        by=caseworker, description="Kabel", capacity=D("25"), capacity_unit="kW", allocation="ordered_capacity",
        energised_on=dt.date(2022, 1, 1),
        lines=[{"category": "connection_contribution", "description": "Kabel", "unit_price": "200000.00"}])
    basis_a = make_basis(by=caseworker)
    services.shared_cost_add_participant(shared_cost=shared, basis=basis_a, capacity=D("25"), by=caseworker,
                                         connected_on=dt.date(2022, 1, 1))
    services.offer_send(basis=basis_a, by=caseworker)
    services.offer_accept(basis=basis_a, by=None)
    [inv_a] = services.invoices_issue(basis=basis_a, by=caseworker)
    assert inv_a.gross_total == D("200000.00")
    basis_b = make_basis(by=caseworker)
    services.shared_cost_add_participant(shared_cost=shared, basis=basis_b, capacity=D("15"), by=caseworker,
                                         connected_on=dt.date(2026, 3, 1))
    assert _share(basis_b) == D("75000.00")
    refund = TenYearRefund.objects.get()
    assert refund.amount == D("75000.00") and refund.new_share == D("125000.00")
    draft = refund.credit_note
    assert draft.number is None and draft.kind == Invoice.Kind.CREDIT_NOTE and draft.credited_invoice == inv_a
    issued = services.credit_note_issue_draft(credit_note=draft, by=caseworker)
    assert issued.number is not None and issued.gross_total == D("75000.00")
    refund.refresh_from_db()
    assert refund.status == TenYearRefund.Status.CREDITED


def test_ten_year_rule_after_ten_years_pays_nothing(company, caseworker):
    shared, _ = services.shared_cost_create(
        by=caseworker, description="Kabel", capacity=D("25"), allocation="ordered_capacity",
        energised_on=dt.date(2010, 1, 1),
        lines=[{"description": "Kabel", "unit_price": "200000.00"}])
    a, b = make_basis(by=caseworker), make_basis(by=caseworker)
    services.shared_cost_add_participant(shared_cost=shared, basis=a, capacity=D("25"), by=caseworker,
                                         connected_on=dt.date(2010, 1, 1))
    services.shared_cost_add_participant(shared_cost=shared, basis=b, capacity=D("15"), by=caseworker,
                                         connected_on=dt.date(2020, 1, 1))
    assert _share(b) == D("0") and _share(a) == D("200000.00")


def _settle_case(caseworker, actual, customer_caused=None):
    basis = make_basis(by=caseworker, prepayment_required=True)
    add_line(basis, caseworker, description="Anleggsbidrag, estimat", unit_price="80000.00")
    services.offer_send(basis=basis, by=caseworker)
    services.offer_accept(basis=basis, by=None)  # prepayment invoice issued here
    [prepay] = basis.invoices.all()
    assert prepay.kind == Invoice.Kind.PREPAYMENT and prepay.gross_total == D("80000.00")
    services.payment_register(invoice=prepay, by=caseworker, amount=D("80000.00"), method=Payment.Method.MANUAL)
    add_line(basis, caseworker, description="Faktisk kostnad", unit_price=str(actual), phase="actual")
    if customer_caused:
        add_line(basis, caseworker, description="Kundens endring", unit_price=str(customer_caused),
                 phase="actual", customer_caused=True)
    return basis, services.final_settle(basis=basis, by=caseworker)


def test_example5_final_settlement_capped(company, caseworker):
    _, [doc] = _settle_case(caseworker, D("97350.00"))
    assert doc.kind == Invoice.Kind.FINAL and doc.gross_total == D("12000.00")


def test_example5_customer_caused_outside_cap(company, caseworker):
    _, [doc] = _settle_case(caseworker, D("80000.00"), customer_caused=D("17350.00"))
    assert doc.kind == Invoice.Kind.FINAL and doc.gross_total == D("17350.00")


def test_example5_credit_note_refund(company, caseworker):
    basis, [doc] = _settle_case(caseworker, D("71234.56"))
    assert doc.kind == Invoice.Kind.CREDIT_NOTE and doc.gross_total == D("8765.44")
    assert doc.credited_invoice.kind == Invoice.Kind.PREPAYMENT
    assert services.final_settle(basis=basis, by=caseworker) == [], "settling twice changes nothing"


def test_example6_vat_per_category(company, caseworker):
    basis = make_basis(by=caseworker)
    for _ in range(3):
        add_line(basis, caseworker, category="meter_work", unit_price="1234.50")
    totals = services.basis_totals(basis)
    assert totals.vat == D("925.88")
    services.offer_send(basis=basis, by=caseworker)
    services.offer_accept(basis=basis, by=None)
    [inv] = services.invoices_issue(basis=basis, by=caseworker)
    assert inv.vat_total == D("925.88") and inv.gross_total == D("4629.38")


def test_line_idempotent_by_source_reference_and_conflict(company, caseworker):
    basis = make_basis(by=caseworker)
    kw = dict(basis=basis, by=None, category="meter_work", description="Målerbytte", quantity=D("1"),
              unit_price=D("2500.00"), source="nettmelding", line_reference="NM-1-1")
    line1, created1 = services.line_add(**kw)
    line2, created2 = services.line_add(**kw)
    assert created1 and not created2 and line1.pk == line2.pk
    with pytest.raises(ConflictError):
        services.line_add(**{**kw, "unit_price": D("2600.00")})
    assert basis.lines.count() == 1


def test_status_guards(company, caseworker):
    basis = make_basis(by=caseworker)
    with pytest.raises(InvalidInput, match="minst én kostnadslinje"):
        services.offer_send(basis=basis, by=caseworker)
    with pytest.raises(TransitionError):
        services.offer_accept(basis=basis, by=None)
    no_email = make_basis(by=caseworker, customer=NO_CUSTOMER)
    add_line(no_email, caseworker)
    with pytest.raises(InvalidInput, match="mangler kunde"):
        services.offer_send(basis=no_email, by=caseworker)
    add_line(basis, caseworker)
    with pytest.raises(InvalidInput, match="passert"):
        services.offer_send(basis=basis, by=caseworker, valid_until=dt.date(2000, 1, 1))


def test_offer_send_is_idempotent_and_versions_on_change(company, caseworker):
    basis = make_basis(by=caseworker)
    add_line(basis, caseworker)
    o1 = services.offer_send(basis=basis, by=caseworker)
    assert services.offer_send(basis=basis, by=caseworker).pk == o1.pk
    add_line(basis, caseworker, unit_price="5.00")
    o2 = services.offer_send(basis=basis, by=caseworker)
    assert o2.version == 2
    with pytest.raises(TransitionError, match="nyere versjon"):
        services.offer_accept(basis=basis, by=None, offer=o1)
    services.offer_accept(basis=basis, by=None, offer=o2)
    again = services.offer_accept(basis=basis, by=None, offer=o2)
    assert basis.acceptances.count() == 1 and again.offer == o2
    assert AuditEvent.objects.filter(basis=basis, action="billing.basis.accepted").count() == 1


def test_work_release_blocked_until_accepted_or_prepaid(company, caseworker):
    plain = accepted_basis(by=caseworker)
    assert plain.work_release == "released"
    pre = make_basis(by=caseworker, prepayment_required=True)
    add_line(pre, caseworker)
    assert pre.work_release == "blocked"
    services.offer_send(basis=pre, by=caseworker)
    services.offer_accept(basis=pre, by=None)
    pre.refresh_from_db()
    assert pre.work_release == "blocked" and pre.status == Status.INVOICED
    [inv] = pre.invoices.all()
    services.payment_register(invoice=inv, by=None, amount=D("50.00"), method="manual")
    pre.refresh_from_db()
    assert pre.work_release == "blocked", "a part payment does not release the work"
    services.payment_register(invoice=inv, by=None, amount=D("50.00"), method="manual")
    pre.refresh_from_db()
    assert pre.work_release == "released" and pre.status == Status.PAID


def test_issued_invoice_is_immutable(company, caseworker):
    basis = accepted_basis(by=caseworker)
    inv = services.invoices_issue(basis=basis, by=caseworker)[0]
    inv = Invoice.objects.get(pk=inv.pk)
    inv.gross_total = D("1.00")
    with pytest.raises(ImmutableError):
        inv.save()
    with pytest.raises(ImmutableError):
        Invoice.objects.get(pk=inv.pk).delete()
    line = inv.lines.first()
    line.amount = D("1.00")
    with pytest.raises(ImmutableError):
        line.save()
    cost_line = CostLine.objects.filter(invoice=inv).first()
    with pytest.raises(LockedError):
        services.line_update(line=cost_line, by=caseworker, unit_price=D("1"))
    with pytest.raises(LockedError):
        services.line_remove(line=cost_line, by=caseworker)


def test_gapless_numbers_and_kid(company, caseworker):
    numbers = []
    for _ in range(3):
        basis = accepted_basis(by=caseworker)
        numbers += [i.number for i in services.invoices_issue(basis=basis, by=caseworker)]
    assert numbers == list(range(numbers[0], numbers[0] + 6))
    from billing.norwegian import kid_valid

    assert all(kid_valid(i.kid, "MOD10") and len(i.kid) == 10 for i in Invoice.objects.all())


def test_credit_note_full_and_partial(company, caseworker):
    basis = accepted_basis(by=caseworker)
    o_inv, s_inv = sorted(services.invoices_issue(basis=basis, by=caseworker), key=lambda i: i.vat_regime)
    part = services.invoice_credit(invoice=o_inv, by=caseworker, reason="Feil i materiell", amount=D("1000.00"))
    assert part.credited_invoice == o_inv and part.gross_total == D("1000.00") and part.series == "K"
    with pytest.raises(InvalidInput, match="større enn"):
        services.invoice_credit(invoice=o_inv, by=caseworker, reason="x", amount=D("60000.00"))
    full = services.invoice_credit(invoice=s_inv, by=caseworker, reason="Feil kunde")
    assert full.gross_total == D("1500.00")
    s_inv.refresh_from_db()
    assert s_inv.status == Invoice.Status.CREDITED
    assert CostLine.objects.filter(invoice=s_inv).count() == 0, "fully credited lines can be invoiced again"


def test_payment_idempotent_by_reference(company, caseworker):
    basis = accepted_basis(by=caseworker)
    invoices = services.invoices_issue(basis=basis, by=caseworker)
    for inv in invoices:
        for _ in range(2):
            services.payment_register(invoice=inv, by=None, amount=inv.gross_total, method="bank_transfer",
                                      provider="bank", provider_reference=f"REF-{inv.number}")
    assert Payment.objects.count() == 2
    basis.refresh_from_db()
    assert basis.status == Status.PAID


def test_cancel_and_lines_refused_after(company, caseworker):
    basis = make_basis(by=caseworker)
    with pytest.raises(InvalidInput):
        services.basis_cancel(basis=basis, by=caseworker, reason="")
    services.basis_cancel(basis=basis, by=caseworker, reason="Kunden trakk bestillingen")
    services.basis_cancel(basis=basis, by=caseworker, reason="igjen")
    assert AuditEvent.objects.filter(basis=basis, action="billing.basis.cancelled").count() == 1
    with pytest.raises(TransitionError) as err:
        add_line(basis, caseworker)
    assert err.value.code == "cancelled"


def test_every_state_change_is_audited(company, caseworker):
    basis = accepted_basis(by=caseworker)
    actions = list(AuditEvent.objects.filter(basis=basis).order_by("at", "id").values_list("action", flat=True))
    assert actions[0] == "billing.basis.created"
    assert "billing.basis.offer_sent" in actions and "billing.basis.accepted" in actions
    assert "billing.basis.work_released" in actions
    ev = AuditEvent.objects.get(basis=basis, action="billing.basis.accepted")
    assert (ev.from_status, ev.to_status) == ("offer_sent", "accepted")
