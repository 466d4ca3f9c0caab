"""Read-side queries of the portal. Every query is scoped to the customer user: others' rows are 404."""

from django.db.models import Prefetch
from django.http import Http404

from billing.models import CheckoutAttempt, Invoice, InvoiceBasis, Payment
from billing.selectors import invoices_with_outstanding, with_stamps
from kundefaktura.compiled import compiled
from kundefaktura.related import load_related, nonempty_flags


def customer_bases(user):
    invoices = (invoices_with_outstanding(Invoice.objects.filter(number__isnull=False)
                                          .exclude(kind=Invoice.Kind.CREDIT_NOTE)).prefetch_related("reminders"))
    return (InvoiceBasis.objects.filter(customer__user=user)
            .select_related("customer").prefetch_related(Prefetch("invoices", queryset=invoices))
            .order_by("-created_at", "-id"))


def _answers() -> Prefetch:
    from billing.models import Acceptance

    return Prefetch("acceptances", queryset=Acceptance.objects.select_related("receipt"))


def _issued_invoices() -> Prefetch:
    invoices = (invoices_with_outstanding(Invoice.objects.filter(number__isnull=False)
                                          .exclude(kind=Invoice.Kind.CREDIT_NOTE))
                .prefetch_related("reminders").order_by("issue_date", "number"))
    return Prefetch("invoices", queryset=invoices)


# What the offer page reads of a basis besides the row: the customer's answers (with their receipts) and
# the issued invoices other than credit notes, with what is outstanding and their reminders. Each
# queryset is built only when the basis has such rows (kundefaktura/related.py).
OFFER_PAGE_RELATIONS = {"acceptances": _answers, "invoices": _issued_invoices}


def basis_for_user(user, pk, *, for_page: bool = False) -> InvoiceBasis:
    """One basis of this customer user (404 for anyone else's). `for_page`: with what the offer page shows
    (OFFER_PAGE_RELATIONS), one query per set that is not empty; `basis.invoices` then holds only
    the issued invoices other than credit notes; and on PostgreSQL `basis.reference_stamps`, the company
    profile's stamp for `billing.selectors.reference("profile", stamps=…)`."""
    if user.pk is None:  # no customer user: nothing is theirs
        raise Http404
    found = (_page_basis if for_page else _basis)(user.pk, pk)
    if not found:
        raise Http404
    basis = found[0]
    if for_page:
        load_related(basis, OFFER_PAGE_RELATIONS)
    return basis


def _basis_query(user_id, pk):
    return InvoiceBasis.objects.filter(customer__user=user_id, pk=pk).select_related("customer").order_by()


# The basis of the customer user `user_id`, alone or with the flags of OFFER_PAGE_RELATIONS; each compiled
# once (kundefaktura/compiled.py).
_basis = compiled(lambda user_id, pk: _basis_query(user_id, pk)[:1])
_page_basis = compiled(lambda user_id, pk: with_stamps(_basis_query(user_id, pk).annotate(
    nonempty=nonempty_flags(InvoiceBasis, OFFER_PAGE_RELATIONS)), "profile")[:1])


def customer_invoices(user):
    return (Invoice.objects.filter(basis__customer__user=user, number__isnull=False)
            .select_related("basis").order_by("-issue_date", "-number"))


# What the invoice page reads of an invoice besides the row: each is read only when the invoice has any.
INVOICE_PAGE_RELATIONS = {"payments": "payments", "reminders": "reminders",
                          "credit_notes": Prefetch("credit_notes", queryset=Invoice.objects.filter(
                              number__isnull=False).order_by("issue_date", "number"))}


def invoice_for_user(user, pk, *, for_page: bool = False) -> Invoice:
    """One issued invoice of this customer user (404 for anyone else's). `for_page`: with its payments,
    reminders and issued credit notes loaded, in one query per set that is not empty."""
    invoices = customer_invoices(user).filter(pk=pk).order_by()
    if for_page:
        invoices = invoices.annotate(nonempty=nonempty_flags(Invoice, INVOICE_PAGE_RELATIONS))
    invoice = next(iter(invoices[:1]), None)
    if invoice is None:
        raise Http404
    if for_page:
        load_related(invoice, INVOICE_PAGE_RELATIONS)
    return invoice


def payment_for_user(user, pk) -> Payment:
    payment = (Payment.objects.filter(invoice__basis__customer__user=user, invoice__number__isnull=False, pk=pk)
               .select_related("invoice", "invoice__basis").first())
    if payment is None:
        raise Http404
    return payment


def attempt_for_user(user, invoice, session_id: str):
    if not session_id:
        return None
    return (CheckoutAttempt.objects.filter(session_id=session_id, payment__invoice=invoice,
                                           payment__invoice__basis__customer__user=user)
            .select_related("payment").first())
