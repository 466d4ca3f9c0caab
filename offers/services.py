"""Workflows of the documents app that are neither a document nor an e-mail: the customer's portal
account, created when the first offer goes out, and the receipt of each answer (acceptance, change
notice accepted or declined). The e-mail outbox is `offers/outbox.py` (its main
functions are re-exported here for callers that use them through this module), the customer e-mails
are `offers/emails.py`, the documents `offers/documents.py`."""

from __future__ import annotations

from django.db import transaction

from .outbox import email_deliver, email_queue, from_address, outbox_sweep  # noqa: F401 - re-exported


def portal_user_ensure(customer):
    """The customer's portal user (role customer, no password), created and linked when missing.
    Username: the customer's e-mail in normal form (with "+<customer id>" if another customer has it)."""
    from django.contrib.auth import get_user_model

    from billing.models import Customer
    from kundefaktura.accounts.emails import email_normalize
    from kundefaktura.accounts.roles import CUSTOMER, is_customer_account
    from kundefaktura.accounts.services import user_create

    if customer.user_id:
        return customer.user
    email = email_normalize(customer.email)
    if not email:
        return None
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer.pk)
        if customer.user_id:
            return customer.user
        User = get_user_model()
        user = User.objects.filter(username=email).first()
        if user is not None and (Customer.objects.filter(user=user).exists() or not is_customer_account(user)):
            user, email = None, f"{email}+{customer.pk}"
            user = User.objects.filter(username=email).first()
        if user is None:
            first, _, last = customer.name.partition(" ") if customer.kind == "person" else (customer.name, "", "")
            # One account per address: when another account holds it already, this one is found
            # through its customer's address instead.
            address = customer.email if not User.objects.filter(email=email_normalize(customer.email)).exists() else ""
            user = user_create(username=email, role=CUSTOMER, password=None, email=address,
                               first_name=first[:150], last_name=last[:150])
        customer.user = user
        customer.save(update_fields=["user"])
    return user


def receipt_issue(*, acceptance=None, change_notice=None, by=None):
    """The receipt of one answer (an accepted offer, or a change notice accepted or declined; a row or its
    id), issued once:
    a second call returns the first receipt. Sealed when the company's seal is configured now; the PDF
    is rendered (and sealed) after commit by the document pipeline and stored once. Runs inside the
    answer's transaction (offers/receivers.py), so the receipt exists exactly when the answer does."""
    from billing.models import Acceptance, ChangeNotice
    from billing.services.audit import audit

    from .models import Receipt
    from .seal import seal_configured

    if (acceptance is None) == (change_notice is None):
        raise ValueError("a receipt belongs to exactly one answer")
    with transaction.atomic():
        if acceptance is not None:
            answer = Acceptance.objects.select_for_update().select_related("basis").get(
                pk=getattr(acceptance, "pk", acceptance))
            if answer.decision != "accepted":
                return None
            existing = Receipt.objects.filter(acceptance=answer).first()
            key = {"acceptance": answer}
            data = {"acceptance": answer.pk, "offer_version": answer.offer_version}
        else:
            answer = ChangeNotice.objects.select_for_update().select_related("basis").get(
                pk=getattr(change_notice, "pk", change_notice))
            if answer.status not in (ChangeNotice.Status.ACCEPTED, ChangeNotice.Status.DECLINED):
                return None
            existing = Receipt.objects.filter(change_notice=answer).first()
            key = {"change_notice": answer}
            data = {"change_notice": answer.pk, "version": answer.version, "decision": answer.status}
        if existing is not None:
            return existing
        receipt = Receipt.objects.create(basis=answer.basis, sealed=seal_configured(), **key)
        # Its PDF is rendered after commit by the confirmation e-mail that carries it, or by the render
        # task when no e-mail does (offers/receivers.py).
        audit(action="offers.receipt.issued", by=by, basis=answer.basis,
              data={"receipt": receipt.pk, "sealed": receipt.sealed, **data})
    return receipt
