"""Tests for billing.norwegian: KID, orgnr, kontonr, metering point IDs."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billing.norwegian import (
    format_kontonr,
    format_orgnr,
    gs1_check_digit,
    kid_generate,
    kid_mod10,
    kid_mod11,
    kid_valid,
    kontonr_valid,
    metering_point_valid,
    orgnr_valid,
    phone_valid,
    postcode_valid,
)

PROPS = settings(max_examples=200, deadline=None)
digits = st.text(alphabet="0123456789", min_size=1, max_size=24)


def luhn_ok(number: str) -> bool:
    """Independent Luhn check over the whole number."""
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d // 10 + d % 10
    return total % 10 == 0


def mod11_ok(number: str) -> bool:
    """Independent MOD11 check: weights 1 (check digit), then 2..7 repeating; '-' counts as 10."""
    values = [10 if ch == "-" else int(ch) for ch in number]
    weights = [1] + [2 + i % 6 for i in range(len(values) - 1)]
    return sum(v * w for v, w in zip(reversed(values), weights, strict=True)) % 11 == 0


class TestKid:
    def test_domain_vectors(self):
        assert kid_mod10("1234") == "12344"
        assert kid_mod11("1234") == "12343"
        assert kid_valid("2345676", "MOD10")
        assert kid_valid("2345676")
        assert kid_valid("12344", "MOD10") and kid_valid("12343", "MOD11")
        assert not kid_valid("12343", "MOD10")
        assert not kid_valid("12344", "MOD11")
        assert not kid_valid("2345677")

    def test_mod11_special_check_digits(self):
        # weights from the right 2,3: 0*3 + 5*2 = 10 -> 11 - 10 = 1
        assert kid_mod11("05") == "051"
        # remainder 0 -> 11 -> "0": 1*7+1*6+...: "000000" sum 0 -> check 0
        assert kid_mod11("000000") == "0000000"
        # 1*2 = 2 -> 11 - 2 = 9 ; find a base giving check 10: "4" -> 8 -> 3 ; "5" -> 10 -> 1
        # "6" -> 12 % 11 = 1 -> 10 -> "-"
        assert kid_mod11("6") == "6-"
        assert kid_valid("6-", "MOD11")
        assert kid_valid("6-")
        assert not kid_valid("6-", "MOD10")
        assert not kid_valid("-6")
        assert not kid_valid("1-2")

    def test_generate_pads_to_length(self):
        assert kid_generate("1234", "MOD10", 5) == "12344"
        assert kid_generate("1234", "MOD11", 5) == "12343"
        kid = kid_generate("1234", "MOD10", 10)
        assert kid == "000001234" + kid_mod10("000001234")[-1]
        assert len(kid) == 10 and kid_valid(kid, "MOD10")
        assert kid_generate("7", "MOD10", 2) == kid_mod10("7")
        assert len(kid_generate("1", "MOD11", 25)) == 25

    def test_generate_invalid(self):
        with pytest.raises(ValueError, match="too long"):
            kid_generate("123456", "MOD10", 6)
        with pytest.raises(ValueError, match="between 2 and 25"):
            kid_generate("1", "MOD10", 1)
        with pytest.raises(ValueError, match="between 2 and 25"):
            kid_generate("1", "MOD10", 26)
        with pytest.raises(ValueError, match="scheme"):
            kid_generate("1", "MOD97", 10)
        with pytest.raises(ValueError, match="digits"):
            kid_generate("12a", "MOD10", 10)
        with pytest.raises(ValueError, match="digits"):
            kid_generate("", "MOD11", 10)
        with pytest.raises(ValueError, match="digits"):
            kid_mod10("١٢٣")  # Arabic-Indic digits are not KID digits
        with pytest.raises(ValueError, match="at most 24"):
            kid_mod11("1" * 25)
        with pytest.raises(ValueError, match="scheme"):
            kid_valid("12344", "mod10")

    def test_valid_rejects_malformed(self):
        assert not kid_valid("0")  # too short
        assert not kid_valid("")
        assert not kid_valid(kid_mod10("1" * 24) + "0")  # 26 characters
        assert kid_valid(kid_mod10("1" * 24))  # 25 characters
        assert not kid_valid(" 12344")
        assert not kid_valid("12 344")
        assert not kid_valid("1234a")
        assert not kid_valid(12344)  # type: ignore[arg-type]

    @PROPS
    @given(base=digits, scheme=st.sampled_from(["MOD10", "MOD11"]), extra=st.integers(0, 24))
    def test_generate_valid_round_trip(self, base, scheme, extra):
        length = min(25, len(base) + 1 + extra)
        kid = kid_generate(base, scheme, length)
        assert len(kid) == length
        assert kid[:-1].lstrip("0") == base.lstrip("0")
        assert kid[:-1].endswith(base)
        assert kid_valid(kid, scheme)
        assert kid_valid(kid)
        assert (luhn_ok if scheme == "MOD10" else mod11_ok)(kid)

    @PROPS
    @given(
        base=digits,
        scheme=st.sampled_from(["MOD10", "MOD11"]),
        data=st.data(),
    )
    def test_single_digit_error_detected(self, base, scheme, data):
        kid = (kid_mod10 if scheme == "MOD10" else kid_mod11)(base)
        pos = data.draw(st.integers(0, len(base) - 1))
        new_digit = data.draw(st.sampled_from([d for d in "0123456789" if d != kid[pos]]))
        corrupted = kid[:pos] + new_digit + kid[pos + 1 :]
        assert not kid_valid(corrupted, scheme)

    @PROPS
    @given(base=digits)
    def test_check_digits_match_independent_checks(self, base):
        assert luhn_ok(kid_mod10(base))
        assert mod11_ok(kid_mod11(base))


class TestOrgnr:
    def test_valid_and_format(self):
        assert orgnr_valid("914588200")
        assert orgnr_valid("914 588 200")
        assert orgnr_valid("914.588.200")
        assert format_orgnr("914588200") == "914 588 200"
        assert format_orgnr(" 914.588 200 ") == "914 588 200"

    def test_invalid(self):
        assert not orgnr_valid("914588201")  # wrong check digit
        assert not orgnr_valid("91458820")
        assert not orgnr_valid("9145882000")
        assert not orgnr_valid("NO914588200MVA")
        assert not orgnr_valid("")
        assert not orgnr_valid(914588200)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="organisation number"):
            format_orgnr("914588201")

    @PROPS
    @given(st.text(alphabet="0123456789", min_size=8, max_size=8))
    def test_exactly_one_check_digit_is_valid(self, body):
        valid = [d for d in "0123456789" if orgnr_valid(body + d)]
        assert len(valid) <= 1  # MOD11: one digit, or none when the remainder gives 10


def kontonr_mod11_ok(number: str) -> bool:
    """Independent check: weights 5,4,3,2,7,6,5,4,3,2 and the check digit (weight 1) sum to 0 mod 11."""
    weights = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2, 1)
    return sum(w * int(d) for w, d in zip(weights, number, strict=True)) % 11 == 0


class TestKontonr:
    def test_domain_vector(self):
        assert kontonr_valid("1234567890" + "3")
        assert [d for d in "0123456789" if kontonr_valid("1234567890" + d)] == ["3"]

    @PROPS
    @given(st.text(alphabet="0123456789", min_size=11, max_size=11))
    def test_matches_independent_mod11(self, number):
        if number.startswith("0000"):  # bank code 0000 is the postgiro form, never an account
            assert not kontonr_valid(number)
        else:
            assert kontonr_valid(number) == kontonr_mod11_ok(number)

    def test_valid_and_format(self):
        assert kontonr_valid("12345678903")
        assert kontonr_valid("1234.56.78903")
        assert kontonr_valid("1234 56 78903")
        assert format_kontonr("12345678903") == "1234.56.78903"
        assert format_kontonr("1234 56 78903") == "1234.56.78903"

    def test_invalid(self):
        assert not kontonr_valid("12345678904")
        # python-stdnum accepts the 7-digit postgiro form; an account number here has 11 digits
        assert not kontonr_valid("4090403")
        assert not kontonr_valid("00004090403")  # postgiro with "0000" prefix, fails the MOD11 rule
        assert not kontonr_valid("1234567890")
        assert not kontonr_valid("123456789030")
        assert not kontonr_valid("1234-56-78903x")
        assert not kontonr_valid(None)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="bank account"):
            format_kontonr("12345678904")


class TestMeteringPoint:
    def test_eighteen_digits_with_gs1_check_digit(self):
        assert metering_point_valid("707057500012345671")
        assert metering_point_valid("707057 500012 345671")
        assert not metering_point_valid("707057500012345678")  # check digit should be 1
        assert not metering_point_valid("70705750001234567")
        assert not metering_point_valid("7070575000123456719")
        assert not metering_point_valid("70705750001234567X")
        assert not metering_point_valid("7070.5750.0012.3456.71")
        assert not metering_point_valid("")
        assert not metering_point_valid(707057500012345671)  # type: ignore[arg-type]

    def test_gs1_check_digit_known_vectors(self):
        assert gs1_check_digit("400638133393") == "1"  # EAN-13 4006381333931
        assert gs1_check_digit("70705750001234567") == "1"
        assert gs1_check_digit("70705750000000000") == "1"
        with pytest.raises(ValueError):
            gs1_check_digit("12a")


class TestPostcodeAndPhone:
    def test_postcode(self):
        assert postcode_valid("5009")
        assert postcode_valid("0150")
        assert not postcode_valid("50x9")
        assert not postcode_valid("500")
        assert not postcode_valid("50091")
        assert not postcode_valid("５００９")

    def test_phone(self):
        assert phone_valid("+47 912 34 567")
        assert phone_valid("91234567")
        assert phone_valid("0047 55 55 55 55")
        assert not phone_valid("abc")
        assert not phone_valid("1234567")  # seven digits
        assert not phone_valid("1234567890123456")  # sixteen
        assert not phone_valid("912-34-567")
        assert not phone_valid("9123+4567")
