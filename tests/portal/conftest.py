import json

import pytest
import stripe

from billing import services
from kundefaktura.accounts.roles import CUSTOMER
from tests.factories import example1_lines, make_basis, make_customer
from tests.stripe_fake import FakeStripe

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


@pytest.fixture
def role_groups(transactional_db):
    """Transactional tests flush the tables, and with them the rows data migrations made (role groups,
    VAT codes, cost categories): make them again (request this fixture before any data fixture)."""
    import importlib

    from django.apps import apps
    from django.contrib.auth.management import create_permissions
    from django.contrib.auth.models import Group, Permission

    from kundefaktura.accounts.roles import ROLE_GROUP_NAMES

    create_permissions(apps.get_app_config("accounts"), verbosity=0)
    for role, name in ROLE_GROUP_NAMES.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(Permission.objects.get(content_type__app_label="accounts", codename=f"act_as_{role}"))
    importlib.import_module("billing.migrations.0002_seed_vat_and_categories").seed(apps, None)
