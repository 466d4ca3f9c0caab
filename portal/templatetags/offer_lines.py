"""The lines of the offer the customer is asked to accept (the portal's offer page), written in Python."""

from html import escape  # what autoescape does, without Django's lazy-text wrapper

from django import template
from django.utils.safestring import SafeString

from billing.formatting import nok_plain, qty
from billing.models import vat_label
from billing.templatetags.workspace import texts

register = template.Library()


@register.simple_tag
def offer_line_rows(lines) -> str:
    """A `<tr>` per line of an offer's snapshot (description, quantity and unit, unit price, amount, VAT):
    through the template engine a line cost about 0.1 ms. `portal/_offer_line.html` is the reference:
    tests/portal/test_offer_lines.py renders lines both ways, in every language, and compares the bytes."""
    t = texts(("desc", "Beskrivelse"), ("qty", "Antall"), ("price", "Pris"), ("amount", "Beløp"), ("vat", "MVA"))
    rows = []
    for ln in lines:  # the snapshot's dictionaries (billing.selectors.offer_snapshot)
        get = ln.get
        rows.append(
            f'<tr><td class="col-desc card-title" data-label="{t["desc"]}">{escape(str(get("description", "")))}</td>'
            f'<td class="num col-qty" data-label="{t["qty"]}">{escape(qty(get("quantity", "")))} '
            f'{escape(str(get("unit", "")))}</td>'
            f'<td class="num col-price" data-label="{t["price"]}">{escape(nok_plain(get("unit_price", "")))}</td>'
            f'<td class="num col-amount" data-label="{t["amount"]}">{escape(nok_plain(get("amount", "")))}</td>'
            f'<td class="col-vat" data-label="{t["vat"]}">{escape(vat_label(get("vat_code", "")))}</td></tr>')
    # Our own markup and escaped text only, as the autoescaping template writes it.
    return SafeString("\n    ".join(rows))  # nosec B703
