"""Norwegian display of amounts and quantities (billing/formatting.py)."""

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from billing.formatting import MINUS, NBSP, format_number, nok, nok_plain, qty

amounts = st.decimals(min_value=Decimal("-1e15"), max_value=Decimal("1e15"), allow_nan=False, places=3)


@given(amounts, st.integers(min_value=0, max_value=3))
def test_format_number_groups_thousands_and_keeps_the_value(value, decimals):
    text = format_number(value, decimals)
    sign = MINUS if text.startswith(MINUS) else ""
    whole, _sep, frac = text.removeprefix(sign).partition(",")
    groups = whole.split(NBSP)
    assert 1 <= len(groups[0]) <= 3 and all(len(g) == 3 for g in groups[1:]) and all(g.isdigit() for g in groups)
    assert len(frac) == decimals and (not decimals or frac.isdigit())
    shown = Decimal(("-" if sign else "") + "".join(groups) + ("." + frac if decimals else ""))
    assert shown == value.quantize(Decimal(1).scaleb(-decimals))
    assert (sign == MINUS) == (shown < 0)


def test_examples():
    assert nok(Decimal("57392.9")) == f"57{NBSP}392,90{NBSP}kr"
    assert nok_plain(Decimal("-1234567.05")) == f"{MINUS}1{NBSP}234{NBSP}567,05"
    assert nok_plain(0) == "0,00" and nok_plain(Decimal("-0.00")) == "0,00" and nok_plain(999) == "999,00"
    assert nok(None) == "" and nok("") == "" and nok_plain("abc") == "abc"
    assert qty(Decimal("12.500")) == "12,5" and qty(Decimal("4.000")) == "4" and qty(Decimal("1000")) == f"1{NBSP}000"
    assert format_number(1.5) == "1,50" and format_number("2") == "2,00"
