"""The customer's invoices and paying one by card: start the checkout, come back from it (done or
cancelled), and the local test payment page."""

import logging
import uuid
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from billing import providers, services
from billing import selectors as billing_selectors
from billing.errors import BillingError
from billing.models import Invoice, Payment
from billing.services.checkout import checkout_start
from kundefaktura.accounts.roles import customer_required

from .. import selectors
from ..forms import PayForm

log = logging.getLogger(__name__)


@customer_required
def invoice_list(request):
    """Every issued document with its reminder fees and what is left to pay including them."""
    # `outstanding`: the SQL annotation (= billing_selectors.invoice_outstanding; a credit note owes nothing).
    rows = [{"invoice": inv, **billing_selectors.invoice_dues(
                inv, outstanding=None if inv.kind == Invoice.Kind.CREDIT_NOTE else inv.outstanding)}
            for inv in billing_selectors.invoices_with_outstanding(selectors.customer_invoices(request.user))
            .prefetch_related("reminders")]
    return render(request, "portal/invoices.html", {"rows": rows})


def _invoice_context(invoice):
    # Every payment and issued credit note of the invoice, read once with it (selectors.invoice_for_user
    # with for_page); the figures below filter them.
    payments = list(invoice.payments.all())
    credit_notes = list(invoice.credit_notes.all())
    dues = billing_selectors.invoice_dues(invoice, outstanding=billing_selectors.invoice_outstanding(
        invoice, payments=payments, credit_notes=credit_notes))
    # A checkout the customer abandoned expires at Stripe after 60 minutes; older attempts are not
    # "being processed" any more.
    since = timezone.now() - timedelta(minutes=65)
    return {
        "invoice": invoice, **dues,
        # Paid means nothing left: the invoice's balance and any reminder fees.
        "is_paid": invoice.kind != Invoice.Kind.CREDIT_NOTE and dues["owed"] <= 0
        and invoice.status == Invoice.Status.PAID,
        "pending": any(p.status == Payment.Status.PENDING and p.direction == Payment.Direction.PAYMENT
                       and p.created_at >= since for p in payments),
        "payments": [p for p in payments if p.status in (Payment.Status.CONFIRMED, Payment.Status.REFUNDED)],
        "credit_notes": credit_notes,
        "paid_total": sum((p.amount for p in payments if p.direction == Payment.Direction.PAYMENT
                           and p.status == Payment.Status.CONFIRMED), Decimal(0)),
        "refunds": sorted((p for p in payments if p.direction == Payment.Direction.REFUND
                           and p.status in (Payment.Status.PENDING, Payment.Status.CONFIRMED)),
                          key=lambda p: (p.created_at, p.pk)),
        "bank_account": (invoice.seller or {}).get("bank_account_display") or (invoice.seller or {}).get("bank_account"),
        "bank_account_digits": (invoice.seller or {}).get("bank_account", ""),
    }


@customer_required
def invoice_detail(request, pk):
    invoice = selectors.invoice_for_user(request.user, pk, for_page=True)
    provider = providers.checkout_provider()
    ctx = _invoice_context(invoice)
    ctx.update(pay_form=PayForm(initial={"attempt": uuid.uuid4()}), provider=provider)
    response = render(request, "portal/invoice.html", ctx)
    origins = provider.form_action_origins()
    if origins:  # the pay button redirects to the provider's checkout page
        response._csp_update = {"form-action": origins}
    return response


@require_POST
@customer_required
def invoice_pay(request, pk):
    invoice = selectors.invoice_for_user(request.user, pk)
    form = PayForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Betalingen kunne ikke startes. Last siden på nytt og prøv igjen."))
        return redirect("portal:invoice", pk=invoice.pk)
    # The card payment covers what the invoice page asks for: the balance plus unpaid reminder fees.
    owed = billing_selectors.amount_owed(invoice)
    if owed <= 0 or invoice.kind == Invoice.Kind.CREDIT_NOTE:
        messages.info(request, _("Fakturaen er allerede betalt."))
        return redirect("portal:invoice", pk=invoice.pk)
    success = request.build_absolute_uri(reverse("portal:payment_done", args=[invoice.pk]))
    cancel = request.build_absolute_uri(reverse("portal:payment_cancelled", args=[invoice.pk]))
    try:
        checkout = checkout_start(invoice=invoice, amount=owed, attempt=str(form.cleaned_data["attempt"]),
                                  by=request.user, success_url=success, cancel_url=cancel)
    except BillingError as exc:
        messages.error(request, exc.message)
        return redirect("portal:invoice", pk=invoice.pk)
    except Exception:  # the provider is down or refused: say so, keep the bank transfer option
        log.exception("could not start checkout for invoice %s", invoice.pk)
        messages.error(request, _("Kortbetaling er ikke tilgjengelig akkurat nå. Prøv igjen om litt, "
                                  "eller betal med bankoverføring."))
        return redirect("portal:invoice", pk=invoice.pk)
    return redirect(checkout.redirect_url)


@customer_required
def payment_done(request, pk):
    """Back from checkout. The webhook confirms the payment; until then the page says it is being processed."""
    invoice = selectors.invoice_for_user(request.user, pk, for_page=True)
    attempt = selectors.attempt_for_user(request.user, invoice, request.GET.get("session_id", ""))
    ctx = _invoice_context(invoice)
    ctx["attempt_payment"] = attempt.payment if attempt else None
    if request.htmx:
        # The poll swaps only the status text; 286 tells htmx to stop polling once nothing is pending.
        still_pending = ctx.get("pending") and not ctx.get("is_paid")
        return render(request, "portal/_payment_status_text.html", ctx, status=200 if still_pending else 286)
    return render(request, "portal/payment_done.html", ctx)


@customer_required
def payment_cancelled(request, pk):
    invoice = selectors.invoice_for_user(request.user, pk, for_page=True)
    attempt = selectors.attempt_for_user(request.user, invoice, request.GET.get("session_id", ""))
    if attempt and attempt.payment.status == Payment.Status.PENDING:
        services.payment_fail(payment=attempt.payment, by=request.user, error="avbrutt av kunden")
    messages.info(request, _("Betalingen ble avbrutt. Ingenting er trukket fra kortet ditt."))
    return redirect("portal:invoice", pk=invoice.pk)


@customer_required
def local_checkout(request, pk):
    """The local test payment page (PAYMENT_PROVIDER=local). Only with DEBUG on."""
    if not settings.DEBUG:
        raise Http404
    payment = selectors.payment_for_user(request.user, pk)
    if payment.provider != providers.LOCAL:
        raise Http404
    if request.method == "POST":
        if request.POST.get("decision") == "approve":
            services.payment_confirm(payment=payment, by=request.user)
            messages.success(request, _("Testbetalingen er godkjent."))
        else:
            services.payment_fail(payment=payment, by=request.user, error="avvist på testsiden")
            messages.error(request, _("Testbetalingen ble avvist."))
        return redirect("portal:invoice", pk=payment.invoice_id)
    return render(request, "portal/local_checkout.html", {"payment": payment, "invoice": payment.invoice})
