"""The customer's offer page: read, accept with evidence, decline; superseded, expired, double submit."""

import datetime as dt

import pytest
from django.urls import reverse

from billing import services
from billing.models import Acceptance, Invoice
from tests.support.factories import add_line, customer_basis

pytestmark = pytest.mark.django_db

UA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0) Mobile"


def test_home_lists_own_bases_with_status_and_next_step(company, customer_client, customer_user):
    basis = customer_basis(customer_user)
    page = customer_client.get(reverse("portal:home")).content.decode()
    assert basis.title in page
    assert "Tilbud sendt" in page
    assert "Les tilbudet og aksepter det for å sette arbeidet i gang." in page


def test_offer_page_shows_lines_totals_validity_and_pdf_link(company, customer_client, customer_user):
    basis = customer_basis(customer_user)
    offer = services.current_offer(basis)
    page = customer_client.get(reverse("portal:basis", args=[basis.pk])).content.decode()
    assert "Replombering" in page
    assert "58\u00a0892,90\u00a0kr" in page  # worked example 1, value from the stored offer
    assert offer.valid_until.strftime("%d.%m.%Y") in page
    assert reverse("portal:offer_pdf", args=[offer.pk]) in page
    assert "Jeg har lest vilkårene" in page


def test_accept_needs_the_terms_checkbox(company, customer_client, customer_user):
    basis = customer_basis(customer_user)
    response = customer_client.post(reverse("portal:accept", args=[basis.pk]), {"offer_version": 1})
    assert response.status_code == 422
    assert "Kryss av for at du har lest vilkårene" in response.content.decode()
    basis.refresh_from_db()
    assert basis.status == "offer_sent"


def test_accept_stores_evidence_and_double_submit_gives_one_acceptance(company, customer_client, customer_user):
    basis = customer_basis(customer_user)
    offer = services.current_offer(basis)
    offer.pdf_sha256 = "a" * 64  # the PDF the customer saw
    offer.save(update_fields=["pdf_sha256"])
    url = reverse("portal:accept", args=[basis.pk])
    data = {"offer_version": offer.version, "terms_read": "on"}
    first = customer_client.post(url, data, HTTP_USER_AGENT=UA, REMOTE_ADDR="198.51.100.7")
    second = customer_client.post(url, data, HTTP_USER_AGENT=UA, REMOTE_ADDR="198.51.100.7")
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"] == reverse("portal:accepted", args=[basis.pk])
    acceptance = Acceptance.objects.get(basis=basis)
    assert (acceptance.user, acceptance.offer_version, acceptance.ip_address, acceptance.user_agent,
            acceptance.pdf_sha256) == (customer_user, 1, "198.51.100.7", UA, "a" * 64)
    page = customer_client.get(first["Location"]).content.decode()
    assert "Tilbudet er akseptert" in page and "Akseptert" in page


def test_old_tab_with_superseded_version_gets_a_clear_message(company, customer_client, customer_user):
    basis = customer_basis(customer_user)
    add_line(basis, description="Ekstra graving", unit_price="5000.00")
    services.offer_send(basis=basis, by=None)  # version 2
    response = customer_client.post(reverse("portal:accept", args=[basis.pk]),
                                    {"offer_version": 1, "terms_read": "on"}, follow=True)
    page = response.content.decode()
    assert "er erstattet av en nyere versjon (versjon 2)" in page
    assert not Acceptance.objects.filter(basis=basis).exists()


def test_expired_offer_cannot_be_accepted(company, customer_client, customer_user):
    basis = customer_basis(customer_user)
    offer = services.current_offer(basis)
    offer.valid_until = services.today() - dt.timedelta(days=1)
    offer.save(update_fields=["valid_until"])
    page = customer_client.get(reverse("portal:basis", args=[basis.pk])).content.decode()
    assert "Tilbudet er utløpt" in page and "Aksepter tilbudet" not in page
    response = customer_client.post(reverse("portal:accept", args=[basis.pk]),
                                    {"offer_version": 1, "terms_read": "on"}, follow=True)
    assert "kan ikke lenger aksepteres" in response.content.decode()
    assert not Acceptance.objects.filter(basis=basis).exists()


def test_decline_with_reason(company, customer_client, customer_user):
    basis = customer_basis(customer_user)
    response = customer_client.post(reverse("portal:decline", args=[basis.pk]),
                                    {"offer_version": 1, "reason": "For dyrt"}, follow=True)
    assert "Du har avslått tilbudet" in response.content.decode()
    answer = Acceptance.objects.get(basis=basis)
    assert (answer.decision, answer.note) == ("declined", "For dyrt")
    basis.refresh_from_db()
    assert basis.status_label == "Avslått"


def test_prepayment_acceptance_shows_the_prepayment_invoice_with_pay_now(company, customer_client, customer_user):
    basis = customer_basis(customer_user, prepayment=True)
    response = customer_client.post(reverse("portal:accept", args=[basis.pk]),
                                    {"offer_version": 1, "terms_read": "on"}, follow=True)
    page = response.content.decode()
    prepayments = list(Invoice.objects.filter(basis=basis, kind="prepayment"))
    assert len(prepayments) == 2  # O and taxable (Peppol BR-O-11)
    assert "Betal nå" in page
    for inv in prepayments:
        assert reverse("portal:invoice", args=[inv.pk]) in page
    basis.refresh_from_db()
    assert basis.work_release == "blocked"


@pytest.mark.django_db(transaction=True)
def test_two_tabs_accepting_at_the_same_moment_give_one_acceptance(role_groups, company, customer_user):
    import threading

    from django.db import connection
    from django.test import Client

    basis = customer_basis(customer_user, prepayment=True)
    barrier = threading.Barrier(2)
    results = []

    def tab():
        client = Client()
        client.force_login(customer_user, backend="django.contrib.auth.backends.ModelBackend")
        barrier.wait(10)
        try:
            results.append(client.post(reverse("portal:accept", args=[basis.pk]),
                                       {"offer_version": 1, "terms_read": "on"}))
        finally:
            connection.close()

    tabs = [threading.Thread(target=tab) for _ in range(2)]
    for t in tabs:
        t.start()
    for t in tabs:
        t.join()
    assert [r.status_code for r in results] == [302, 302]
    assert {r["Location"] for r in results} == {reverse("portal:accepted", args=[basis.pk])}
    assert Acceptance.objects.filter(basis=basis).count() == 1
    assert Invoice.objects.filter(basis=basis, kind="prepayment").count() == 2  # issued once, not twice


def test_acceptance_before_the_worker_rendered_the_pdf_is_bound_to_the_stored_pdf(company, customer_client,
                                                                                  customer_user):
    basis = customer_basis(customer_user)  # sent; the after-commit render has not run
    offer = services.current_offer(basis)
    assert not offer.pdf_sha256
    response = customer_client.post(reverse("portal:accept", args=[basis.pk]),
                                    {"offer_version": offer.version, "terms_read": "on"})
    assert response.status_code == 302
    offer.refresh_from_db()
    acceptance = Acceptance.objects.get(basis=basis)
    assert len(offer.pdf_sha256) == 64 and acceptance.pdf_sha256 == offer.pdf_sha256
