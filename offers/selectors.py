"""Read-side queries of the documents app."""

from django.http import Http404

from kundefaktura.accounts.roles import CASEWORKER, CUSTOMER, user_has_role


def document_for_user(user, kind: str, pk: int):
    """The Offer (kind "offer") or Invoice (kind "invoice") `pk` if `user` may see it, else Http404.

    Case workers see every document; customers only documents of their own bases (and only issued
    invoices); everyone else nothing.
    """
    from billing.models import Invoice, Offer

    if kind == "offer":
        qs = Offer.objects.select_related("basis", "basis__customer")
    elif kind == "invoice":
        qs = Invoice.objects.select_related("basis", "basis__customer", "credited_invoice")
    else:
        raise Http404
    if user_has_role(user, CASEWORKER):
        pass
    elif user_has_role(user, CUSTOMER):
        qs = qs.filter(basis__customer__user=user)
        if kind == "invoice":
            qs = qs.filter(number__isnull=False)
    else:
        raise Http404
    doc = qs.filter(pk=pk).first()
    if doc is None:
        raise Http404
    return doc


def basis_emails(basis):
    return basis.emails.all()
