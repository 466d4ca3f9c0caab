"""Template tags about receipts: whether new receipts are sealed (for the basis page's evidence section)."""

from django import template

from offers.seal import seal_configured as _seal_configured

register = template.Library()


@register.simple_tag
def seal_configured() -> bool:
    return _seal_configured()
