"""Typed input, checked the same way in the API, the workspace forms and e-mail headers.

Pure Python, no Django. Numbers are ASCII digits only: Python's `Decimal()` and `int()` also read
full-width ("１２３") and other Unicode digits, which a person cannot tell from ordinary ones and no
other system (ERP, EHF, bank) reads back. Single-line text (titles, names, addresses, references) has
no line breaks or other control characters, so it can never split an e-mail header or a CSV row.
"""

from __future__ import annotations

import re
from decimal import Decimal

__all__ = ["DECIMAL_PATTERN", "parse_decimal", "has_foreign_digits", "single_line_error",
           "header_text"]

# The API's decimal string: optional minus, ASCII digits, optional point and ASCII digits.
DECIMAL_PATTERN = r"^-?[0-9]+(\.[0-9]+)?$"
_DECIMAL = re.compile(r"(-?)([0-9]+)(?:\.([0-9]+))?")
# C0 controls (tab, CR and LF included), DEL, C1 controls, and the Unicode line/paragraph separators.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def parse_decimal(value: str, *, places: int, int_digits: int) -> Decimal:
    """`"-1234.5"` → `Decimal("-1234.50")` (quantized to `places`). Raises ValueError (Norwegian message)
    unless the text is an optional minus, ASCII digits and an optional point with ASCII digits, with at
    most `int_digits` digits before the point and `places` after it (trailing zeros do not count)."""
    match = _DECIMAL.fullmatch(value.strip()) if isinstance(value, str) and len(value) <= 60 else None
    if not match:
        raise ValueError("må være et tall skrevet med sifrene 0–9")
    whole, frac = match.group(2).lstrip("0"), (match.group(3) or "").rstrip("0")
    if len(whole) > int_digits:
        raise ValueError("tallet er for stort")
    if len(frac) > places:
        raise ValueError(f"høyst {places} desimaler")
    return Decimal(f"{match.group(1)}{whole or '0'}.{frac or '0'}").quantize(Decimal(1).scaleb(-places))


def has_foreign_digits(value) -> bool:
    """True when `value` holds a digit other than ASCII 0–9 (full-width, Arabic-Indic, superscript …)."""
    return isinstance(value, str) and any(c.isdigit() and not ("0" <= c <= "9") for c in value)


def single_line_error(value: str) -> str | None:
    """The reason `value` is not acceptable as a single-line field, or None when it is."""
    if _CONTROL.search(value or ""):
        from django.utils.translation import gettext

        return gettext("kan ikke inneholde linjeskift eller andre kontrolltegn")
    return None


def header_text(value: str, *, max_length: int = 300) -> str:
    """Text made safe for a single e-mail header: every run of control characters and whitespace becomes
    one space, and the result is trimmed and cut to `max_length`."""
    text = re.sub(r"(?:\s|[\x00-\x1f\x7f-\x9f])+", " ", str(value or "")).strip()
    return text[:max_length].rstrip()
