from html import escape  # what autoescape does, without Django's lazy-text wrapper

from django.urls import get_script_prefix, reverse
from django.utils.safestring import SafeString
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from .roles import CASEWORKER, CUSTOMER, INSTALLER, user_has_role

# The case worker's main menu (templates/base.html): URL name, label, and which pages it is the current
# item of — a set of (app, URL name), or None for every other page of its app.
CASEWORKER_MENU = (
    ("billing:worklist", _("Arbeidsliste"), None),
    ("billing:shared_list", _("Felles anlegg"), {("billing", "shared_list")}),
    ("billing:overdue", _("Forfalte"), {("billing", "overdue")}),
    ("billing:expired", _("Utløpte tilbud"), {("billing", "expired")}),
    ("billing:refunds", _("Tilbakebetalinger"), {("billing", "refunds")}),
    ("integrations:related_cases", _("Relaterte saker"), {("integrations", "related_cases")}),
    ("integrations:notification_log", _("Varsler"), {("integrations", "notification_log")}),
    ("erp:export_log", _("ERP-eksport"), None),
    ("erp:bank_imports", _("Bankimport"), {("erp", "bank_imports")}),
)
# Pages of an app with a menu item of their own (the app's catch-all item is not current there).
_OWN_ITEMS = {page for _name, _label, pages in CASEWORKER_MENU if pages for page in pages} | {
    ("billing", "company_settings")}
_menus: dict[tuple, SafeString] = {}  # (script prefix, language, current page) → the items' markup


def caseworker_menu(request) -> SafeString:
    """The case worker's menu items (`<li>` each), the current page's item marked with aria-current;
    written here rather than by a template loop, as every case worker page shows it, and kept per script
    prefix, language and page (a few dozen at most: the URL names)."""
    match = getattr(request, "resolver_match", None)
    here = (match.app_name, match.url_name) if match else None
    key = (get_script_prefix(), get_language(), here)
    if key not in _menus:
        _menus[key] = _menu(here)
    return _menus[key]


def _menu(here) -> SafeString:
    items = []
    for name, label, pages in CASEWORKER_MENU:
        if pages is None:
            current = bool(here) and here[0] == name.split(":")[0] and here not in _OWN_ITEMS
        else:
            current = here in pages
        mark = ' aria-current="page"' if current else ""
        items.append(f'<li><a href="{escape(reverse(name))}"{mark}>{escape(str(label))}</a></li>')
    # Our own markup and escaped text only.
    return SafeString("\n          ".join(items))  # nosec B703


def roles(request):
    user = getattr(request, "user", None)
    is_caseworker = user_has_role(user, CASEWORKER)
    return {
        "is_caseworker": is_caseworker,
        "is_customer": user_has_role(user, CUSTOMER),
        "is_installer": user_has_role(user, INSTALLER),
        # Called by the template only where the menu is shown (not for fragments).
        "caseworker_menu": (lambda: caseworker_menu(request)) if is_caseworker else str,
    }
