"""Payment providers behind a registry chosen by settings.PAYMENT_PROVIDER.

- `stripe`: Stripe Checkout (card; BankAxept cards are cards) through the official `stripe` client.
- `local`: a clearly marked test page that approves or declines, for `make run` without keys
  (only with DEBUG on).

A provider starts a checkout for an invoice and returns where to send the customer. Every attempt is a
billing Payment row with status pending, created through `billing.services.payment_register`; the
webhook (or the local test page) confirms or fails it through the billing services.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.urls import reverse

from billing import money, services
from billing.models import Payment

from .models import CheckoutAttempt

log = logging.getLogger(__name__)


def to_ore(amount) -> int:
    """Kroner (Decimal, already rounded by billing) → integer øre for the provider API."""
    return money._to_ore(money.round_ore(amount))


def from_ore(ore: int):
    return money._from_ore(int(ore))


@dataclass
class Checkout:
    payment: Payment
    redirect_url: str


class PaymentProvider:
    name = ""
    label = ""

    def start_checkout(self, *, invoice, amount, attempt: str, by, success_url: str, cancel_url: str) -> Checkout:
        raise NotImplementedError

    def form_action_origins(self) -> list[str]:
        """Origins the page with the pay button must allow as form-action (CSP): where we redirect to."""
        return []

    def expire_session(self, attempt: CheckoutAttempt) -> bool:
        """End one open checkout at the provider. False when it can no longer be ended (already paid)."""
        return True

    def expire_other_checkouts(self, *, invoice, keep: str, by) -> list[str]:
        """Starting a checkout ends the invoice's other open ones (another tab, an older attempt), so the
        customer cannot pay twice. A session the provider says is already paid stays pending: its webhook
        confirms it, and the excess is refunded. Returns the ended session ids."""
        ended = []
        open_attempts = (CheckoutAttempt.objects.filter(provider=self.name, payment__invoice=invoice,
                                                        payment__status=Payment.Status.PENDING,
                                                        payment__direction=Payment.Direction.PAYMENT)
                         .exclude(idempotency_key=keep).select_related("payment"))
        for attempt in open_attempts:
            try:
                expired = self.expire_session(attempt)
            except Exception:  # noqa: BLE001 - the provider's own expiry (or its webhook) ends it later
                log.warning("could not expire checkout %s", attempt.session_id, exc_info=True)
                continue
            if expired:
                services.payment_fail(payment=attempt.payment, by=by, error="erstattet av en ny betaling")
                ended.append(attempt.session_id)
        return ended


def stripe_client():
    import stripe

    kwargs = {"max_network_retries": settings.PORTAL_STRIPE_MAX_NETWORK_RETRIES}
    if settings.STRIPE_API_BASE:
        kwargs["base_addresses"] = {"api": settings.STRIPE_API_BASE}
    return stripe.StripeClient(settings.STRIPE_SECRET_KEY, **kwargs)


class StripeProvider(PaymentProvider):
    name = "stripe"
    label = "Stripe"

    def start_checkout(self, *, invoice, amount, attempt, by, success_url, cancel_url) -> Checkout:
        key = f"kf-checkout-{invoice.pk}-{attempt}"
        existing = CheckoutAttempt.objects.filter(idempotency_key=key).select_related("payment").first()
        if existing:  # double click: the same attempt again
            return Checkout(existing.payment, existing.checkout_url)
        self.expire_other_checkouts(invoice=invoice, keep=key, by=by)
        params = {
            "mode": "payment",
            "payment_method_types": ["card"],
            "line_items": [{
                "quantity": 1,
                "price_data": {"currency": invoice.currency.lower(), "unit_amount": to_ore(amount),
                               "product_data": {"name": f"{invoice.get_kind_display()} {invoice.number}"}},
            }],
            "client_reference_id": str(invoice.pk),
            # An abandoned checkout ends as checkout.session.expired → the attempt is marked failed.
            "expires_at": int(time.time()) + 60 * 60,
            "metadata": {"invoice_id": str(invoice.pk), "invoice_number": str(invoice.number),
                         "kid": invoice.kid, "attempt": attempt},
            "success_url": success_url + ("&" if "?" in success_url else "?") + "session_id={CHECKOUT_SESSION_ID}",
            "cancel_url": cancel_url + ("&" if "?" in cancel_url else "?") + "session_id={CHECKOUT_SESSION_ID}",
        }
        email = (invoice.buyer or {}).get("email")
        if email:
            params["customer_email"] = email
        # The idempotency key makes a retried or doubled request return the same session.
        session = stripe_client().v1.checkout.sessions.create(params=params, options={"idempotency_key": key})
        with transaction.atomic():
            payment, _created = services.payment_register(
                invoice=invoice, by=by, amount=amount, method=Payment.Method.CARD, provider=self.name,
                provider_reference=session.id, status=Payment.Status.PENDING,
                note="Stripe Checkout")
            attempt_row, _ = CheckoutAttempt.objects.get_or_create(
                session_id=session.id,
                defaults={"payment": payment, "provider": self.name, "idempotency_key": key,
                          "checkout_url": session.url or ""})
        return Checkout(payment, attempt_row.checkout_url)

    def expire_session(self, attempt: CheckoutAttempt) -> bool:
        import stripe

        client = stripe_client()
        try:
            session = client.v1.checkout.sessions.expire(attempt.session_id)
        except stripe.InvalidRequestError:
            # Only an open session can be expired: re-read it to see whether it was paid or already ended.
            session = client.v1.checkout.sessions.retrieve(attempt.session_id)
        return session.status == "expired"

    def form_action_origins(self) -> list[str]:
        origins = ["https://checkout.stripe.com"]
        if settings.STRIPE_API_BASE:  # a local fake serves its checkout page on its own origin
            parts = urlsplit(settings.STRIPE_API_BASE)
            origins.append(f"{parts.scheme}://{parts.netloc}")
        return origins


class LocalProvider(PaymentProvider):
    """For development without Stripe keys: a test page that approves or declines (DEBUG only)."""

    name = "local"
    label = "Lokal testbetaling"

    def start_checkout(self, *, invoice, amount, attempt, by, success_url, cancel_url) -> Checkout:
        key = f"kf-local-{invoice.pk}-{attempt}"
        self.expire_other_checkouts(invoice=invoice, keep=key, by=by)
        with transaction.atomic():
            payment, _ = services.payment_register(
                invoice=invoice, by=by, amount=amount, method=Payment.Method.CARD, provider=self.name,
                provider_reference=key, status=Payment.Status.PENDING, note="Lokal testbetaling")
            row, _ = CheckoutAttempt.objects.get_or_create(
                session_id=key, defaults={"payment": payment, "provider": self.name, "idempotency_key": key})
        return Checkout(payment, reverse("portal:local_checkout", args=[row.payment_id]))


PROVIDERS: dict[str, type[PaymentProvider]] = {"stripe": StripeProvider, "local": LocalProvider}


def get_provider(name: str | None = None) -> PaymentProvider:
    name = name or settings.PAYMENT_PROVIDER
    try:
        return PROVIDERS[name]()
    except KeyError:
        raise LookupError(f"unknown PAYMENT_PROVIDER {name!r} (known: {', '.join(PROVIDERS)})") from None
