"""Payments a case worker registers by hand (cash, a transfer seen in the bank before its file). No
checkout, no webhooks; refunds are bank payouts made by a case worker."""

from __future__ import annotations

from billing.models import Payment

from .base import PaymentProvider


class ManualProvider(PaymentProvider):
    identifier = "manual"
    verbose_name = "Manuell registrering"
    method = Payment.Method.MANUAL
