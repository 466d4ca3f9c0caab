"""Norwegian display of amounts and quantities: "57 392,90 kr".

Formatting only (no arithmetic): a non-breaking space as thousands separator, a decimal comma, always
two decimals for amounts and a real minus sign for negatives. Pure Python, used by the template filters
(billing/templatetags/money.py), documents and services that write amounts into texts.
"""

from decimal import Decimal, InvalidOperation

NBSP = "\u00a0"
MINUS = "\u2212"


def format_number(value, decimals: int = 2) -> str:
    if value is None or value == "":
        return ""
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    quant = Decimal(1).scaleb(-decimals)
    number = number.quantize(quant)  # display only; amounts are already rounded by billing.money
    sign = MINUS if number < 0 else ""
    whole, _sep, frac = f"{abs(number):f}".partition(".")
    groups = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    text = NBSP.join(groups)
    if decimals:
        text += "," + frac.ljust(decimals, "0")
    return sign + text


def nok_plain(value) -> str:
    """57392.9 → "57 392,90" (non-breaking spaces)."""
    return format_number(value)


def nok(value) -> str:
    """57392.9 → "57 392,90 kr" (non-breaking spaces)."""
    text = format_number(value)
    return f"{text}{NBSP}kr" if text else ""


def qty(value) -> str:
    """A quantity without trailing zeros: 12.500 → "12,5", 4.000 → "4"."""
    if value is None or value == "":
        return ""
    try:
        number = Decimal(str(value)).normalize()
    except (InvalidOperation, ValueError):
        return str(value)
    decimals = max(0, -number.as_tuple().exponent)
    return format_number(number, decimals)
