"""Tests for billing.money: the worked examples of docs/billing-rules.md to the øre, plus property tests."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billing.money import (
    BASE_DEDUCTION_CUTOFF,
    ORE,
    Allocation,
    Settlement,
    Totals,
    VatGroup,
    allocate,
    allocate_largest_remainder,
    apply_base_deduction,
    base_deduction_allowed,
    final_settlement,
    line_amount,
    round_ore,
    share_component_capacity,
    share_equal_per_expected,
    share_ordered_capacity,
    ten_year_refunds,
    totals,
    vat_breakdown,
    within_ten_years,
)

D = Decimal
PROPS = settings(max_examples=150, deadline=None)


# --------------------------------------------------------------------------- helpers / strategies


def ore(n: int) -> Decimal:
    return D(n).scaleb(-2).quantize(ORE)


def to_ore(amount: Decimal) -> int:
    assert amount == amount.quantize(ORE), f"{amount} is not whole øre"
    return int(amount.scaleb(2))


def half_up_div(num: int, den: int) -> int:
    """Integer num/den rounded half away from zero (independent of Decimal)."""
    assert den > 0
    q = (2 * abs(num) + den) // (2 * den)
    return q if num >= 0 else -q


amounts = st.integers(min_value=-(10**10), max_value=10**10).map(ore)
costs = st.integers(min_value=0, max_value=10**10).map(ore)
# capacities with up to two decimals (kW / kVA / A)
capacities = st.integers(min_value=0, max_value=100_000).map(lambda n: D(n).scaleb(-2))
positive_capacities = st.integers(min_value=1, max_value=100_000).map(lambda n: D(n).scaleb(-2))
rates = st.sampled_from([D("0"), D("12"), D("15"), D("25"), D("11.11"), D("6.25"), D("25.00")])


def participants_of(caps: list[Decimal]) -> list[tuple[int, Decimal]]:
    return [(i + 1, cap) for i, cap in enumerate(caps)]


# --------------------------------------------------------------------------- rounding and lines


class TestRounding:
    def test_half_up_to_ore(self):
        assert round_ore(D("0.005")) == D("0.01")
        assert round_ore(D("0.0049999")) == D("0.00")
        assert round_ore(D("2.675")) == D("2.68")  # float would give 2.67
        assert round_ore(D("-0.005")) == D("-0.01")  # half away from zero, symmetric for credits
        assert round_ore(D("-2.674")) == D("-2.67")
        assert round_ore(7) == D("7.00")
        assert str(round_ore(D("925.875"))) == "925.88"

    def test_float_refused(self):
        with pytest.raises(TypeError):
            round_ore(0.1)  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            line_amount(1.5, D("10"))  # type: ignore[arg-type]

    def test_non_finite_refused(self):
        with pytest.raises(ValueError):
            round_ore(D("NaN"))
        with pytest.raises(ValueError):
            round_ore(D("Infinity"))

    def test_line_amount(self):
        assert line_amount(D("12.5"), D("845.00")) == D("10562.50")
        assert line_amount(4, D("1150.00")) == D("4600.00")
        assert line_amount(D("3"), D("0.3335")) == D("1.00")  # 1.0005 -> 1.00
        assert line_amount(D("1.5"), D("0.33")) == D("0.50")  # 0.495 -> 0.50 (half up)
        assert line_amount(D("-1"), D("1200.00")) == D("-1200.00")

    @PROPS
    @given(
        q=st.integers(min_value=-(10**6), max_value=10**6),
        p=st.integers(min_value=-(10**8), max_value=10**8),
    )
    def test_line_amount_matches_integer_rounding(self, q, p):
        # quantity with 3 decimals, price with 4 decimals -> product in 1e-7 NOK = 1e-5 øre
        result = line_amount(D(q).scaleb(-3), D(p).scaleb(-4))
        assert to_ore(result) == half_up_div(q * p, 10**5)


# --------------------------------------------------------------------------- VAT


class TestVat:
    def test_example_6_vat_per_category_not_per_line(self):
        lines = [("S", D("25"), D("1234.50"))] * 3
        groups = vat_breakdown(lines)
        assert groups == [VatGroup(code="S", rate=D("25"), base=D("3703.50"), vat=D("925.88"))]
        per_line_sum = sum(round_ore(D("1234.50") * 25 / 100) for _ in range(3))
        assert per_line_sum == D("925.89")  # the wrong method would give this
        t = totals(lines)
        assert (t.net, t.vat, t.gross) == (D("3703.50"), D("925.88"), D("4629.38"))

    def test_example_1_sole_user_new_connection(self):
        contribution_lines = [
            line_amount(1, D("18450.00")),  # material
            line_amount(D("12.5"), D("845.00")),  # labour
            line_amount(4, D("1150.00")),  # machine
            line_amount(1, D("23780.40")),  # contractor
        ]
        assert contribution_lines == [D("18450.00"), D("10562.50"), D("4600.00"), D("23780.40")]
        lines = [("O", D("0"), a) for a in contribution_lines] + [("S", D("25"), D("1200.00"))]
        t = totals(lines)
        assert t == Totals(
            net=D("58592.90"),
            vat=D("300.00"),
            gross=D("58892.90"),
            groups=(
                VatGroup(code="O", rate=D("0"), base=D("57392.90"), vat=D("0.00")),
                VatGroup(code="S", rate=D("25"), base=D("1200.00"), vat=D("300.00")),
            ),
        )
        # the O and S groups become separate invoices (BR-O-11); their own totals:
        o_only = totals(line for line in lines if line[0] == "O")
        s_only = totals(line for line in lines if line[0] == "S")
        assert (o_only.gross, s_only.gross) == (D("57392.90"), D("1500.00"))
        assert o_only.gross + s_only.gross == D("58892.90")
        # legacy bunnfradrag on an order dated 2018
        assert base_deduction_allowed(date(2018, 6, 1))
        assert apply_base_deduction(o_only.net, D("15000")) == D("42392.90")

    def test_groups_sorted_by_code_then_rate_and_zero_base_kept(self):
        lines = [
            ("Z", D("0"), D("10.00")),
            ("S", D("25"), D("100.00")),
            ("E", D("0"), D("5.00")),
            ("S", D("15"), D("100.00")),
            ("S", D("25"), D("-100.00")),
        ]
        groups = vat_breakdown(lines)
        assert [(g.code, g.rate) for g in groups] == [
            ("E", D("0")),
            ("S", D("15")),
            ("S", D("25")),
            ("Z", D("0")),
        ]
        assert groups[2].base == D("0.00") and groups[2].vat == D("0.00")
        assert groups[1].vat == D("15.00")

    def test_equal_rates_in_different_notation_form_one_group(self):
        groups = vat_breakdown([("S", D("25"), D("0.02")), ("S", D("25.00"), D("0.02"))])
        assert len(groups) == 1
        assert groups[0].base == D("0.04") and groups[0].vat == D("0.01")  # 0.01 exact; per line 0.01+0.01

    def test_empty(self):
        assert vat_breakdown([]) == []
        t = totals([])
        assert (t.net, t.vat, t.gross, t.groups) == (D("0"), D("0"), D("0"), ())

    def test_invalid_lines(self):
        with pytest.raises(ValueError, match="whole number of øre"):
            vat_breakdown([("S", D("25"), D("1.005"))])
        with pytest.raises(ValueError, match="negative"):
            vat_breakdown([("S", D("-25"), D("1.00"))])
        with pytest.raises(ValueError, match="VAT code"):
            vat_breakdown([("", D("25"), D("1.00"))])
        with pytest.raises(ValueError, match="tuple"):
            vat_breakdown([("S", D("25"))])  # type: ignore[list-item]
        with pytest.raises(TypeError):
            vat_breakdown([("S", 25.0, D("1.00"))])  # type: ignore[list-item]

    @PROPS
    @given(
        lines=st.lists(
            st.tuples(st.sampled_from(["S", "O", "E", "Z"]), rates, amounts), min_size=1, max_size=12
        )
    )
    def test_vat_per_group_equals_integer_computation(self, lines):
        groups = vat_breakdown(lines)
        expected: dict[tuple[str, Fraction], int] = {}
        for code, rate, amount in lines:
            key = (code, Fraction(rate))
            expected[key] = expected.get(key, 0) + to_ore(amount)
        assert len(groups) == len(expected)
        assert [(g.code, g.rate) for g in groups] == sorted((g.code, g.rate) for g in groups)
        for g in groups:
            base_ore = expected[(g.code, Fraction(g.rate))]
            assert to_ore(g.base) == base_ore
            rate_hundredths = int(Fraction(g.rate) * 100)  # rates have at most 2 decimals
            # base (øre) × rate% / 100 = base_ore × rate_hundredths / 10 000 øre
            assert to_ore(g.vat) == half_up_div(base_ore * rate_hundredths, 10_000)
        t = totals(lines)
        assert t.net == sum(g.base for g in groups)
        assert t.vat == sum(g.vat for g in groups)
        assert t.gross == t.net + t.vat


# --------------------------------------------------------------------------- largest remainder


class TestLargestRemainder:
    def test_example_2_forty_forty_forty(self):
        shares = allocate_largest_remainder(D("100000.00"), [(1, D(40)), (2, D(40)), (3, D(40))])
        assert shares == {1: D("33333.34"), 2: D("33333.33"), 3: D("33333.33")}

    def test_ties_go_to_lowest_id_not_input_order(self):
        shares = allocate_largest_remainder(D("0.02"), [(3, D(1)), (1, D(1)), (2, D(1))])
        assert shares == {3: D("0.00"), 1: D("0.01"), 2: D("0.01")}
        assert list(shares) == [3, 1, 2]  # input order kept

    def test_largest_remainder_wins_over_lower_id(self):
        # exact: 1 -> 0.3, 2 -> 0.7 øre; the single øre goes to id 2
        assert allocate_largest_remainder(D("0.01"), [(1, D(3)), (2, D(7))]) == {
            1: D("0.00"),
            2: D("0.01"),
        }

    def test_zero_weight_gets_nothing(self):
        shares = allocate_largest_remainder(D("10.01"), [(1, D(0)), (2, D(1)), (3, D(1))])
        assert shares == {1: D("0.00"), 2: D("5.01"), 3: D("5.00")}

    def test_negative_total_is_mirror_of_positive(self):
        shares = allocate_largest_remainder(D("-100000.00"), [(1, D(40)), (2, D(40)), (3, D(40))])
        assert shares == {1: D("-33333.34"), 2: D("-33333.33"), 3: D("-33333.33")}

    def test_invalid(self):
        with pytest.raises(ValueError, match="positive sum"):
            allocate_largest_remainder(D("1.00"), [(1, D(0)), (2, D(0))])
        with pytest.raises(ValueError, match="positive sum"):
            allocate_largest_remainder(D("1.00"), [])
        with pytest.raises(ValueError, match="negative"):
            allocate_largest_remainder(D("1.00"), [(1, D(-1)), (2, D(3))])
        with pytest.raises(ValueError, match="duplicate"):
            allocate_largest_remainder(D("1.00"), [(1, D(1)), (1, D(3))])
        with pytest.raises(ValueError, match="whole number of øre"):
            allocate_largest_remainder(D("1.001"), [(1, D(1))])

    @PROPS
    @given(total=amounts, caps=st.lists(capacities, min_size=1, max_size=10))
    def test_sums_exactly_and_within_one_ore_of_exact(self, total, caps):
        if sum(caps) == 0:
            caps = [*caps[:-1], D(1)]
        weights = participants_of(caps)
        shares = allocate_largest_remainder(total, weights)
        assert sum(shares.values()) == total
        assert all(s == s.quantize(ORE) for s in shares.values())
        weight_sum = sum(Fraction(c) for c in caps)
        for ident, cap in weights:
            exact = Fraction(to_ore(total)) * Fraction(cap) / weight_sum
            assert abs(Fraction(to_ore(shares[ident])) - exact) < 1
        # a credit splits as the exact mirror image of the charge
        assert allocate_largest_remainder(-total, weights) == {k: -v for k, v in shares.items()}

    @PROPS
    @given(total=costs, caps=st.lists(positive_capacities, min_size=2, max_size=10))
    def test_larger_weight_never_gets_less(self, total, caps):
        shares = allocate_largest_remainder(total, participants_of(caps))
        for i, ci in participants_of(caps):
            for j, cj in participants_of(caps):
                if ci > cj:
                    assert shares[i] >= shares[j]
                if ci == cj and i < j:  # equal weights: lower id first, at most one øre apart
                    assert D(0) <= shares[i] - shares[j] <= ORE


# --------------------------------------------------------------------------- shared components § 16-9


class TestSharedComponents:
    A_B = [("A", D(60)), ("B", D(90))]

    def test_example_2_component_capacity(self):
        alloc = share_component_capacity(D("480000.00"), D(400), self.A_B)
        assert alloc == Allocation(
            shares={"A": D("72000.00"), "B": D("108000.00")}, carried_by_company=D("300000.00")
        )

    def test_example_2_ordered_capacity(self):
        alloc = share_ordered_capacity(D("480000.00"), self.A_B)
        assert alloc.shares == {"A": D("192000.00"), "B": D("288000.00")}
        assert alloc.carried_by_company == D("0.00")

    def test_example_3_housing_field(self):
        one = share_equal_per_expected(D("1250000.00"), 18, [(1, D(0))])
        assert one.shares == {1: D("69444.44")}
        assert one.carried_by_company == D("1250000.00") - D("69444.44")
        full = share_equal_per_expected(D("1250000.00"), 18, [(i, D(0)) for i in range(1, 19)])
        assert set(full.shares.values()) == {D("69444.44")}
        assert full.carried_by_company == D("0.08")

    def test_equal_split_never_charges_more_than_the_cost(self):
        # 2.00 / 3 = 0.666.. -> 0.66 (down): half-up would collect 2.01 for a cost of 2.00
        alloc = share_equal_per_expected(D("2.00"), 3, [(1, D(0)), (2, D(0)), (3, D(0))])
        assert alloc.shares == {1: D("0.66"), 2: D("0.66"), 3: D("0.66")}
        assert alloc.carried_by_company == D("0.02")

    def test_company_loses_ties(self):
        # exact 0.5 øre each for A and the company: A gets the øre
        alloc = share_component_capacity(D("0.01"), D(2), [("A", D(1))])
        assert alloc.shares == {"A": D("0.01")} and alloc.carried_by_company == D("0.00")
        # three-way tie (1/3 øre each), lowest real id first, company last
        alloc = share_component_capacity(D("0.02"), D(3), [(5, D(1)), (3, D(1))])
        assert alloc.shares == {5: D("0.01"), 3: D("0.01")}
        assert alloc.carried_by_company == D("0.00")
        # partly ordered: each share is rounded on its own (1/3 øre → 0), the company keeps the øre
        alloc = share_component_capacity(D("0.01"), D(3), [(5, D(1)), (3, D(1))])
        assert alloc.shares == {5: D("0.00"), 3: D("0.00")}
        assert alloc.carried_by_company == D("0.01")

    def test_partly_ordered_shares_do_not_depend_on_other_participants(self):
        # 100 000 over 300 kVA, two customers of 100: each 33 333.33 (half-up), the company 33 333.34
        alloc = share_component_capacity(D("100000.00"), D(300), [(1, D(100)), (2, D(100))])
        assert alloc.shares == {1: D("33333.33"), 2: D("33333.33")}
        assert alloc.carried_by_company == D("33333.34")
        alone = share_component_capacity(D("100000.00"), D(300), [(2, D(100))])
        assert alone.shares == {2: D("33333.33")}

    def test_rounding_never_makes_customers_pay_more_than_the_cost(self):
        # 1.01 over 3.0001 kVA, three of 1 kVA: each exact 0.3366… → half-up 0.34, together 1.02 > 1.01;
        # the largest remainder takes over so the sum is exact and the company carries nothing negative
        alloc = share_component_capacity(D("1.01"), D("3.0001"), [(1, D(1)), (2, D(1)), (3, D(1))])
        assert alloc.shares == {1: D("0.34"), 2: D("0.34"), 3: D("0.33")}
        assert alloc.carried_by_company == D("0.00")

    def test_company_still_wins_larger_remainder(self):
        # exact: A 0.25 øre, company 0.75 øre -> the company keeps the øre
        alloc = share_component_capacity(D("0.01"), D(4), [("A", D(1))])
        assert alloc.shares == {"A": D("0.00")} and alloc.carried_by_company == D("0.01")

    def test_full_component_carries_nothing(self):
        alloc = share_component_capacity(D("100.00"), D(3), [(1, D(1)), (2, D(1)), (3, D(1))])
        assert alloc.shares == {1: D("33.34"), 2: D("33.33"), 3: D("33.33")}
        assert alloc.carried_by_company == D("0.00")

    def test_zero_participants_everything_carried(self):
        for method in ("component_capacity", "ordered_capacity", "equal_per_expected"):
            alloc = allocate(method, D("480000.00"), D(400), 18, [])
            assert alloc.shares == {}
            assert alloc.carried_by_company == D("480000.00"), method

    def test_dispatch(self):
        assert allocate("component_capacity", D("480000.00"), D(400), None, self.A_B).carried_by_company == D(
            "300000.00"
        )
        assert allocate("ordered_capacity", D("480000.00"), None, None, self.A_B).shares["B"] == D(
            "288000.00"
        )
        assert allocate("equal_per_expected", D("1250000.00"), None, 18, self.A_B).shares == {
            "A": D("69444.44"),
            "B": D("69444.44"),
        }

    def test_invalid(self):
        with pytest.raises(ValueError, match="ordered capacity 450 exceeds the component capacity 400"):
            share_component_capacity(D("480000.00"), D(400), [("A", D(200)), ("B", D(250))])
        with pytest.raises(ValueError, match="component_capacity must be positive"):
            share_component_capacity(D("1.00"), D(0), [])
        with pytest.raises(ValueError, match="negative"):
            share_component_capacity(D("1.00"), D(-5), [])
        with pytest.raises(ValueError, match="negative"):
            share_component_capacity(D("1.00"), D(400), [("A", D(-1))])
        with pytest.raises(ValueError, match="negative"):
            share_ordered_capacity(D("1.00"), [("A", D(-1)), ("B", D(5))])
        with pytest.raises(ValueError, match="sum to zero"):
            share_ordered_capacity(D("1.00"), [("A", D(0))])
        with pytest.raises(ValueError, match="cost must not be negative"):
            share_ordered_capacity(D("-1.00"), [("A", D(1))])
        with pytest.raises(ValueError, match="at least 1"):
            share_equal_per_expected(D("1.00"), 0, [])
        with pytest.raises(TypeError):
            share_equal_per_expected(D("1.00"), D("3"), [])  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="exceed the expected number"):
            share_equal_per_expected(D("1.00"), 1, [("A", D(0)), ("B", D(0))])
        with pytest.raises(ValueError, match="duplicate"):
            share_ordered_capacity(D("1.00"), [("A", D(1)), ("A", D(1))])
        with pytest.raises(ValueError, match="unknown allocation method"):
            allocate("per_meter", D("1.00"), D(1), 1, [])
        with pytest.raises(ValueError, match="needs the component capacity"):
            allocate("component_capacity", D("1.00"), None, 1, [])
        with pytest.raises(ValueError, match="needs the expected number"):
            allocate("equal_per_expected", D("1.00"), D(1), None, [])

    @PROPS
    @given(
        cost=costs,
        caps=st.lists(capacities, max_size=8),
        spare=capacities,
    )
    def test_component_capacity_sums_exactly_and_monotone(self, cost, caps, spare):
        component = sum(caps, D(0)) + spare
        if component == 0:
            component = D(1)
        participants = participants_of(caps)
        alloc = share_component_capacity(cost, component, participants)
        assert sum(alloc.shares.values()) + alloc.carried_by_company == cost
        assert alloc.carried_by_company >= 0
        for ident, cap in participants:
            exact = Fraction(to_ore(cost)) * Fraction(cap) / Fraction(component)
            assert abs(Fraction(to_ore(alloc.shares[ident])) - exact) < 1
            for other, other_cap in participants:
                if cap > other_cap:
                    assert alloc.shares[ident] >= alloc.shares[other]

    @PROPS
    @given(cost=costs, caps=st.lists(positive_capacities, min_size=1, max_size=8))
    def test_ordered_capacity_fully_allocated_and_monotone(self, cost, caps):
        participants = participants_of(caps)
        alloc = share_ordered_capacity(cost, participants)
        assert sum(alloc.shares.values()) == cost
        assert alloc.carried_by_company == 0
        for ident, cap in participants:
            for other, other_cap in participants:
                if cap > other_cap:
                    assert alloc.shares[ident] >= alloc.shares[other]

    @PROPS
    @given(cost=costs, expected=st.integers(min_value=1, max_value=500), data=st.data())
    def test_equal_split(self, cost, expected, data):
        n = data.draw(st.integers(min_value=0, max_value=min(expected, 30)))
        participants = [(i, D(0)) for i in range(n)]
        alloc = share_equal_per_expected(cost, expected, participants)
        floor = D(to_ore(cost) // expected) / 100
        assert set(alloc.shares.values()) <= {floor}
        assert len(alloc.shares) == n
        assert sum(alloc.shares.values()) + alloc.carried_by_company == cost
        # the company carries the residue: never negative, and below one øre per expected connection
        assert alloc.carried_by_company >= 0
        if n == expected:
            assert alloc.carried_by_company < ORE * expected

    @PROPS
    @given(
        method=st.sampled_from(["component_capacity", "ordered_capacity", "equal_per_expected"]),
        cost=costs,
        caps=st.lists(positive_capacities, max_size=6),
    )
    def test_allocate_invariant(self, method, cost, caps):
        participants = participants_of(caps)
        alloc = allocate(method, cost, sum(caps, D(1)), 10, participants)
        assert set(alloc.shares) == {i for i, _ in participants}
        assert sum(alloc.shares.values()) + alloc.carried_by_company == cost


# --------------------------------------------------------------------------- base deduction


class TestBaseDeduction:
    def test_cutoff(self):
        assert BASE_DEDUCTION_CUTOFF == date(2019, 1, 1)
        assert base_deduction_allowed(date(2018, 12, 31))
        assert not base_deduction_allowed(date(2019, 1, 1))
        assert not base_deduction_allowed(date(2024, 5, 1))
        assert not base_deduction_allowed(None)

    def test_apply(self):
        assert apply_base_deduction(D("57392.90"), D("15000")) == D("42392.90")
        assert apply_base_deduction(D("12000.00"), D("15000.00")) == D("0.00")
        assert apply_base_deduction(D("40000.00"), D("40000.00")) == D("0.00")
        with pytest.raises(ValueError, match="negative"):
            apply_base_deduction(D("100.00"), D("-1.00"))


# --------------------------------------------------------------------------- ten-year rule


class TestTenYearRule:
    def test_example_4(self):
        paid = {"A": D("200000.00")}
        new = share_ordered_capacity(D("200000.00"), [("A", D(25)), ("B", D(15))])
        assert new.shares == {"A": D("125000.00"), "B": D("75000.00")}
        assert ten_year_refunds(payments=paid, new_shares=new.shares) == {"A": D("75000.00")}
        assert within_ten_years(date(2020, 5, 1), date(2024, 5, 1))

    def test_index_factor_and_no_negative_refunds(self):
        refunds = ten_year_refunds(
            payments={1: D("100.00"), 2: D("50.00"), 3: D("10.00")},
            new_shares={1: D("60.00"), 2: D("50.00"), 3: D("20.00"), 4: D("30.00")},
            index_factor=D("1.0333"),
        )
        assert refunds == {1: D("41.33")}  # 40 × 1.0333 = 41.332; 2 owes nothing back; 3 pays no more

    def test_invalid(self):
        with pytest.raises(ValueError, match="no new share"):
            ten_year_refunds(payments={"A": D("1.00")}, new_shares={})
        with pytest.raises(ValueError, match="index_factor must be positive"):
            ten_year_refunds(payments={}, new_shares={}, index_factor=D(0))
        with pytest.raises(ValueError, match="negative"):
            ten_year_refunds(payments={"A": D("-1.00")}, new_shares={"A": D("0.00")})
        with pytest.raises(TypeError):
            ten_year_refunds({"A": D("1.00")}, {"A": D("0.00")})  # type: ignore[misc]

    def test_within_ten_years_boundaries(self):
        assert within_ten_years(None, date(2099, 1, 1))
        assert within_ten_years(date(2015, 6, 15), date(2025, 6, 14))
        assert not within_ten_years(date(2015, 6, 15), date(2025, 6, 15))
        # 29 February: anniversary in a common year falls after 28 February
        assert within_ten_years(date(2016, 2, 29), date(2026, 2, 28))
        assert not within_ten_years(date(2016, 2, 29), date(2026, 3, 1))
        # ... and is 29 February itself when the tenth year is a leap year
        assert within_ten_years(date(2020, 2, 29), date(2030, 2, 28))  # 2030 is common
        assert within_ten_years(date(2014, 2, 28), date(2024, 2, 27))
        assert not within_ten_years(date(2014, 2, 28), date(2024, 2, 28))
        assert not within_ten_years(date(2014, 3, 1), date(2024, 3, 1))
        assert within_ten_years(date(2014, 3, 1), date(2024, 2, 29))

    @PROPS
    @given(
        energised=st.dates(min_value=date(1990, 1, 1), max_value=date(2080, 12, 31)),
        days=st.integers(min_value=0, max_value=4000),
    )
    def test_within_ten_years_matches_day_count(self, energised, days):
        connected = energised + timedelta(days=days)
        # ten years are 3652 or 3653 days depending on leap days crossed
        if days < 3652:
            assert within_ten_years(energised, connected)
        if days > 3653:
            assert not within_ten_years(energised, connected)
        # monotone: once outside, later dates stay outside
        if not within_ten_years(energised, connected):
            assert not within_ten_years(energised, connected + timedelta(days=1))

    @PROPS
    @given(
        cost=costs,
        earlier=positive_capacities,
        newcomer=positive_capacities,
    )
    def test_refund_equals_newcomer_share_for_single_earlier_payer(self, cost, earlier, newcomer):
        new = share_ordered_capacity(cost, [(1, earlier), (2, newcomer)])
        refunds = ten_year_refunds(payments={1: cost}, new_shares=new.shares)
        assert refunds.get(1, D("0.00")) == new.shares[2]
        assert all(r > 0 for r in refunds.values())


# --------------------------------------------------------------------------- final settlement § 16-11


class TestFinalSettlement:
    def test_example_5_overrun_capped(self):
        s = final_settlement(
            accepted_estimate=D("80000.00"),
            actual=D("97350.00"),
            actual_customer_caused=D("0"),
            already_invoiced=D("80000.00"),
        )
        assert s == Settlement(
            cap=D("92000.00"),
            capped_actual=D("92000.00"),
            customer_caused_actual=D("0.00"),
            recalculated=D("92000.00"),
            already_invoiced=D("80000.00"),
            difference=D("12000.00"),
        )

    def test_example_5_customer_caused_overrun_uncapped(self):
        s = final_settlement(
            accepted_estimate=D("80000.00"),
            actual=D("80000.00"),
            actual_customer_caused=D("17350.00"),
            already_invoiced=D("80000.00"),
        )
        assert s.cap == D("92000.00")
        assert s.recalculated == D("97350.00")
        assert s.difference == D("17350.00")

    def test_example_5_underrun_credit_note(self):
        s = final_settlement(
            accepted_estimate=D("80000.00"),
            actual=D("71234.56"),
            actual_customer_caused=D("0.00"),
            already_invoiced=D("80000.00"),
        )
        assert s.capped_actual == D("71234.56")
        assert s.difference == D("-8765.44")
        assert -s.difference == D("8765.44")  # the credit note amount

    def test_cap_rounded_and_configurable(self):
        s = final_settlement(
            accepted_estimate=D("33333.33"),
            actual=D("99999.99"),
            actual_customer_caused=D("0.00"),
            already_invoiced=D("0.00"),
        )
        assert s.cap == D("38333.33")  # 38333.3295 -> 38333.33
        s = final_settlement(
            accepted_estimate=D("80000.00"),
            actual=D("97350.00"),
            actual_customer_caused=D("0.00"),
            already_invoiced=D("80000.00"),
            cap_percent=D("10"),
        )
        assert (s.cap, s.difference) == (D("88000.00"), D("8000.00"))

    def test_invalid(self):
        base = {
            "accepted_estimate": D("1.00"),
            "actual": D("1.00"),
            "actual_customer_caused": D("0.00"),
            "already_invoiced": D("0.00"),
        }
        for field in base:
            with pytest.raises(ValueError, match=field):
                final_settlement(**{**base, field: D("-0.01")})
        with pytest.raises(ValueError, match="cap_percent"):
            final_settlement(**base, cap_percent=D("-1"))
        with pytest.raises(TypeError):
            final_settlement(D("1.00"), D("1.00"), D("0.00"), D("0.00"))  # type: ignore[misc]

    @PROPS
    @given(estimate=costs, actual=costs, caused=costs, invoiced=costs)
    def test_settlement_properties(self, estimate, actual, caused, invoiced):
        s = final_settlement(
            accepted_estimate=estimate,
            actual=actual,
            actual_customer_caused=caused,
            already_invoiced=invoiced,
        )
        assert to_ore(s.cap) == half_up_div(to_ore(estimate) * 115, 100)
        assert s.capped_actual == min(actual, s.cap)
        assert s.recalculated == s.capped_actual + caused
        assert s.recalculated <= s.cap + caused
        assert s.difference == s.recalculated - invoiced
        # sign of the difference decides final invoice vs credit note
        if s.recalculated > invoiced:
            assert s.difference > 0
        elif s.recalculated < invoiced:
            assert s.difference < 0
        else:
            assert s.difference == 0
        if actual <= estimate:  # below the estimate the cap never bites
            assert s.recalculated == actual + caused
