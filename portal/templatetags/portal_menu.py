"""`{% customer_menu %}`: the customer's menu items in the portal's header (templates/portal/base.html)."""

from html import escape  # what autoescape does, without Django's lazy-text wrapper

from django import template
from django.urls import get_script_prefix, reverse
from django.utils.safestring import SafeString
from django.utils.translation import get_language, gettext

from .. import oidc

register = template.Library()

# URL name, label, and the pages (URL names) it is the current item of; the last only with BankID set up.
MENU = (("portal:home", "Mine saker", {"home"}), ("portal:invoices", "Fakturaer", {"invoices"}),
        ("portal:change_notices", "Endringsvarsler", {"change_notices", "change_notice"}),
        ("portal:bankid", "BankID", {"bankid"}))
_menus: dict[tuple, SafeString] = {}  # (script prefix, language, BankID set up, current page) → markup


@register.simple_tag(takes_context=True)
def customer_menu(context) -> SafeString:
    """The items (`<li>` each, the current page's marked with aria-current), written in Python and kept
    per script prefix, language, whether BankID is set up and page (a dozen at most), as every portal
    page shows them. `portal/_customer_menu.html` is the reference (tests/portal/test_menu.py compares
    the bytes)."""
    match = getattr(context.get("request"), "resolver_match", None)
    here = match.url_name if match else None
    bankid = oidc.enabled()
    key = (get_script_prefix(), get_language(), bankid, here)
    if key not in _menus:
        items = []
        for name, label, pages in MENU if bankid else MENU[:-1]:
            mark = ' aria-current="page"' if here in pages else ""
            items.append(f'<li><a href="{escape(reverse(name))}"{mark}>{escape(gettext(label))}</a></li>\n')
        # Our own markup and escaped text only.
        _menus[key] = SafeString("\n" + "".join(items))  # nosec B703
    return _menus[key]
