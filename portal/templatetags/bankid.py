"""`{% bankid_enabled as bankid %}`: whether BankID login is configured (portal/oidc.py)."""

from django import template

from .. import oidc

register = template.Library()


@register.simple_tag
def bankid_enabled() -> bool:
    return oidc.enabled()
