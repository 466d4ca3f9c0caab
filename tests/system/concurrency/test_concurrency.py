"""Many requests for the same thing at the same instant, each thread on its own PostgreSQL connection:
the effect happens once (row locks and unique constraints, not luck)."""

import json
import uuid

import pytest
from django.test import Client
from django.urls import reverse

from billing import services
from billing.models import Acceptance, AuditEvent, Invoice, Payment
from integrations import services as integrations
from tests.support.factories import customer_basis, make_basis, make_customer
from tests.support.stripe_fake import post_webhook
from tests.support.threads import run_at_once

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_fifty_customers_tabs_accepting_one_offer_give_one_acceptance(postgres_only, company, customer_user,
                                                                       no_documents):
    basis = customer_basis(customer_user, prepayment=True)
    url = reverse("portal:accept", args=[basis.pk])

    def accept(i):
        client = Client()
        client.force_login(customer_user, backend="django.contrib.auth.backends.ModelBackend")
        return client.post(url, {"offer_version": 1, "terms_read": "on"}).status_code

    statuses, errors = run_at_once(50, accept)
    assert errors == []
    assert statuses == [302] * 50, statuses  # every tab lands on the "accepted" page, none on an error
    assert Acceptance.objects.filter(basis=basis).count() == 1
    assert AuditEvent.objects.filter(basis=basis, action="billing.basis.accepted").count() == 1
    # The prepayment invoices were issued once, not once per tab.
    assert Invoice.objects.filter(basis=basis, kind="prepayment").count() == 2


def test_twenty_invoice_issues_at_once_get_gapless_consecutive_numbers(postgres_only, company, no_documents):
    bases = []
    for i in range(20):
        basis = make_basis(customer=make_customer(email=f"k{i}@example.com"))
        services.line_add(basis=basis, by=None, category="resealing", description="Replombering",
                          quantity=1, unit_price="1200.00")
        services.offer_send(basis=basis, by=None)
        services.offer_accept(basis=basis, by=None)
        bases.append(basis)
    before = set(Invoice.objects.filter(series="F").values_list("number", flat=True))

    def issue(i):
        return [inv.number for inv in services.invoices_issue(basis=bases[i], by=None)]

    results, errors = run_at_once(20, issue)
    assert errors == []
    numbers = sorted(n for r in results for n in r)
    assert len(numbers) == 20 and not before & set(numbers)
    assert numbers == list(range(numbers[0], numbers[0] + 20)), numbers  # no gap, no duplicate
    assert Invoice.objects.filter(series="F", number__in=numbers).values("basis").distinct().count() == 20


def test_same_stripe_webhook_ten_times_at_once_gives_one_payment(postgres_only, company, customer_user, stripe_fake):
    basis = customer_basis(customer_user, prepayment=True)
    services.offer_accept(basis=basis, by=customer_user)
    invoice = Invoice.objects.filter(basis=basis, kind="prepayment", vat_regime="O").get()
    customer = Client()
    customer.force_login(customer_user, backend="django.contrib.auth.backends.ModelBackend")
    response = customer.post(reverse("portal:invoice_pay", args=[invoice.pk]), {"attempt": str(uuid.uuid4())})
    assert response.status_code == 302
    session_id = response["Location"].rsplit("/", 1)[-1]
    payload = stripe_fake.event("checkout.session.completed", stripe_fake.pay(session_id))

    results, errors = run_at_once(10, lambda i: post_webhook(Client(), payload).status_code)
    assert errors == []
    assert set(results) <= {200, 503} and 200 in results, results  # 503 = "retry later" to Stripe
    confirmed = Payment.objects.filter(invoice=invoice, status="confirmed")
    assert confirmed.count() == 1
    invoice.refresh_from_db()
    assert invoice.status == "paid"


def test_same_api_line_posted_ten_times_at_once_gives_one_line(postgres_only, company):
    _, token = integrations.api_client_create(name="Nettmelding")
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    from tests.support.api import basis_payload, line_payload

    created = Client().post("/api/v1/invoice-bases", json.dumps(basis_payload()), content_type="application/json",
                            **headers)
    assert created.status_code == 201, created.content
    url = f"/api/v1/invoice-bases/{created.json()['id']}/cost-lines"
    body = json.dumps(line_payload("SAME"))

    statuses, errors = run_at_once(
        10, lambda i: Client().post(url, body, content_type="application/json", **headers).status_code)
    assert errors == []
    assert sorted(statuses) == [200] * 9 + [201], statuses
    from billing.models import CostLine

    assert CostLine.objects.filter(line_reference="SAME").count() == 1
