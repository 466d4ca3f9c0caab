"""The payment-provider registry (billing/providers/): every provider once, chosen by identifier, with
what it supports; settings choose the pay button's provider."""

from decimal import Decimal
from types import SimpleNamespace

import pytest

from billing import providers
from billing.models import Invoice, Payment
from billing.providers.base import from_ore, to_ore
from billing.services.checkout import checkout_start
from tests.support.factories import accepted_basis


def test_unknown_provider_is_a_clear_error():
    with pytest.raises(providers.UnknownProvider, match=r"unknown payment provider 'paypal' \(known: stripe, local"):
        providers.get_provider("paypal")
    with pytest.raises(LookupError):  # callers that catch LookupError keep working
        providers.get_provider("")


def test_every_provider_is_registered_once_under_its_constant():
    registered = {p.identifier: p for p in providers.providers()}
    assert set(registered) == {providers.STRIPE, providers.LOCAL, providers.BANK, providers.MANUAL}
    for identifier, provider in registered.items():
        assert type(providers.get_provider(identifier)) is type(provider)
        assert provider.verbose_name
        assert provider.method in Payment.Method.values
        assert len(identifier) <= Payment._meta.get_field("provider").max_length


@pytest.mark.parametrize(("identifier", "refund", "checkout"), [
    ("stripe", True, True), ("local", True, True), ("bank", False, False), ("manual", False, False)])
def test_what_each_provider_supports(identifier, refund, checkout):
    provider = providers.get_provider(identifier)
    assert provider.supports_refund is refund
    assert provider.supports_checkout is checkout
    assert providers.supports_refund(identifier) is refund


def test_names_no_provider_has_are_refunded_as_bank_payouts():
    # Rows from before a provider existed (or seeded by hand) are never sent to a provider for a refund.
    assert providers.supports_refund("demo") is False
    assert providers.supports_refund("") is False


def test_providers_without_refunds_say_so():
    for identifier in (providers.BANK, providers.MANUAL):
        with pytest.raises(providers.RefundNotSupported):
            providers.get_provider(identifier).refund(SimpleNamespace(pk=1))
    assert providers.get_provider(providers.LOCAL).refund(SimpleNamespace(pk=7)) == "local-refund-7"


def test_settings_choose_the_checkout_provider(settings):
    settings.PAYMENT_PROVIDER = "local"
    assert isinstance(providers.checkout_provider(), providers.LocalProvider)
    settings.PAYMENT_PROVIDER = "stripe"
    assert isinstance(providers.checkout_provider(), providers.StripeProvider)
    settings.PAYMENT_PROVIDER = "bank"
    with pytest.raises(providers.UnknownProvider, match="has no checkout"):
        providers.checkout_provider()
    settings.PAYMENT_PROVIDER = "paypal"
    with pytest.raises(providers.UnknownProvider, match="paypal"):
        providers.checkout_provider()


def test_stripe_is_available_only_with_a_key(settings):
    settings.STRIPE_SECRET_KEY = ""
    assert not providers.get_provider(providers.STRIPE).is_available()
    settings.STRIPE_SECRET_KEY = "sk_test_x"
    assert providers.get_provider(providers.STRIPE).is_available()


def test_checkout_without_a_configured_provider_records_nothing(db, settings):
    settings.PAYMENT_PROVIDER, settings.STRIPE_SECRET_KEY = "stripe", ""
    invoice = SimpleNamespace(pk=1)
    with pytest.raises(providers.ProviderUnavailable):
        checkout_start(invoice=invoice, amount=Decimal("100.00"), attempt="a", by=None, success_url="/",
                       cancel_url="/")
    assert not Payment.objects.exists()


def test_webhooks_are_rejected_unless_genuine(settings):
    settings.STRIPE_WEBHOOK_SECRET = ""
    with pytest.raises(providers.WebhookRejected, match="webhook secret not configured"):
        providers.get_provider(providers.STRIPE).webhook_parse(body=b"{}", headers={})
    settings.STRIPE_WEBHOOK_SECRET = "whsec_x"
    with pytest.raises(providers.WebhookRejected, match="invalid signature"):
        providers.get_provider(providers.STRIPE).webhook_parse(body=b"{}", headers={"Stripe-Signature": "t=1,v1=x"})
    with pytest.raises(providers.WebhookRejected):
        providers.get_provider(providers.BANK).webhook_parse(body=b"{}", headers={})


def test_ore_conversion_for_provider_apis():
    assert to_ore(Decimal("57392.90")) == 5739290
    assert to_ore(Decimal("0.005")) == 1  # rounded half up to whole øre first
    assert from_ore(5739290) == Decimal("57392.90")
    assert from_ore("100") == Decimal("1.00")


def test_checkout_of_the_local_provider_leads_to_its_test_page(company):
    basis = accepted_basis(prepayment_required=True)
    invoice = Invoice.objects.filter(basis=basis, kind="prepayment", vat_regime="O").get()
    provider = providers.get_provider(providers.LOCAL)
    first, again = (checkout_start(provider=provider, invoice=invoice, amount=invoice.gross_total, attempt="a",
                                   by=None, success_url="/", cancel_url="/") for _ in range(2))
    assert first == again, "the same attempt twice is one checkout"
    assert first.redirect_url == f"/portal/betaling/{first.payment.pk}/testbetaling/"
    assert (first.payment.provider, first.payment.status, first.payment.method) == ("local", "pending", "card")
