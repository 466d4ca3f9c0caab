"""Money arithmetic for Kundefaktura: øre rounding, VAT, cost-sharing and settlements.

Pure Python, no Django. Every amount is a :class:`~decimal.Decimal` (ints are accepted as exact
values; floats are refused with ``TypeError``). Rules are those of ``docs/billing-rules.md``: VAT per category
(Peppol BR-CO-17), shares of shared installations by largest remainder (kontrollforskriften
§ 16-9), the ten-year rule, the legacy base deduction and the final settlement cap (§ 16-11).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_DOWN, ROUND_HALF_UP, Context, Decimal, localcontext
from fractions import Fraction
from typing import Generic, TypeVar

__all__ = [
    "ORE",
    "BASE_DEDUCTION_CUTOFF",
    "ALLOCATION_METHODS",
    "VatGroup",
    "Totals",
    "Allocation",
    "Settlement",
    "round_ore",
    "line_amount",
    "vat_breakdown",
    "totals",
    "allocate_largest_remainder",
    "share_component_capacity",
    "share_ordered_capacity",
    "share_equal_per_expected",
    "allocate",
    "apply_base_deduction",
    "base_deduction_allowed",
    "ten_year_refunds",
    "within_ten_years",
    "final_settlement",
]

K = TypeVar("K", bound=Hashable)

ORE = Decimal("0.01")
ZERO = Decimal("0.00")
BASE_DEDUCTION_CUTOFF = date(2019, 1, 1)
ALLOCATION_METHODS = ("component_capacity", "ordered_capacity", "equal_per_expected")

# Working precision: far above any realistic amount, so products are exact before rounding.
_CTX = Context(prec=60)


# --------------------------------------------------------------------------- validation helpers


def _num(value: Decimal | int, name: str) -> Decimal:
    """Return ``value`` as a finite Decimal; refuse floats and non-numbers."""
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise TypeError(f"{name} must be a Decimal or int, not {type(value).__name__}")
    dec = Decimal(value)
    if not dec.is_finite():
        raise ValueError(f"{name} must be a finite number, got {value}")
    return dec


def _non_negative(value: Decimal | int, name: str) -> Decimal:
    dec = _num(value, name)
    if dec < 0:
        raise ValueError(f"{name} must not be negative, got {dec}")
    return dec


def _money(value: Decimal | int, name: str) -> Decimal:
    """Return ``value`` as a Decimal amount in whole øre (no rounding is done here)."""
    dec = _num(value, name)
    with localcontext(_CTX):
        if dec != dec.quantize(ORE, rounding=ROUND_HALF_UP):
            raise ValueError(f"{name} must be a whole number of øre (two decimals), got {dec}")
        return dec.quantize(ORE)


def _to_ore(amount: Decimal) -> int:
    """Whole-øre Decimal -> integer øre."""
    with localcontext(_CTX):
        return int(amount.scaleb(2))


def _from_ore(ore: int) -> Decimal:
    with localcontext(_CTX):
        return Decimal(ore).scaleb(-2).quantize(ORE)


# --------------------------------------------------------------------------- rounding and VAT


def _half_up_fraction(value: Fraction) -> int:
    """A non-negative exact amount of øre rounded half-up to a whole øre."""
    return int((value * 2 + 1) // 2)


def round_ore(x: Decimal | int) -> Decimal:
    """Round to 0.01 NOK, half away from zero (ROUND_HALF_UP): 0.005 -> 0.01, -0.005 -> -0.01."""
    dec = _num(x, "amount")
    with localcontext(_CTX):
        return dec.quantize(ORE, rounding=ROUND_HALF_UP)


def line_amount(quantity: Decimal | int, unit_price: Decimal | int) -> Decimal:
    """Amount of a cost line: ``round_ore(quantity * unit_price)``."""
    q = _num(quantity, "quantity")
    p = _num(unit_price, "unit_price")
    with localcontext(_CTX):
        return round_ore(q * p)


@dataclass(frozen=True)
class VatGroup:
    """One VAT category of a document: code, rate in percent, taxable base and VAT."""

    code: str
    rate: Decimal
    base: Decimal
    vat: Decimal


@dataclass(frozen=True)
class Totals:
    """Document totals: net = Σ base, vat = Σ group VAT, gross = net + vat."""

    net: Decimal
    vat: Decimal
    gross: Decimal
    groups: tuple[VatGroup, ...]


def vat_breakdown(lines: Iterable[tuple[str, Decimal, Decimal]]) -> list[VatGroup]:
    """Group ``(vat_code, rate_percent, amount)`` lines by (code, rate); VAT rounded per group.

    VAT = round_ore(Σ amount × rate / 100) per group (Peppol BR-CO-17), never the sum of per-line
    rounded VAT. Groups are sorted by code, then rate; a group whose base is 0 is kept.
    """
    bases: dict[tuple[str, Decimal], Decimal] = {}
    for index, line in enumerate(lines):
        try:
            code, rate, amount = line
        except (TypeError, ValueError):
            raise ValueError(f"line {index} must be a (vat_code, rate_percent, amount) tuple") from None
        if not isinstance(code, str) or not code:
            raise ValueError(f"line {index}: VAT code must be a non-empty string, got {code!r}")
        rate_dec = _non_negative(rate, f"line {index} VAT rate")
        amount_dec = _money(amount, f"line {index} amount")
        # Decimal("25") and Decimal("25.00") are equal with equal hashes: one group.
        key = (code, rate_dec)
        bases[key] = bases.get(key, ZERO) + amount_dec
    groups = []
    for code, rate in sorted(bases):
        base = bases[(code, rate)]
        with localcontext(_CTX):
            vat = round_ore(base * rate / 100)
        groups.append(VatGroup(code=code, rate=rate, base=base, vat=vat))
    return groups


def totals(lines: Iterable[tuple[str, Decimal, Decimal]]) -> Totals:
    """Net, VAT and gross of ``(vat_code, rate_percent, amount)`` lines, via :func:`vat_breakdown`."""
    groups = tuple(vat_breakdown(lines))
    net = sum((g.base for g in groups), ZERO)
    vat = sum((g.vat for g in groups), ZERO)
    return Totals(net=net, vat=vat, gross=net + vat, groups=groups)


# --------------------------------------------------------------------------- largest remainder


def _largest_remainder_ore(
    total_ore: int, weights: Sequence[tuple[object, object, Fraction]]
) -> dict[object, int]:
    """Core of the largest-remainder method in integer øre.

    ``weights`` holds ``(key, tie_key, weight)``; the weight sum must be positive. Each share is
    floored, then the missing øre go one each to the largest fractional remainders, ties to the
    smallest ``tie_key``. A negative total is split as its magnitude and negated, so a credit
    splits exactly as the mirror image of the charge it reverses.
    """
    if total_ore < 0:
        return {key: -ore for key, ore in _largest_remainder_ore(-total_ore, weights).items()}
    weight_sum = sum((w for _, _, w in weights), Fraction(0))
    floors: dict[object, int] = {}
    remainders: list[tuple[Fraction, object, object]] = []
    for key, tie_key, weight in weights:
        exact = Fraction(total_ore) * weight / weight_sum
        floor = math.floor(exact)
        floors[key] = floor
        remainders.append((exact - floor, tie_key, key))
    missing = total_ore - sum(floors.values())
    # 0 <= missing < len(weights), because every remainder is in [0, 1).
    remainders.sort(key=lambda r: (-r[0], r[1]))
    for _, _, key in remainders[:missing]:
        floors[key] += 1
    return floors


def _check_ids(ids: Sequence[object], what: str) -> None:
    seen: set[object] = set()
    for ident in ids:
        if ident in seen:
            raise ValueError(f"duplicate {what} id {ident!r}")
        seen.add(ident)


def allocate_largest_remainder(
    total: Decimal | int, weights: Sequence[tuple[K, Decimal]]
) -> dict[K, Decimal]:
    """Split ``total`` proportionally to ``weights`` so the øre-rounded shares sum exactly to it.

    Shares are floored to the øre, then the remaining øre go one each to the largest fractional
    remainders; ties go to the lowest id. ``total`` must be whole øre; a negative total gives
    exactly the negated split of its magnitude. Weights must be >= 0 with a positive sum. The
    result keeps the order of ``weights``.
    """
    total_dec = _money(total, "total")
    items = list(weights)
    _check_ids([ident for ident, _ in items], "participant")
    fractions = [(ident, ident, Fraction(_non_negative(w, f"weight of {ident!r}"))) for ident, w in items]
    if sum(w for _, _, w in fractions) <= 0:
        raise ValueError("weights must have a positive sum to allocate an amount")
    shares = _largest_remainder_ore(_to_ore(total_dec), fractions)
    return {ident: _from_ore(shares[ident]) for ident, _ in items}


# --------------------------------------------------------------------------- shared components (§ 16-9)


@dataclass(frozen=True)
class Allocation(Generic[K]):
    """Shares of a shared cost per participant; ``carried_by_company`` is the rest.

    Invariant: ``sum(shares.values()) + carried_by_company == cost`` exactly.
    """

    shares: dict[K, Decimal]
    carried_by_company: Decimal


def _participants(participants: Sequence[tuple[K, Decimal]]) -> list[tuple[K, Decimal]]:
    items = list(participants)
    for index, item in enumerate(items):
        if not isinstance(item, tuple) or len(item) != 2:
            raise ValueError(f"participant {index} must be an (id, capacity) tuple, got {item!r}")
    _check_ids([ident for ident, _ in items], "participant")
    return [(ident, _non_negative(cap, f"capacity of participant {ident!r}")) for ident, cap in items]


def _cost(cost: Decimal | int) -> Decimal:
    dec = _money(cost, "cost")
    if dec < 0:
        raise ValueError(f"cost must not be negative, got {dec}")
    return dec


def share_component_capacity(
    cost: Decimal | int,
    component_capacity: Decimal | int,
    participants: Sequence[tuple[K, Decimal]],
) -> Allocation:
    """share_i = cost × cap_i / component_capacity, rounded half-up to the øre; the company carries
    the rest (the capacity nobody has ordered yet, plus the rounding residue).

    A share does not depend on who else is connected. Only where the rounded shares must sum to
    the total — a fully ordered component, or rounding that would make the customers together pay
    more than the cost — the øre are allocated by largest remainder over the participants plus the
    company's holding (component_capacity − Σ cap), the company losing every tie, so the sum is exact
    and the company never carries a negative amount.
    """
    cost_dec = _cost(cost)
    comp = _non_negative(component_capacity, "component_capacity")
    if comp == 0:
        raise ValueError("component_capacity must be positive")
    items = _participants(participants)
    ordered = sum((cap for _, cap in items), Decimal(0))
    if ordered > comp:
        raise ValueError(f"ordered capacity {ordered} exceeds the component capacity {comp}")
    cost_ore = _to_ore(cost_dec)
    if ordered < comp:
        rounded = [_half_up_fraction(Fraction(cost_ore) * Fraction(cap) / Fraction(comp)) for _, cap in items]
        if sum(rounded) <= cost_ore:
            shares = {ident: _from_ore(ore) for (ident, _), ore in zip(items, rounded, strict=True)}
            return Allocation(shares=shares, carried_by_company=_from_ore(cost_ore - sum(rounded)))
    weights: list[tuple[object, object, Fraction]] = [
        (("p", index), (0, ident), Fraction(cap)) for index, (ident, cap) in enumerate(items)
    ]
    # Tie keys (0, id) for participants and (1,) for the company: the company loses every tie and
    # real ids are never compared with it.
    weights.append((("company",), (1,), Fraction(comp - ordered)))
    ore = _largest_remainder_ore(cost_ore, weights)
    shares = {ident: _from_ore(ore[("p", index)]) for index, (ident, _) in enumerate(items)}
    return Allocation(shares=shares, carried_by_company=_from_ore(ore[("company",)]))


def share_ordered_capacity(cost: Decimal | int, participants: Sequence[tuple[K, Decimal]]) -> Allocation:
    """share_i = cost × cap_i / Σ cap, fully allocated by largest remainder (nothing carried).

    No participants: everything is carried by the company. Participants whose capacities are all
    zero give ``ValueError``.
    """
    cost_dec = _cost(cost)
    items = _participants(participants)
    if not items:
        return Allocation(shares={}, carried_by_company=cost_dec)
    if sum(cap for _, cap in items) == 0:
        raise ValueError("the ordered capacities sum to zero; nothing to share the cost by")
    return Allocation(shares=allocate_largest_remainder(cost_dec, items), carried_by_company=ZERO)


def share_equal_per_expected(
    cost: Decimal | int, expected_count: int, participants: Sequence[tuple[K, Decimal]]
) -> Allocation:
    """Everyone pays cost / expected_count rounded DOWN to the øre; the company carries the rest.

    The rest is the not-yet-connected plots plus the rounding residue, which "stays with the company"
    (docs/billing-rules.md, "Several users") and is therefore never negative: a contribution may cover only actual costs
    (kontrollforskriften § 16-4), so the customers together never pay more than the cost. Rounding
    half-up would overcharge when the fraction is ≥ ½ øre (2.00 / 3 → 0.67 × 3 = 2.01).
    """
    cost_dec = _cost(cost)
    if isinstance(expected_count, bool) or not isinstance(expected_count, int):
        raise TypeError(f"expected_count must be an int, not {type(expected_count).__name__}")
    if expected_count < 1:
        raise ValueError(f"expected_count must be at least 1, got {expected_count}")
    items = _participants(participants)
    if len(items) > expected_count:
        raise ValueError(
            f"{len(items)} participants exceed the expected number of connections {expected_count}"
        )
    with localcontext(_CTX):
        each = (cost_dec / expected_count).quantize(ORE, rounding=ROUND_DOWN)
    shares = {ident: each for ident, _ in items}
    return Allocation(shares=shares, carried_by_company=cost_dec - each * len(items))


def allocate(
    method: str,
    cost: Decimal | int,
    component_capacity: Decimal | int | None,
    expected_count: int | None,
    participants: Sequence[tuple[K, Decimal]],
) -> Allocation:
    """Dispatch on ``method``: "component_capacity" | "ordered_capacity" | "equal_per_expected"."""
    if method == "component_capacity":
        if component_capacity is None:
            raise ValueError("method component_capacity needs the component capacity")
        return share_component_capacity(cost, component_capacity, participants)
    if method == "ordered_capacity":
        return share_ordered_capacity(cost, participants)
    if method == "equal_per_expected":
        if expected_count is None:
            raise ValueError("method equal_per_expected needs the expected number of connections")
        return share_equal_per_expected(cost, expected_count, participants)
    raise ValueError(f"unknown allocation method {method!r}; expected one of {', '.join(ALLOCATION_METHODS)}")


# --------------------------------------------------------------------------- base deduction (legacy)


def apply_base_deduction(contribution: Decimal | int, deduction: Decimal | int) -> Decimal:
    """Legacy bunnfradrag: ``max(0, contribution − deduction)``.

    Only for orders before 2019-01-01; check :func:`base_deduction_allowed` first.
    """
    contrib = _money(contribution, "contribution")
    ded = _money(deduction, "deduction")
    if ded < 0:
        raise ValueError(f"deduction must not be negative, got {ded}")
    return max(ZERO, contrib - ded)


def base_deduction_allowed(order_date: date | None) -> bool:
    """True only for an order date strictly before 2019-01-01 (bunnfradrag is forbidden since)."""
    if order_date is None:
        return False
    if not isinstance(order_date, date):
        raise TypeError(f"order_date must be a date, not {type(order_date).__name__}")
    return order_date < BASE_DEDUCTION_CUTOFF


# --------------------------------------------------------------------------- ten-year rule


def ten_year_refunds(
    *,
    payments: Mapping[K, Decimal],
    new_shares: Mapping[K, Decimal],
    index_factor: Decimal = Decimal(1),
) -> dict[K, Decimal]:
    """Refund to each earlier payer: round_ore(max(0, paid − new_share) × index_factor).

    Only positive refunds are listed. Every earlier payer must have a new share (``ValueError``
    otherwise); new participants in ``new_shares`` are ignored. Nominal by default.
    """
    factor = _num(index_factor, "index_factor")
    if factor <= 0:
        raise ValueError(f"index_factor must be positive, got {factor}")
    refunds: dict[K, Decimal] = {}
    for payer, paid in payments.items():
        paid_dec = _money(paid, f"payment of {payer!r}")
        if paid_dec < 0:
            raise ValueError(f"payment of {payer!r} must not be negative, got {paid_dec}")
        if payer not in new_shares:
            raise ValueError(f"no new share given for earlier payer {payer!r}")
        share = _money(new_shares[payer], f"new share of {payer!r}")
        if share < 0:
            raise ValueError(f"new share of {payer!r} must not be negative, got {share}")
        with localcontext(_CTX):
            refund = round_ore(max(Decimal(0), paid_dec - share) * factor)
        if refund > 0:
            refunds[payer] = refund
    return refunds


def within_ten_years(energised_on: date | None, connected_on: date) -> bool:
    """True while ``connected_on`` is before the 10th anniversary of ``energised_on``.

    Not yet energised (None) -> True. For 29 February the anniversary in a common year falls
    after 28 February, so 28 February is still within and 1 March is not.
    """
    if energised_on is None:
        return True
    for name, value in (("energised_on", energised_on), ("connected_on", connected_on)):
        if not isinstance(value, date):
            raise TypeError(f"{name} must be a date, not {type(value).__name__}")
    # Compare (year, month, day) with the possibly non-existent anniversary (e.g. 2026-02-29).
    anniversary = (energised_on.year + 10, energised_on.month, energised_on.day)
    return (connected_on.year, connected_on.month, connected_on.day) < anniversary


# --------------------------------------------------------------------------- final settlement (§ 16-11)


@dataclass(frozen=True)
class Settlement:
    """Final settlement; ``difference`` > 0 -> final invoice, < 0 -> credit note of −difference."""

    cap: Decimal
    capped_actual: Decimal
    customer_caused_actual: Decimal
    recalculated: Decimal
    already_invoiced: Decimal
    difference: Decimal


def final_settlement(
    *,
    accepted_estimate: Decimal | int,
    actual: Decimal | int,
    actual_customer_caused: Decimal | int,
    already_invoiced: Decimal | int,
    cap_percent: Decimal | int = Decimal("15"),
) -> Settlement:
    """Recalculate the contribution against the accepted estimate (§ 16-11).

    ``accepted_estimate`` includes accepted change-invoice estimates; ``actual`` is the actual cost
    that is NOT customer-caused and is capped at round_ore(estimate × (1 + cap_percent/100));
    customer-caused cost is added uncapped. difference = recalculated − already_invoiced.
    """
    estimate = _money(accepted_estimate, "accepted_estimate")
    actual_dec = _money(actual, "actual")
    caused = _money(actual_customer_caused, "actual_customer_caused")
    invoiced = _money(already_invoiced, "already_invoiced")
    percent = _non_negative(cap_percent, "cap_percent")
    for name, value in (
        ("accepted_estimate", estimate),
        ("actual", actual_dec),
        ("actual_customer_caused", caused),
        ("already_invoiced", invoiced),
    ):
        if value < 0:
            raise ValueError(f"{name} must not be negative, got {value}")
    with localcontext(_CTX):
        cap = round_ore(estimate * (1 + percent / 100))
    capped = min(actual_dec, cap)
    recalculated = capped + caused
    return Settlement(
        cap=cap,
        capped_actual=capped,
        customer_caused_actual=caused,
        recalculated=recalculated,
        already_invoiced=invoiced,
        difference=recalculated - invoiced,
    )
