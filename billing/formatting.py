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
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    number = number.quantize(Decimal(1).scaleb(-decimals))  # display only; amounts are rounded by billing.money
    text = f"{abs(number):,f}".replace(",", NBSP).replace(".", ",")
    return MINUS + text if number < 0 else text


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
