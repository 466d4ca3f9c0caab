"""Shared display filters for amounts and statuses: `{{ value|nok }}` → "57 392,90 kr".

Formatting only (no arithmetic): Norwegian style with a non-breaking space as thousands
separator, a decimal comma, always two decimals and a real minus sign for negatives.
"""

from decimal import Decimal, InvalidOperation

from django import template
from django.utils.html import format_html
from django.utils.translation import gettext as _

register = template.Library()

NBSP = "\u00a0"
MINUS = "\u2212"


def _format(value, decimals: int = 2) -> str:
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


@register.filter
def nok_plain(value) -> str:
    """57392.9 → "57 392,90" (non-breaking spaces)."""
    return _format(value)


@register.filter
def nok(value) -> str:
    """57392.9 → "57 392,90 kr" (non-breaking spaces)."""
    text = _format(value)
    return f"{text}{NBSP}kr" if text else ""


@register.filter
def qty(value) -> str:
    """A quantity without trailing zeros: 12.500 → "12,5", 4.000 → "4"."""
    if value is None or value == "":
        return ""
    try:
        number = Decimal(str(value)).normalize()
    except (InvalidOperation, ValueError):
        return str(value)
    decimals = max(0, -number.as_tuple().exponent)
    return _format(number, decimals)


@register.filter
def vat_label(code, rate=None) -> str:
    """A VAT code (or VatCode) in words: "O" → "Utenfor mva – anleggsbidrag"."""
    from billing.models import vat_label as label

    return label(code, rate)


@register.simple_tag
def status_chip(status: str, label: str = "") -> str:
    """A status as text and colour: <span class="chip status-offer_sent">Tilbud sendt</span>."""
    if not label:
        from billing.status import Status

        try:
            label = Status(status).label
        except ValueError:
            label = status
    return format_html('<span class="chip status-{}">{}</span>', status, label)


@register.simple_tag
def release_chip(release: str) -> str:
    label = _("Frigitt") if release == "released" else _("Sperret")
    return format_html('<span class="chip release-{}">{}</span>', release, label)
