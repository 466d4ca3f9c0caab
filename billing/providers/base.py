"""What every payment provider offers, after pretix's `BasePaymentProvider`.

A provider is the outside half of a payment method: it opens and ends checkouts, refunds at the
provider, and verifies and re-reads webhook events. It never writes billing rows itself; the billing
services (billing/services/checkout.py, billing/services/refunds.py) record what it reports, so the
money rules stay in one place and providers sit below the services.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from billing import money
from billing.models import CheckoutAttempt, Payment


class ProviderError(Exception):
    """A provider cannot do what was asked."""


class UnknownProvider(ProviderError, LookupError):
    """No provider is registered under this identifier."""


class ProviderUnavailable(ProviderError):
    """The provider is not configured or could not be reached; the same request may work later."""


class RefundNotSupported(ProviderError):
    """The provider cannot send money back; a case worker pays the refund out from the bank."""


class WebhookRejected(ProviderError):
    """The webhook request is not a genuine event from the provider (no secret, bad signature)."""


def to_ore(amount) -> int:
    """Kroner (Decimal, rounded to øre) → integer øre for a provider API."""
    return int(money.round_ore(Decimal(str(amount))).scaleb(2))


def from_ore(ore) -> Decimal:
    """Integer øre from a provider API → kroner."""
    return Decimal(int(ore)).scaleb(-2).quantize(money.ORE)


@dataclass(frozen=True)
class Session:
    """A checkout the provider opened: its id and the page the customer is sent to."""

    id: str
    url: str = ""


# What a provider event means for billing, once re-read from the provider (never from the event body).


@dataclass(frozen=True)
class CheckoutPaid:
    """A checkout session is complete. `paid` is false while a delayed method is still on its way."""

    session_id: str
    paid: bool
    payment_intent_id: str = ""
    amount: Decimal | None = None


@dataclass(frozen=True)
class CheckoutFailed:
    """A checkout session ended without payment (expired, or a delayed method failed)."""

    session_id: str
    reason: str
    paid: bool = False  # the provider says it is paid after all: a late failure never undoes a payment


@dataclass(frozen=True)
class ProviderRefund:
    reference: str
    amount: Decimal


@dataclass(frozen=True)
class ChargeRefunded:
    """Refunds made at the provider for the payment behind `payment_intent_id`."""

    payment_intent_id: str
    refunds: list[ProviderRefund] = field(default_factory=list)


class PaymentProvider:
    """One payment provider. Subclasses set the class attributes and override what they support."""

    identifier: str = ""  # stored in Payment.provider and CheckoutAttempt.provider
    verbose_name: str = ""
    supports_checkout = False  # the customer can pay an invoice online through it
    supports_refund = False  # money goes back through the provider; otherwise a bank payout
    method: str = ""  # the Payment.method its payments are recorded with

    def is_available(self) -> bool:
        """Configured well enough to be used now."""
        return True

    # --- checkout ---------------------------------------------------------------------------------

    def checkout_key(self, *, invoice, attempt: str) -> str:
        """The idempotency key of one checkout attempt (the pay form's attempt id)."""
        return f"kf-{self.identifier}-{invoice.pk}-{attempt}"

    def checkout_create(self, *, invoice, amount: Decimal, key: str, attempt: str, success_url: str,
                        cancel_url: str) -> Session:
        raise ProviderError(f"{self.identifier} has no checkout")

    def checkout_expire(self, attempt: CheckoutAttempt) -> bool:
        """End one open checkout at the provider. False when it can no longer be ended (already paid)."""
        return True

    def checkout_url(self, attempt: CheckoutAttempt) -> str:
        """Where the customer pays this attempt."""
        return attempt.checkout_url

    def checkout_note(self) -> str:
        """The note on the pending Payment row of a checkout."""
        return self.verbose_name

    def form_action_origins(self) -> list[str]:
        """Origins the page with the pay button must allow as form-action (CSP): where we redirect to."""
        return []

    # --- refunds ----------------------------------------------------------------------------------

    def refund(self, payment: Payment) -> str:
        """Send a pending refund row's amount back at the provider; returns the provider's reference.
        Must be safe to call twice for the same row."""
        raise RefundNotSupported(f"{self.identifier} cannot refund; pay it out from the bank")

    # --- webhooks ---------------------------------------------------------------------------------

    def webhook_parse(self, *, body: bytes, headers) -> dict:
        """Verify a webhook request and return the event (with "id" and "type")."""
        raise WebhookRejected(f"{self.identifier} sends no webhooks")

    def webhook_read(self, event):
        """Re-read the event's object at the provider and say what it means: CheckoutPaid,
        CheckoutFailed, ChargeRefunded, or None for an event billing does not act on.
        Raises ProviderUnavailable when the provider cannot be reached."""
        return None
