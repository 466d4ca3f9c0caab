"""Norwegian numbers: KID payment references, organisation numbers, bank accounts, metering points.

Pure Python, no Django. Organisation and account numbers are checked with python-stdnum.
"""

from __future__ import annotations

from stdnum.no import kontonr as _kontonr
from stdnum.no import orgnr as _orgnr

__all__ = [
    "KID_SCHEMES",
    "KID_MIN_LENGTH",
    "KID_MAX_LENGTH",
    "kid_mod10",
    "kid_mod11",
    "kid_generate",
    "kid_valid",
    "orgnr_valid",
    "format_orgnr",
    "kontonr_valid",
    "format_kontonr",
    "metering_point_valid",
    "gs1_check_digit",
    "postcode_valid",
    "phone_valid",
]

KID_SCHEMES = ("MOD10", "MOD11")
KID_MIN_LENGTH = 2
KID_MAX_LENGTH = 25


def _is_digits(s: str) -> bool:
    """ASCII digits only (str.isdigit alone also accepts e.g. '²' and Arabic-Indic digits)."""
    return bool(s) and s.isascii() and s.isdigit()


def _check_kid_base(base: str) -> None:
    if not isinstance(base, str) or not _is_digits(base):
        raise ValueError(f"KID base must be a non-empty string of digits, got {base!r}")
    if len(base) > KID_MAX_LENGTH - 1:
        raise ValueError(f"KID base has {len(base)} digits; at most {KID_MAX_LENGTH - 1} are allowed")


def _check_scheme(scheme: str) -> None:
    if scheme not in KID_SCHEMES:
        raise ValueError(f"unknown KID scheme {scheme!r}; expected MOD10 or MOD11")


def _mod10_digit(base: str) -> str:
    total = 0
    for position, char in enumerate(reversed(base)):
        digit = int(char)
        if position % 2 == 0:  # rightmost base digit is doubled (the check digit follows it)
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return str((10 - total % 10) % 10)


def _mod11_digit(base: str) -> str:
    total = sum(int(char) * (2 + position % 6) for position, char in enumerate(reversed(base)))
    check = 11 - total % 11
    if check == 11:
        return "0"
    if check == 10:
        return "-"
    return str(check)


def kid_mod10(base: str) -> str:
    """``base`` followed by its Luhn (MOD10) check digit: "1234" -> "12344"."""
    _check_kid_base(base)
    return base + _mod10_digit(base)


def kid_mod11(base: str) -> str:
    """``base`` followed by its MOD11 check digit (weights 2..7 from the right; 10 -> "-")."""
    _check_kid_base(base)
    return base + _mod11_digit(base)


def kid_generate(base: str, scheme: str, length: int) -> str:
    """A KID of exactly ``length`` characters: ``base`` zero-padded to length−1 plus check digit."""
    _check_scheme(scheme)
    if isinstance(length, bool) or not isinstance(length, int):
        raise TypeError(f"KID length must be an int, not {type(length).__name__}")
    if not KID_MIN_LENGTH <= length <= KID_MAX_LENGTH:
        raise ValueError(f"KID length must be between {KID_MIN_LENGTH} and {KID_MAX_LENGTH}, got {length}")
    _check_kid_base(base)
    if len(base) > length - 1:
        raise ValueError(f"KID base {base!r} is too long for a KID of length {length}")
    padded = base.zfill(length - 1)
    return kid_mod10(padded) if scheme == "MOD10" else kid_mod11(padded)


def kid_valid(kid: str, scheme: str | None = None) -> bool:
    """True for a 2–25 character KID with a correct check digit ("-" only as a MOD11 check).

    ``scheme`` None accepts either MOD10 or MOD11. No whitespace is stripped.
    """
    if scheme is not None:
        _check_scheme(scheme)
    if not isinstance(kid, str) or not KID_MIN_LENGTH <= len(kid) <= KID_MAX_LENGTH:
        return False
    base, check = kid[:-1], kid[-1]
    if not _is_digits(base) or not (_is_digits(check) or check == "-"):
        return False
    if scheme in (None, "MOD10") and _mod10_digit(base) == check:
        return True
    return scheme in (None, "MOD11") and _mod11_digit(base) == check


def _compact(s: str) -> str:
    return s.replace(" ", "").replace(".", "").strip()


def orgnr_valid(s: str) -> bool:
    """True for a valid 9-digit organisation number; spaces and dots are ignored."""
    if not isinstance(s, str):
        return False
    number = _compact(s)
    return len(number) == 9 and _is_digits(number) and _orgnr.is_valid(number)


def format_orgnr(s: str) -> str:
    """Organisation number as "914 588 200"; ``ValueError`` if invalid."""
    if not orgnr_valid(s):
        raise ValueError(f"invalid organisation number {s!r}")
    return _orgnr.format(_compact(s))


def kontonr_valid(s: str) -> bool:
    """True for a valid 11-digit bank account number (MOD11); spaces and dots are ignored.

    The old 7-digit postgiro form, which python-stdnum also accepts (with or without a "0000"
    prefix), is refused.
    """
    if not isinstance(s, str):
        return False
    number = _compact(s)
    return (
        len(number) == 11
        and _is_digits(number)
        and _kontonr.is_valid(number)
        and len(_kontonr.compact(number)) == 11
    )


def format_kontonr(s: str) -> str:
    """Bank account number as "1234.56.78903"; ``ValueError`` if invalid."""
    if not kontonr_valid(s):
        raise ValueError(f"invalid bank account number {s!r}")
    number = _compact(s)
    return f"{number[:4]}.{number[4:6]}.{number[6:]}"


def gs1_check_digit(base: str) -> str:
    """GS1 mod-10 check digit of ``base`` (weights 3, 1, 3, … from the rightmost digit)."""
    if not _is_digits(base):
        raise ValueError(f"GS1 base must be a non-empty string of digits, got {base!r}")
    total = sum(int(char) * (3 if position % 2 == 0 else 1) for position, char in enumerate(reversed(base)))
    return str((10 - total % 10) % 10)


def metering_point_valid(s: str) -> bool:
    """True for a metering point ID (målepunkt-ID, a GS1 GSRN): 18 digits once spaces are removed, the
    last one the GS1 mod-10 check digit of the first 17."""
    if not isinstance(s, str):
        return False
    number = s.replace(" ", "")
    return len(number) == 18 and _is_digits(number) and gs1_check_digit(number[:-1]) == number[-1]


def postcode_valid(s: str) -> bool:
    """True for a Norwegian postcode: exactly four digits 0–9."""
    return isinstance(s, str) and len(s) == 4 and _is_digits(s)


def phone_valid(s: str) -> bool:
    """True for a phone number of digits and spaces, optionally led by "+", with 8–15 digits."""
    if not isinstance(s, str):
        return False
    number = s.strip()
    if number.startswith("+"):
        number = number[1:]
    digits = number.replace(" ", "")
    return _is_digits(digits) and 8 <= len(digits) <= 15
