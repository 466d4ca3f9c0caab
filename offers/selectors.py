"""Read-side queries of the documents app."""

from django.http import Http404

from kundefaktura.accounts.roles import CASEWORKER, CUSTOMER, user_has_role

from .documents import DOCUMENTS


def document_for_user(user, kind: str, pk: int, *, role: str | None = None):
    """Document `pk` of `kind` (a kind in `offers.documents.DOCUMENTS`) if `user` may see it, else Http404.

    Case workers see every document; customers only documents of their own bases (and only issued
    invoices), never a kind without an owner (the rough estimate); everyone else nothing. `role` sees
    the document through that role only (the portal's links: a customer's own documents, even for a
    user who is also a case worker).
    """
    declaration = DOCUMENTS.get(kind)
    if declaration is None:
        raise Http404
    qs = declaration.queryset()
    if role in (None, CASEWORKER) and user_has_role(user, CASEWORKER):
        pass
    elif role in (None, CUSTOMER) and user_has_role(user, CUSTOMER) and declaration.owner:
        qs = qs.filter(**{declaration.owner: user}, **declaration.published)
    else:
        raise Http404
    doc = qs.filter(pk=pk).first()
    if doc is None:
        raise Http404
    return doc

