"""The portal's offer lines are written in Python (`offer_line_rows` in portal/templatetags/offer_lines.py);
the line template (portal/_offer_line.html) is the reference, and both must give the same bytes for every
kind of line, in every language."""

import pytest
from django.template.loader import get_template
from django.utils import translation

from portal.templatetags.offer_lines import offer_line_rows

HOSTILE = "<b>\"Ærlig\" & 'åpen'</b> %(n)s {{ x }} «»\nny linje"
LINES = [
    {"id": 1, "category": "connection_contribution", "description": "Kabel <TFXP> 4x240", "quantity": "12.500",
     "unit": "m", "unit_price": "1234.50", "amount": "15431.25", "vat_code": "O", "customer_caused": False},
    {"id": 2, "description": HOSTILE, "quantity": "1", "unit": HOSTILE, "unit_price": "-1234567.05",
     "amount": "-1234567.05", "vat_code": "S"},
    {"id": 3, "description": "Ukjent sats", "quantity": "0.001", "unit": "stk", "unit_price": "0", "amount": "0.00",
     "vat_code": "X<"},
    {"id": 4},  # an old snapshot without the fields: empty cells, as the template writes them
]


@pytest.mark.parametrize("language", ["nb", "nn", "en"])
def test_python_lines_are_the_templates_bytes(language):
    template = get_template("portal/_offer_line.html")
    with translation.override(language):
        expected = "\n    ".join(template.render({"ln": ln}).strip("\n") for ln in LINES)
        assert str(offer_line_rows(LINES)) == expected
    assert expected.count("<tr>") == 4
    assert "&lt;b&gt;&quot;Ærlig&quot; &amp; &#x27;åpen&#x27;&lt;/b&gt;" in expected  # escaped, not markup
    assert "12,5 m" in expected and "−1\xa0234\xa0567,05" in expected and ">X&lt;<" in expected
