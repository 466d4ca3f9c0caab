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



def outbox_figures():
    """Business figures for /metrics (kundefaktura/metrics.py): the e-mail outbox, two queries."""
    from django.db.models import Count, Min, Q
    from django.utils import timezone

    from kundefaktura.metrics import Figure

    from .models import OutboundEmail

    waiting = [OutboundEmail.Status.QUEUED, OutboundEmail.Status.SENDING]
    row = OutboundEmail.objects.aggregate(
        pending=Count("pk", filter=Q(status__in=waiting)),
        failed=Count("pk", filter=Q(status=OutboundEmail.Status.FAILED)),
        oldest=Min("created_at", filter=Q(status__in=waiting)))
    age = (timezone.now() - row["oldest"]).total_seconds() if row["oldest"] else 0.0
    return [
        Figure("outbox_emails_pending", "E-mails queued or being sent", row["pending"]),
        Figure("outbox_emails_failed", "E-mails that gave up after every attempt", row["failed"]),
        Figure("outbox_oldest_pending_age_seconds", "Age of the oldest e-mail not yet sent", round(age, 1)),
    ]
