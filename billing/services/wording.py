"""Text the system writes into a customer's documents (a settlement line, a credit note's note, a
shared-cost share line) is written in that customer's language, not in the language of whoever
triggered it: it is stored once and printed as stored."""

from contextlib import contextmanager

from django.conf import settings
from django.utils import translation


@contextmanager
def customer_language(customer):
    """Translate inside the block into `customer`'s language (bokmål for none or an unoffered one)."""
    code = getattr(customer, "language", "") or ""
    with translation.override(code if code in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE):
        yield
