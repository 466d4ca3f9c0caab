"""Case-worker pages for the life of a case after acceptance: pending changes and change notices,
actual costs and the final settlement, overdue invoices with their reminders, refund payouts, expired
offers. Thin: parse input, call one service in billing.services, render."""

import datetime as dt

from django import forms
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from kundefaktura.accounts.roles import caseworker_required

from . import selectors, services
from .errors import BillingError
from .forms import AmountField, InputRulesMixin
from .models import CostCategory, CostLine, InvoiceBasis, Payment, VatCode


class ValidUntilForm(InputRulesMixin, forms.Form):
    valid_until = forms.DateField(label=gettext_lazy("Gyldig til"), required=False,
                                  widget=forms.DateInput(attrs={"type": "date"}))

    def clean_valid_until(self):
        value = self.cleaned_data.get("valid_until")
        if value and value < services.today():
            raise forms.ValidationError(_("Datoen er passert."))
        return value


class ActualCostForm(InputRulesMixin, forms.Form):
    category = forms.ModelChoiceField(label=gettext_lazy("Kategori"), queryset=CostCategory.objects.all(),
                                      to_field_name="code")
    description = forms.CharField(label=gettext_lazy("Beskrivelse"), max_length=300)
    quantity = AmountField(label=gettext_lazy("Antall"), max_digits=14, decimal_places=3, initial=1)
    unit = forms.CharField(label=gettext_lazy("Enhet"), max_length=20, initial="stk")
    unit_price = AmountField(label=gettext_lazy("Enhetspris"), max_digits=14, decimal_places=2)
    vat_code = forms.ModelChoiceField(label=gettext_lazy("MVA-kode"), queryset=VatCode.objects.all(),
                                      to_field_name="code", required=False,
                                      empty_label=gettext_lazy("Kategoriens standard"))
    customer_caused = forms.BooleanField(label=gettext_lazy("Kundeforårsaket (utenfor 15 %-taket)"),
                                         required=False)


class PayoutForm(InputRulesMixin, forms.Form):
    account = forms.CharField(label=gettext_lazy("Utbetalt til konto"), max_length=20, required=False)
    note = forms.CharField(label=gettext_lazy("Merknad"), max_length=300, required=False)


def _basis(pk) -> InvoiceBasis:
    return get_object_or_404(InvoiceBasis.objects.select_related("customer"), pk=pk)


def _error(request, exc: BillingError):
    messages.error(request, exc.message)


# --- changes --------------------------------------------------------------------------------------


@caseworker_required
@require_http_methods(["GET", "POST"])
def changes(request, pk):
    """Pending changes and every change notice of one basis; send a notice; invoice accepted changes."""
    basis = _basis(pk)
    form = ValidUntilForm(request.POST or None)
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "send" and form.is_valid():
                notice = services.change_notice_send(basis=basis, by=request.user,
                                                      valid_until=form.cleaned_data.get("valid_until"))
                messages.success(request, _("Endringsvarsel versjon %(v)d er sendt til %(to)s.")
                                 % {"v": notice.version, "to": basis.customer.email})
                return redirect("lifecycle:changes", pk=basis.pk)
            if action == "invoice":
                invoices = services.invoices_issue(basis=basis, by=request.user)
                messages.success(request, _("Utstedt: %s.") % ", ".join(
                    f"{i.get_kind_display()} {i.number}" for i in invoices))
                return redirect("lifecycle:changes", pk=basis.pk)
        except BillingError as exc:
            _error(request, exc)
    overview = selectors.change_overview(basis)
    send_refusals = selectors.change_notice_send_refusals(basis)
    invoice_refusals = services.invoices_issue_refusals(basis)
    ctx = {"basis": basis, "form": form, **overview,
           "can_send": not send_refusals,
           "can_invoice": bool(overview["groups"]["accepted_uninvoiced"]) and not invoice_refusals,
           "settled_at": basis.settled_at}
    return render(request, "workspace/lifecycle/changes.html", ctx, status=400 if form.errors else 200)


# --- final settlement -----------------------------------------------------------------------------


@caseworker_required
@require_http_methods(["GET", "POST"])
def settlement(request, pk):
    """Record actual costs, preview the § 16-11 settlement, issue it."""
    basis = _basis(pk)
    form = ActualCostForm(request.POST if request.POST.get("action") == "add_actual" else None)
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "add_actual" and form.is_valid():
                d = form.cleaned_data
                services.line_add(basis=basis, by=request.user, category=d["category"], description=d["description"],
                                  quantity=d["quantity"], unit_price=d["unit_price"], unit=d["unit"] or "stk",
                                  vat_code=d["vat_code"].code if d["vat_code"] else None,
                                  customer_caused=d["customer_caused"], phase=CostLine.Phase.ACTUAL)
                messages.success(request, _("Faktisk kostnad registrert."))
                return redirect("lifecycle:settlement", pk=basis.pk)
            if action == "remove_actual":
                line = get_object_or_404(CostLine, pk=request.POST.get("line"), basis=basis,
                                         phase=CostLine.Phase.ACTUAL)
                services.line_remove(line=line, by=request.user)
                return redirect("lifecycle:settlement", pk=basis.pk)
            if action == "settle":
                docs = services.final_settle(basis=basis, by=request.user)
                if docs:
                    messages.success(request, _("Sluttoppgjøret er utstedt: %s.") % ", ".join(
                        f"{d.get_kind_display()} {d.number}" for d in docs))
                else:
                    messages.info(request, _("Ingen differanse: sluttoppgjøret gir ingen ny faktura."))
                return redirect("lifecycle:settlement", pk=basis.pk)
        except BillingError as exc:
            _error(request, exc)
    actual = list(basis.lines.filter(phase=CostLine.Phase.ACTUAL).select_related("category", "vat_code"))
    try:
        rows = selectors.settlement_rows(basis) if actual else []
    except ValueError as exc:  # e.g. a negative figure the money core refuses
        rows, _msg = [], messages.error(request, str(exc))
    documents = basis.invoices.filter(number__isnull=False, kind__in=["final", "credit_note"]).order_by("-number")
    settle_refusals = services.final_settle_refusals(basis)
    ctx = {"basis": basis, "form": form, "actual_lines": actual, "rows": rows, "documents": documents,
           "accepted": selectors.accepted_estimate(basis), "can_settle": not settle_refusals,
           "settle_refusals": [str(r) for r in settle_refusals if r.code != "no_actuals"],
           "settled_at": basis.settled_at}
    return render(request, "workspace/lifecycle/settlement.html", ctx, status=400 if form.errors else 200)


# --- overdue invoices and reminders ---------------------------------------------------------------


@caseworker_required
@require_GET
def overdue(request):
    rows = selectors.overdue_invoices()
    return render(request, "workspace/lifecycle/overdue.html", {"rows": rows, "today": services.today()})


# --- refunds --------------------------------------------------------------------------------------


@caseworker_required
@require_GET
def refunds(request):
    show_all = request.GET.get("alle") == "1"
    payouts = selectors.refund_payouts(include_done=show_all)
    card = (Payment.objects.filter(direction=Payment.Direction.REFUND, method=Payment.Method.CARD)
            .select_related("invoice", "invoice__basis__customer").order_by("-created_at")[:50])
    return render(request, "workspace/lifecycle/refunds.html",
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
        _error(request, exc)
    return redirect("lifecycle:refunds")


# --- expired offers -------------------------------------------------------------------------------


@caseworker_required
@require_GET
def expired(request):
    default = services.today() + dt.timedelta(days=30)
    return render(request, "workspace/lifecycle/expired.html",
                  {"bases": selectors.offers_expired(), "default_valid_until": default})


@caseworker_required
@require_POST
def renew(request, pk):
    """Renew an expired offer with a new validity: a new offer version."""
    basis = _basis(pk)
    form = ValidUntilForm(request.POST)
    if not form.is_valid() or not form.cleaned_data.get("valid_until"):
        messages.error(request, _("Velg en ny gyldighetsdato fram i tid."))
        return redirect("lifecycle:expired")
    try:
        offer = services.offer_send(basis=basis, by=request.user, valid_until=form.cleaned_data["valid_until"])
        messages.success(request, _("Nytt tilbud (versjon %(v)d) er sendt, gyldig til %(d)s.")
                         % {"v": offer.version, "d": offer.valid_until.strftime("%d.%m.%Y")})
    except BillingError as exc:
        _error(request, exc)
    return redirect(reverse("lifecycle:expired"))
