"""Shared display filters for amounts and statuses: `{{ value|nok }}` → "57 392,90 kr".

Formatting only (no arithmetic): Norwegian style with a non-breaking space as thousands
separator, a decimal comma, always two decimals and a real minus sign for negatives.
"""

import functools

from django import template
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from billing.formatting import nok, nok_plain, qty

register = template.Library()
register.filter("nok", nok)
register.filter("nok_plain", nok_plain)
register.filter("qty", qty)


@register.filter
def category(label) -> str:
    """A cost category's label in the active language: "Anleggsbidrag" → "Connection charge (anleggsbidrag)"."""
    from billing.models import category_label

    return category_label(str(label or ""))


@register.filter
def vat_label(code, rate=None) -> str:
    """A VAT code (or VatCode) in words: "O" → "Utenfor mva – anleggsbidrag"."""
    from billing.models import vat_label as label

    return label(code, rate)


@register.simple_tag
def status_chip(status: str, label: str = "") -> str:
    """A status as text and colour: <span class="chip status-offer_sent">Tilbud sendt</span>."""
    if not label:
        label = _status_labels().get(status, status)
    # format_html's own escaping, written out: pages show many chips (a timeline row has two).
    markup = f'<span class="chip status-{conditional_escape(status)}">{conditional_escape(label)}</span>'
    return SafeString(markup)  # nosec B703


@functools.cache
def _status_labels() -> dict:
    from billing.status import Status

    return dict(Status.choices)


@register.simple_tag
def release_chip(release: str) -> str:
    label = _("Frigitt") if release == "released" else _("Sperret")
    return format_html('<span class="chip release-{}">{}</span>', release, label)
