"""Refunds: bank payouts waiting to be paid out (mark one as paid out) and recent card refunds."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from kundefaktura.accounts.roles import caseworker_required

from .. import selectors, services
from ..errors import BillingError
from ..forms import PayoutForm
from ..models import Payment


@caseworker_required
@require_GET
def refunds(request):
    show_all = request.GET.get("alle") == "1"
    payouts = selectors.refund_payouts(include_done=show_all)
    card = (Payment.objects.filter(direction=Payment.Direction.REFUND, method=Payment.Method.CARD)
            .select_related("invoice", "invoice__basis__customer").order_by("-created_at")[:50])
    return render(request, "workspace/after_acceptance/refunds.html",
                  {"payouts": payouts, "card_refunds": card, "show_all": show_all, "form": PayoutForm()})


@caseworker_required
@require_POST
def refund_paid_out(request, pk):
    payment = get_object_or_404(Payment, pk=pk, direction=Payment.Direction.REFUND,
                                method=Payment.Method.BANK_TRANSFER)
    form = PayoutForm(request.POST)
    form.is_valid()
    try:
        services.refund_mark_paid_out(payment=payment, by=request.user, account=form.cleaned_data.get("account", ""),
                                       note=form.cleaned_data.get("note", ""))
        messages.success(request, _("Tilbakebetalingen er markert som utbetalt."))
    except BillingError as exc:
        messages.error(request, exc.message)
    return redirect("billing:refunds")
