"""Every portal URL: another customer's basis, offer, PDFs, invoices and payments are 404; anonymous
users go to the login page; the public views are the only ones without a role check."""

import uuid

import pytest
from django.urls import reverse

from billing import services
from billing.models import Invoice, Payment
from portal import urls as portal_urls
from tests.support.factories import add_line, customer_basis

pytestmark = pytest.mark.django_db

PUBLIC = {"stripe_webhook", "login_link", "login_link_confirm", "set_password", "accessibility",
          "bankid_login", "bankid_callback", "bankid_connect_by_link", "language"}
# The BankID pages act on the logged-in customer's own account only (tests/portal/test_bankid.py).
NOT_OBJECT_SCOPED = {"home", "invoices", "change_notices", "password_change", "bankid", "bankid_connect",
                     "bankid_confirm"}


@pytest.fixture
def others(company, other_customer_user, settings):
    """Ola's basis (accepted, prepayment invoice issued, a local card payment pending, a change notice sent)."""
    settings.PAYMENT_PROVIDER = "local"
    settings.DEBUG = True  # the local test page exists; it must still be 404 for Kari
    basis = customer_basis(other_customer_user, prepayment=True, name="Ola Annen", email="ola@example.com")
    services.offer_accept(basis=basis, by=other_customer_user)
    invoice = Invoice.objects.filter(basis=basis, kind="prepayment").first()
    payment, _ = services.payment_register(invoice=invoice, by=None, amount=invoice.gross_total, method="card",
                                           provider="local", provider_reference="local-x", status="pending")
    add_line(basis, description="Ekstra målerskap", unit_price="2500.00")
    notice = services.change_notice_send(basis=basis, by=None)
    from offers.models import Receipt

    return {"basis": basis, "offer": services.current_offer(basis), "invoice": invoice, "payment": payment,
            "notice": notice, "receipt": Receipt.objects.get(acceptance__basis=basis)}


def object_urls(o):
    b, offer, inv, pay, notice = o["basis"].pk, o["offer"].pk, o["invoice"].pk, o["payment"].pk, o["notice"].pk
    return {
        "basis": ("get", reverse("portal:basis", args=[b]), {}),
        "accept": ("post", reverse("portal:accept", args=[b]), {"offer_version": 1, "terms_read": "on"}),
        "accepted": ("get", reverse("portal:accepted", args=[b]), {}),
        "decline": ("post", reverse("portal:decline", args=[b]), {"offer_version": 1}),
        "offer_pdf": ("get", reverse("portal:offer_pdf", args=[offer]), {}),
        "invoice": ("get", reverse("portal:invoice", args=[inv]), {}),
        "invoice_pdf": ("get", reverse("portal:invoice_pdf", args=[inv]), {}),
        "invoice_pay": ("post", reverse("portal:invoice_pay", args=[inv]), {"attempt": str(uuid.uuid4())}),
        "payment_done": ("get", reverse("portal:payment_done", args=[inv]), {"session_id": "local-x"}),
        "payment_cancelled": ("get", reverse("portal:payment_cancelled", args=[inv]), {"session_id": "local-x"}),
        "local_checkout": ("post", reverse("portal:local_checkout", args=[pay]), {"decision": "approve"}),
        "change_notice": ("post", reverse("portal:change_notice", args=[notice]), {"decision": "accept"}),
        "change_notice_pdf": ("get", reverse("portal:change_notice_pdf", args=[notice]), {}),
        "receipt_pdf": ("get", reverse("portal:receipt_pdf", args=[o["receipt"].pk]), {}),
    }



def _covered_names():
    return {"basis", "accept", "accepted", "decline", "offer_pdf", "invoice", "invoice_pdf", "invoice_pay",
            "payment_done", "payment_cancelled", "local_checkout", "change_notice", "change_notice_pdf", "receipt_pdf"} | PUBLIC | NOT_OBJECT_SCOPED


def test_url_table_matches_the_urlconf():
    assert {p.name for p in portal_urls.urlpatterns} == _covered_names()


def test_another_customers_objects_are_404_on_every_url(others, customer_client, customer_user):
    mine = customer_basis(customer_user)  # Kari has her own basis, so she is a real customer
    for name, (method, url, data) in object_urls(others).items():
        response = getattr(customer_client, method)(url, data)
        assert response.status_code == 404, f"{name} {url} → {response.status_code}"
    # …and nothing of Ola's changed
    others["payment"].refresh_from_db()
    assert others["payment"].status == "pending"
    assert not Payment.objects.filter(invoice__basis=others["basis"], status="confirmed").exists()
    others["basis"].refresh_from_db()
    assert others["basis"].status == "invoiced"
    others["notice"].refresh_from_db()
    assert others["notice"].status == "sent"
    # the lists show only her own things
    home = customer_client.get(reverse("portal:home")).content.decode()
    assert mine.title in home and others["basis"].number not in home
    invoices = customer_client.get(reverse("portal:invoices")).content.decode()
    assert reverse("portal:invoice", args=[others["invoice"].pk]) not in invoices


def test_the_owner_reaches_the_same_urls(others, other_customer_user):
    from django.test import Client

    client = Client()
    client.force_login(other_customer_user, backend="django.contrib.auth.backends.ModelBackend")
    for name in ("basis", "accepted", "invoice", "payment_done"):
        method, url, data = object_urls(others)[name]
        assert getattr(client, method)(url, data).status_code == 200, name
    for name in ("offer_pdf", "invoice_pdf", "receipt_pdf"):
        response = client.get(object_urls(others)[name][1])
        assert response.status_code == 200 and response["Content-Type"] == "application/pdf", name
        assert response.content.startswith(b"%PDF"), name


def test_anonymous_is_sent_to_login_and_other_roles_get_403(others, client, caseworker_client, installer_client):
    urls = dict(object_urls(others))
    urls.update({"home": ("get", reverse("portal:home"), {}), "invoices": ("get", reverse("portal:invoices"), {}),
                 "change_notices": ("get", reverse("portal:change_notices"), {}),
                 "password_change": ("get", reverse("portal:password_change"), {})})
    for name, (method, url, data) in urls.items():
        response = getattr(client, method)(url, data)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login")), name
        assert getattr(installer_client, method)(url, data).status_code == 403, name
        assert getattr(caseworker_client, method)(url, data).status_code == 403, name


def test_public_views_are_marked_public():
    from django.urls import resolve

    for name, args in {"stripe_webhook": [], "login_link": [], "login_link_confirm": ["x" * 43],
                       "set_password": ["MQ", "abc-def"]}.items():
        assert getattr(resolve(reverse(f"portal:{name}", args=args)).func, "public", False), name


def test_portal_menu_reaches_every_customer_page(customer_client, company):
    """Home, invoices and change notices are in the customer's menu on every portal page (change notices
    were reachable only from the e-mail)."""
    for url in (reverse("portal:home"), reverse("portal:invoices"), reverse("portal:change_notices")):
        page = customer_client.get(url).content.decode()
        nav = page.split('class="mainnav"', 1)[1].split("</nav>", 1)[0]
        for target in (reverse("portal:home"), reverse("portal:invoices"), reverse("portal:change_notices")):
            assert f'href="{target}"' in nav, (url, target)
        assert nav.count('aria-current="page"') == 1, url
