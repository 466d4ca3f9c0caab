"""Card payment through the fake Stripe API (real `stripe` client) and the signed webhook."""

import threading
import uuid

import pytest
from django.db import connection, transaction
from django.urls import reverse

from billing import services
from billing.models import CheckoutAttempt, Payment, WebhookEvent
from tests.portal.conftest import as_json
from tests.support.factories import prepaid_invoice
from tests.support.stripe_fake import post_webhook

pytestmark = pytest.mark.django_db


def _start_checkout(client, invoice, attempt=None):
    attempt = attempt or str(uuid.uuid4())
    return client.post(reverse("portal:invoice_pay", args=[invoice.pk]), {"attempt": attempt})


@pytest.fixture
def checkout(company, customer_client, customer_user, stripe_fake):
    """A prepayment invoice with a started Stripe checkout (pending Payment)."""
    invoice = prepaid_invoice(customer_user)
    response = _start_checkout(customer_client, invoice)
    attempt = CheckoutAttempt.objects.get(payment__invoice=invoice)
    return invoice, attempt, response


def test_pay_now_creates_a_checkout_session_with_idempotency_key(checkout, stripe_fake):
    invoice, attempt, response = checkout
    assert response.status_code == 302
    assert response["Location"] == f"{stripe_fake.url}/checkout/{attempt.session_id}"
    created = [r for r in stripe_fake.requests if r["path"] == "/v1/checkout/sessions"]
    assert len(created) == 1
    req = created[0]
    assert req["idempotency_key"].startswith(f"kf-checkout-{invoice.pk}-")
    assert req["params"]["payment_method_types"] == ["card"]
    assert req["params"]["line_items"][0]["price_data"]["unit_amount"] == "5739290"  # 57 392,90 kr in øre
    payment = attempt.payment
    assert (payment.status, payment.provider, payment.provider_reference, payment.amount) == \
        ("pending", "stripe", attempt.session_id, invoice.gross_total)


def test_double_click_on_pay_gives_one_session_and_one_payment(company, customer_client, customer_user, stripe_fake):
    invoice = prepaid_invoice(customer_user)
    attempt = str(uuid.uuid4())
    first = _start_checkout(customer_client, invoice, attempt)
    CheckoutAttempt.objects.all().delete()  # even without our own row, Stripe's idempotency holds
    Payment.objects.filter(invoice=invoice).delete()
    second = _start_checkout(customer_client, invoice, attempt)
    third = _start_checkout(customer_client, invoice, attempt)
    assert first["Location"] == second["Location"] == third["Location"]
    assert len(stripe_fake.sessions) == 1
    assert Payment.objects.filter(invoice=invoice).count() == 1


def test_same_webhook_ten_times_confirms_one_payment(checkout, stripe_fake, client, customer_client):
    invoice, attempt, _ = checkout
    session = stripe_fake.pay(attempt.session_id)
    payload = stripe_fake.event("checkout.session.completed", session)
    results = [post_webhook(client, payload) for _ in range(10)]
    assert [r.status_code for r in results] == [200] * 10
    assert as_json(results[0])["result"] == "confirmed"
    assert {as_json(r)["result"] for r in results[1:]} == {"duplicate"}
    assert Payment.objects.filter(invoice=invoice, status="confirmed").count() == 1
    assert WebhookEvent.objects.count() == 1
    invoice.refresh_from_db()
    assert invoice.status == "paid"
    page = customer_client.get(reverse("portal:invoice", args=[invoice.pk])).content.decode()
    assert "Faktura betalt" in page and "Betal nå" not in page


def test_different_events_for_the_same_session_still_one_payment(checkout, stripe_fake, client):
    invoice, attempt, _ = checkout
    session = stripe_fake.pay(attempt.session_id)
    for kind in ["checkout.session.completed", "checkout.session.async_payment_succeeded"] * 3:
        assert post_webhook(client, stripe_fake.event(kind, session)).status_code == 200
    assert Payment.objects.filter(invoice=invoice).count() == 1
    assert services.invoice_outstanding(invoice) == 0


def test_bad_signature_is_400_and_changes_nothing(checkout, stripe_fake, client):
    invoice, attempt, _ = checkout
    session = stripe_fake.pay(attempt.session_id)
    payload = stripe_fake.event("checkout.session.completed", session)
    response = post_webhook(client, payload, secret="whsec_wrong")
    assert response.status_code == 400
    unsigned = client.post("/portal/stripe/webhook/", data=payload, content_type="application/json")
    assert unsigned.status_code == 400
    attempt.payment.refresh_from_db()
    assert attempt.payment.status == "pending"
    assert not WebhookEvent.objects.exists()
    invoice.refresh_from_db()
    assert invoice.status != "paid"


def test_webhook_is_a_trigger_not_the_truth(checkout, stripe_fake, client):
    """A validly signed event claiming "paid" for a session Stripe says is unpaid confirms nothing."""
    invoice, attempt, _ = checkout
    forged = dict(stripe_fake.sessions[attempt.session_id], payment_status="paid", status="complete")
    response = post_webhook(client, stripe_fake.event("checkout.session.completed", forged))
    assert response.status_code == 200 and as_json(response)["result"] == "awaiting_payment"
    attempt.payment.refresh_from_db()
    assert attempt.payment.status == "pending"


def test_unknown_event_answers_200(stripe_fake, client, db):
    response = post_webhook(client, stripe_fake.event("customer.created", {"id": "cus_1", "object": "customer"}))
    assert response.status_code == 200 and as_json(response)["result"] == "ignored"


def test_async_payment_failed_marks_the_attempt_failed(checkout, stripe_fake, client, customer_client):
    invoice, attempt, _ = checkout
    session = stripe_fake.sessions[attempt.session_id]
    assert post_webhook(client, stripe_fake.event("checkout.session.async_payment_failed", session)).status_code == 200
    attempt.payment.refresh_from_db()
    assert attempt.payment.status == "failed"
    page = customer_client.get(reverse("portal:invoice", args=[invoice.pk])).content.decode()
    assert "Betal nå" in page  # the customer can try again


def test_expired_checkout_marks_the_attempt_failed_but_never_undoes_a_payment(checkout, stripe_fake, client):
    invoice, attempt, _ = checkout
    assert stripe_fake.sessions[attempt.session_id]["expires_at"] > 0  # abandoned checkouts end
    expired = stripe_fake.expire(attempt.session_id)
    assert as_json(post_webhook(client, stripe_fake.event("checkout.session.expired", expired)))["result"] == "failed"
    attempt.payment.refresh_from_db()
    assert attempt.payment.status == "failed"


def test_charge_refunded_records_one_refund_row(checkout, stripe_fake, client):
    invoice, attempt, _ = checkout
    session = stripe_fake.pay(attempt.session_id)
    post_webhook(client, stripe_fake.event("checkout.session.completed", session))
    invoice.refresh_from_db()
    assert invoice.status == "paid"
    charge_id = stripe_fake.payment_intents[session["payment_intent"]]["latest_charge"]
    stripe_fake.refund(charge_id, 1000000)  # 10 000,00 kr back
    payload = stripe_fake.event("charge.refunded", stripe_fake.charges[charge_id])
    assert post_webhook(client, payload).status_code == 200
    assert post_webhook(client, stripe_fake.event("charge.refunded", stripe_fake.charges[charge_id])).status_code == 200
    refunds = Payment.objects.filter(invoice=invoice, direction="refund")
    assert [(r.amount, r.status, r.refund_of_id) for r in refunds] == \
        [(services.money.round_ore(10000), "confirmed", attempt.payment.pk)]
    invoice.refresh_from_db()
    assert invoice.status != "paid"
    assert services.invoice_outstanding(invoice) == services.money.round_ore(10000)


def test_cancel_page_fails_the_attempt_and_offers_paying_again(checkout, stripe_fake, customer_client):
    invoice, attempt, _ = checkout
    response = customer_client.get(reverse("portal:payment_cancelled", args=[invoice.pk]),
                                   {"session_id": attempt.session_id}, follow=True)
    assert "Betalingen ble avbrutt" in response.content.decode()
    attempt.payment.refresh_from_db()
    assert attempt.payment.status == "failed"


def test_success_page_says_processing_until_the_webhook_confirms(checkout, stripe_fake, client, customer_client):
    invoice, attempt, _ = checkout
    url = reverse("portal:payment_done", args=[invoice.pk]) + f"?session_id={attempt.session_id}"
    session = stripe_fake.pay(attempt.session_id)
    assert "Betalingen din behandles" in customer_client.get(url).content.decode()
    post_webhook(client, stripe_fake.event("checkout.session.completed", session))
    assert "Faktura betalt" in customer_client.get(url, HTTP_HX_REQUEST="true").content.decode()


@pytest.mark.django_db(transaction=True)
def test_lock_timeout_answers_503_and_the_retry_succeeds(role_groups, company, customer_client, customer_user, stripe_fake,
                                                         client, settings):
    if connection.vendor != "postgresql":
        pytest.skip("lock_timeout is PostgreSQL")
    settings.PORTAL_WEBHOOK_LOCK_TIMEOUT_MS = 200
    invoice = prepaid_invoice(customer_user)
    _start_checkout(customer_client, invoice)
    attempt = CheckoutAttempt.objects.get(payment__invoice=invoice)
    session = stripe_fake.pay(attempt.session_id)
    payload = stripe_fake.event("checkout.session.completed", session)
    locked, release = threading.Event(), threading.Event()

    def hold_lock():
        try:
            with transaction.atomic():
                list(Payment.objects.select_for_update().filter(pk=attempt.payment_id))
                locked.set()
                release.wait(30)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_lock)
    holder.start()
    assert locked.wait(10)
    try:
        busy = post_webhook(client, payload)
    finally:
        release.set()
        holder.join()
    assert busy.status_code == 503
    assert not WebhookEvent.objects.exists()
    retry = post_webhook(client, payload)
    assert retry.status_code == 200 and as_json(retry)["result"] == "confirmed"
    assert Payment.objects.get(pk=attempt.payment_id).status == "confirmed"


def test_local_provider_test_page_only_with_debug(company, customer_client, customer_user, settings):
    settings.PAYMENT_PROVIDER = "local"
    invoice = prepaid_invoice(customer_user)
    response = _start_checkout(customer_client, invoice)
    payment = Payment.objects.get(invoice=invoice)
    assert response["Location"] == reverse("portal:local_checkout", args=[payment.pk])
    settings.DEBUG = False
    assert customer_client.get(response["Location"]).status_code == 404
    settings.DEBUG = True
    page = customer_client.get(response["Location"]).content.decode()
    assert "TESTBETALING" in page
    customer_client.post(response["Location"], {"decision": "approve"})
    invoice.refresh_from_db()
    assert invoice.status == "paid"
