"""The one parser for typed numbers and single-line text (API, forms, e-mail headers)."""

from decimal import Decimal

import pytest

from billing import textinput


@pytest.mark.parametrize("text,expected", [("1234.5", Decimal("1234.50")), ("-0.10", Decimal("-0.10")),
                                           (" 007 ", Decimal("7.00"))])
def test_parse_decimal_reads_ascii_decimals(text, expected):
    assert textinput.parse_decimal(text, places=2, int_digits=12) == expected


@pytest.mark.parametrize("text", ["１２３", "١٢٣", "12³", "1e3", "1,5", "", "-", "12.", "NaN", "Infinity"])
def test_parse_decimal_refuses_anything_else(text):
    with pytest.raises(ValueError):
        textinput.parse_decimal(text, places=2, int_digits=12)


def test_parse_decimal_limits_digits_and_places():
    with pytest.raises(ValueError, match="for stort"):
        textinput.parse_decimal("1" * 13, places=2, int_digits=12)
    with pytest.raises(ValueError, match="desimaler"):
        textinput.parse_decimal("1.234", places=2, int_digits=12)
    assert textinput.parse_decimal("1.230", places=2, int_digits=12) == Decimal("1.23")


def test_single_line_and_header_text():
    assert textinput.single_line_error("Bakkeveien 2, 5010 Bergen – æøå") is None
    for bad in ("a\nb", "a\rb", "a\tb", "a\x00b", "a\u2028b", "a\x85b"):
        assert textinput.single_line_error(bad)
    assert textinput.header_text("Tilbud\r\n Bcc: x@example.com\t ") == "Tilbud Bcc: x@example.com"
    assert len(textinput.header_text("x" * 400)) == 300
    assert textinput.has_foreign_digits("１") and not textinput.has_foreign_digits("1 234,50")
