"""Gapless number series: invoices (F), credit notes (K) and invoice bases (FG-year)."""

from __future__ import annotations

from billing.clock import today
from billing.models import NumberSeries

INVOICE_SERIES = "F"


CREDIT_SERIES = "K"


def next_number(series: str) -> int:
    """Take the next number of a gapless series. Must run inside the issuing transaction."""
    NumberSeries.objects.get_or_create(name=series)
    counter = NumberSeries.objects.select_for_update().get(name=series)
    value = counter.next_value
    counter.next_value = value + 1
    counter.save(update_fields=["next_value"])
    return value


def basis_number() -> str:
    year = today().year
    return f"FG-{year}-{next_number(f'FG-{year}'):06d}"

