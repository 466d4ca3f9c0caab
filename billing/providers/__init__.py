"""The payment-provider registry: every provider once, chosen by identifier.

- `stripe`: Stripe Checkout (card), billing/providers/stripe.py.
- `local`: a test page that approves or declines, for `make run` without keys, billing/providers/local.py.
- `bank`: bank transfer with KID from a bank file; refunds are bank payouts, billing/providers/bank.py.
- `manual`: payments a case worker registers; refunds are bank payouts, billing/providers/manual.py.

settings.PAYMENT_PROVIDER names the provider the portal's pay button uses (`checkout_provider()`).
Payment.provider stores the identifier; compare with the constants below, never with a bare string.
"""

from __future__ import annotations

from django.conf import settings

from .bank import BankProvider
from .base import (
    ChargeRefunded,
    CheckoutFailed,
    CheckoutPaid,
    PaymentProvider,
    ProviderError,
    ProviderRefund,
    ProviderUnavailable,
    RefundNotSupported,
    Session,
    UnknownProvider,
    WebhookRejected,
)
from .local import LocalProvider
from .manual import ManualProvider
from .stripe import StripeProvider

__all__ = [
    "BANK", "LOCAL", "MANUAL", "STRIPE", "BankProvider", "ChargeRefunded", "CheckoutFailed", "CheckoutPaid",
    "LocalProvider", "ManualProvider", "PaymentProvider", "ProviderError", "ProviderRefund",
    "ProviderUnavailable", "RefundNotSupported", "Session", "StripeProvider", "UnknownProvider",
    "WebhookRejected", "checkout_provider", "get_provider", "providers", "supports_refund",
]

_PROVIDERS: dict[str, type[PaymentProvider]] = {
    cls.identifier: cls for cls in (StripeProvider, LocalProvider, BankProvider, ManualProvider)}

STRIPE = StripeProvider.identifier
LOCAL = LocalProvider.identifier
BANK = BankProvider.identifier
MANUAL = ManualProvider.identifier


def providers() -> list[PaymentProvider]:
    """Every registered provider."""
    return [cls() for cls in _PROVIDERS.values()]


def get_provider(name: str) -> PaymentProvider:
    try:
        return _PROVIDERS[name]()
    except KeyError:
        raise UnknownProvider(f"unknown payment provider {name!r} (known: {', '.join(_PROVIDERS)})") from None


def checkout_provider() -> PaymentProvider:
    """The provider of the portal's pay button: settings.PAYMENT_PROVIDER."""
    provider = get_provider(settings.PAYMENT_PROVIDER)
    if not provider.supports_checkout:
        raise UnknownProvider(f"PAYMENT_PROVIDER {provider.identifier!r} has no checkout "
                              f"(use one of: {', '.join(p.identifier for p in providers() if p.supports_checkout)})")
    return provider


def supports_refund(name: str) -> bool:
    """Whether money paid through `name` goes back through it; false for names no provider has (old
    or demo rows), whose refunds are bank payouts."""
    cls = _PROVIDERS.get(name)
    return bool(cls and cls.supports_refund)
