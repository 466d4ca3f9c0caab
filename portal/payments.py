from billing.providers.base import to_ore  # noqa: F401 - billing/lifecycle.py's Stripe refund until it uses the registry
from billing.providers.stripe import stripe_client  # noqa: F401
