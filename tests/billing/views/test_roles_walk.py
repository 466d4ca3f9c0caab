"""Every workspace URL, GET and POST: customers and installers get 403, anonymous users the login page."""

import pytest
from django.urls import get_resolver, reverse

from billing.views.worklist import worklist

pytestmark = pytest.mark.django_db


def _billing_urls():
    resolver = get_resolver()
    billing = next(p for p in resolver.url_patterns if getattr(p, "namespace", None) == "billing")
    for pattern in billing.url_patterns:
        kwargs = {name: (1 if conv.__class__.__name__ == "IntConverter" else "send_offer")
                  for name, conv in pattern.pattern.converters.items()}
        yield pattern.name, reverse(f"billing:{pattern.name}", kwargs=kwargs), pattern.callback


URLS = list(_billing_urls())


@pytest.mark.parametrize("name,url,view", URLS, ids=[u[0] for u in URLS])
def test_every_workspace_view_demands_the_caseworker_role(name, url, view, client, customer_client,
                                                          installer_client, company):
    assert getattr(view, "required_roles", None) == ("caseworker",), f"{name} lacks caseworker_required"
    for c in (customer_client, installer_client):
        assert c.get(url).status_code in (403, 405)
        assert c.post(url).status_code in (403, 405)
    response = client.get(url)
    assert response.status_code in (302, 405)
    if response.status_code == 302:
        assert "/login/" in response["Location"]


def test_the_walk_covers_the_workspace():
    assert {"worklist", "basis_detail", "basis_action", "line_add", "bulk_send_offers", "company_settings",
            "shared_refund_issue"} <= {u[0] for u in URLS}
    assert worklist.required_roles == ("caseworker",)
