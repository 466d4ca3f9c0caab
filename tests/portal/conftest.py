import json

import pytest
import stripe

from billing import services
from kundefaktura.accounts.roles import CUSTOMER
from tests.support.factories import example1_lines, make_basis, make_customer
from tests.support.stripe_fake import FakeStripe

WEBHOOK_SECRET = "whsec_test_portal"


@pytest.fixture
def stripe_fake(settings):
    fake = FakeStripe().start()
    settings.PAYMENT_PROVIDER = "stripe"
    settings.STRIPE_SECRET_KEY = "sk_test_portal"
    settings.STRIPE_API_BASE = fake.url
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.PORTAL_STRIPE_MAX_NETWORK_RETRIES = 0
    yield fake
    fake.stop()


def signed(payload: bytes, secret: str = WEBHOOK_SECRET) -> dict:
    header = stripe.WebhookSignature.generate_signature_header(payload.decode(), secret)
    return {"HTTP_STRIPE_SIGNATURE": header}


def post_webhook(client, payload: bytes, secret: str = WEBHOOK_SECRET):
    return client.post("/portal/stripe/webhook/", data=payload, content_type="application/json",
                       **signed(payload, secret))


def customer_basis(user, *, prepayment=False, send=True, **customer_fields):
    """A basis (worked example 1) of a customer linked to `user`, with the offer sent."""
    customer = make_customer(**customer_fields)
    customer.user = user
    customer.save(update_fields=["user"])
    basis = make_basis(customer=customer, prepayment_required=prepayment)
    example1_lines(basis)
    if send:
        services.offer_send(basis=basis, by=None)
    basis.refresh_from_db()
    return basis


@pytest.fixture
def other_customer_user(make_user):
    return make_user(CUSTOMER, username="ola", first_name="Ola", last_name="Annen", email="ola@example.com")


def as_json(response):
    return json.loads(response.content)
