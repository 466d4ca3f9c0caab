"""The customer's menu in the portal's header is written in Python (`customer_menu`,
portal/templatetags/portal_menu.py); portal/_customer_menu.html is the reference: both must give the
same bytes on every page, with and without BankID, in every language."""

import itertools
from types import SimpleNamespace

import pytest
from django.template import Context, Template
from django.template.loader import get_template
from django.utils import translation

PAGES = [None, "home", "invoices", "change_notices", "change_notice", "bankid", "basis_detail", "invoice_detail"]


def _request(url_name):
    return SimpleNamespace(resolver_match=SimpleNamespace(url_name=url_name) if url_name else None)


@pytest.mark.parametrize("language", ["nb", "nn", "en"])
def test_customer_menu_is_the_templates_bytes(language, settings):
    seen = 0
    for bankid, here in itertools.product([False, True], PAGES):
        settings.OIDC_ISSUER, settings.OIDC_CLIENT_ID, settings.OIDC_CLIENT_SECRET = (
            ("https://idp.example", "c", "s") if bankid else ("", "", ""))
        context = {"request": _request(here)}
        with translation.override(language):
            expected = get_template("portal/_customer_menu.html").render(context)
            written = Template("{% load portal_menu %}{% customer_menu %}").render(Context(context))
        assert written == expected, (bankid, here)
        assert written.count("<li>") == (4 if bankid else 3)
        assert written.count('aria-current="page"') == (here in {"home", "invoices", "change_notices",
                                                                   "change_notice"} or (bankid and here == "bankid"))
        seen += 1
    assert seen == 16


@pytest.mark.django_db
def test_the_portal_page_marks_where_the_customer_is(customer_client):
    from django.urls import reverse

    html = customer_client.get(reverse("portal:invoices")).content.decode()
    assert f'<a href="{reverse("portal:invoices")}" aria-current="page">' in html
    assert f'<a href="{reverse("portal:home")}">' in html
