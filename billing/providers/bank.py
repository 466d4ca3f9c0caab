"""Bank transfer with the invoice's KID. There is no checkout: the customer pays from their bank and the
payment arrives in a bank file (integrations/erp/services/bank.py books it). Refunds are payouts a case
worker makes from the bank to the customer's account number."""

from __future__ import annotations

from billing.models import Payment

from .base import PaymentProvider


class BankProvider(PaymentProvider):
    identifier = "bank"
    verbose_name = "Bankoverføring (KID)"
    method = Payment.Method.BANK_TRANSFER
