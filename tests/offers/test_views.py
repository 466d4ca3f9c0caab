"""Document views: case workers see every document, customers only their own (404 for others'),
installers and anonymous users nothing."""

import pytest
from django.http import Http404
from django.urls import reverse

from billing import services as billing
from offers.selectors import document_for_user
from tests.support.factories import example1_lines, make_basis, make_customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def documents(company, caseworker, customer_user, django_capture_on_commit_callbacks):
    """An offer and invoices for Kari (linked to customer_user) and an offer for someone else."""
    kari = make_customer()
    kari.user = customer_user
    kari.save(update_fields=["user"])
    mine = make_basis(by=caseworker, customer=kari)
    example1_lines(mine, caseworker)
    other = make_basis(by=caseworker, customer=make_customer(name="Per Hansen", email="per@example.com"))
    example1_lines(other, caseworker)
    with django_capture_on_commit_callbacks(execute=True):
        my_offer = billing.offer_send(basis=mine, by=caseworker)
        other_offer = billing.offer_send(basis=other, by=caseworker)
        billing.offer_accept(basis=mine, by=None)
    with django_capture_on_commit_callbacks(execute=True):
        invoices = billing.invoices_issue(basis=mine, by=caseworker)
    return {"mine": mine, "my_offer": my_offer, "other_offer": other_offer, "invoice": invoices[0]}


def test_caseworker_previews_and_downloads(caseworker_client, documents):
    offer, invoice = documents["my_offer"], documents["invoice"]
    page = caseworker_client.get(reverse("offers:preview", args=["offer", offer.pk]))
    assert page.status_code == 200 and documents["mine"].number in page.content.decode()
    assert reverse("offers:css") in page.content.decode(), "the preview uses the same stylesheet, no inline CSS"
    pdf = caseworker_client.get(reverse("offers:pdf", args=["invoice", invoice.pk]) + "?download=1")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF") and "attachment" in pdf["Content-Disposition"]
    invoice.refresh_from_db()
    import hashlib

    assert hashlib.sha256(pdf.content).hexdigest() == invoice.pdf_sha256, "the stored evidence is served"


def test_customer_sees_only_own_documents(customer_client, customer_user, documents):
    assert customer_client.get(reverse("offers:pdf", args=["offer", documents["my_offer"].pk])).status_code == 200
    assert customer_client.get(reverse("offers:preview", args=["invoice", documents["invoice"].pk])).status_code == 200
    assert customer_client.get(reverse("offers:pdf", args=["offer", documents["other_offer"].pk])).status_code == 404
    assert customer_client.get(reverse("offers:preview", args=["offer", documents["other_offer"].pk])).status_code == 404
    with pytest.raises(Http404):
        document_for_user(customer_user, "offer", documents["other_offer"].pk)
    assert document_for_user(customer_user, "offer", documents["my_offer"].pk) == documents["my_offer"]


def test_installer_and_anonymous_get_nothing(installer_client, client, documents):
    url = reverse("offers:pdf", args=["offer", documents["my_offer"].pk])
    assert installer_client.get(url).status_code == 403
    response = client.get(url)
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_rough_preview_before_the_offer_is_not_binding(company, caseworker, caseworker_client, customer_client):
    basis = make_basis(by=caseworker)
    example1_lines(basis, caseworker)
    url = reverse("offers:rough_preview", args=[basis.pk])
    html = caseworker_client.get(url).content.decode().replace("\u00a0", " ")
    assert "Grovt overslag" in html and "grovt overslag" in html and "58 892,90 kr" in html
    assert "Totalt estimat" not in html and "Slik aksepterer du" not in html
    assert customer_client.get(url).status_code == 403
