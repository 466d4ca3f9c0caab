"""The basis actions with a confirmation step: send the offer, register acceptance, issue invoices,
register a manual payment, credit an invoice, cancel. One view; each action calls one service."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods
from django_htmx.http import HttpResponseClientRedirect

from kundefaktura.accounts.roles import caseworker_required

from .. import services
from ..errors import BillingError
from ..forms import (
    AcceptForm,
    CancelForm,
    CreditForm,
    IssueForm,
    PaymentForm,
    SendOfferForm,
    add_billing_error,
)
from .basis_page import basis_actions, get_basis


def _back_to(basis) -> str:
    return reverse("billing:basis_detail", args=[basis.pk])


ACTION_FORMS = {
    "send_offer": SendOfferForm, "accept": AcceptForm, "invoice": IssueForm, "payment": PaymentForm,
    "cancel": CancelForm, "credit": CreditForm,
}


ACTION_TITLES = {
    "send_offer": _("Send tilbud"), "accept": _("Registrer aksept på kundens vegne"),
    "invoice": _("Utsted faktura"), "payment": _("Registrer manuell betaling"),
    "cancel": _("Kanseller grunnlaget"), "credit": _("Krediter faktura"),
}


def _action_form(action, data, actions):
    cls = ACTION_FORMS[action]
    if action == "payment":
        return cls(data, invoices=actions["payable"])
    if action == "credit":
        return cls(data, invoices=actions["creditable"])
    return cls(data)


def _perform(action, basis, form, request, actions) -> str:
    """Call the one service behind an action; returns the success message."""
    d, by = form.cleaned_data, request.user
    if action == "send_offer":
        offer = services.offer_send(basis=basis, by=by, valid_until=d.get("valid_until"))
        return _("Tilbud sendt (versjon %(v)s, gyldig til %(d)s).") % {
            "v": offer.version, "d": offer.valid_until.strftime("%d.%m.%Y")}
    if action == "accept":
        services.offer_accept(basis=basis, by=by, channel=d["channel"], note=d.get("note") or "")
        return _("Aksept registrert på kundens vegne.")
    if action == "invoice":
        invoices = services.invoices_issue(basis=basis, by=by, issue_date=d.get("issue_date"))
        return _("Utstedt: %s.") % ", ".join(f"{i.get_kind_display()} {i.number}" for i in invoices)
    if action == "payment":
        invoice = next(i for i in actions["payable"] if i.pk == d["invoice"])
        services.payment_register(invoice=invoice, by=by, amount=d["amount"], method="manual",
                                  note=d.get("note") or "")
        return _("Betaling registrert på faktura %s.") % invoice.number
    if action == "cancel":
        services.basis_cancel(basis=basis, by=by, reason=d.get("reason") or "")
        return _("Grunnlaget er kansellert.")
    if action == "credit":
        invoice = next(i for i in actions["creditable"] if i.pk == d["invoice"])
        kwargs = {}
        if d["mode"] == "amount":
            kwargs["amount"] = d["amount"]
        elif d["mode"] == "lines":
            kwargs["line_ids"] = d["lines"]
        credit = services.invoice_credit(invoice=invoice, by=by, reason=d.get("reason") or "", **kwargs)
        return _("Kreditnota %(c)s utstedt for faktura %(n)s.") % {"c": credit.number, "n": invoice.number}
    raise Http404


@caseworker_required
@require_http_methods(["GET", "POST"])
def basis_action(request, pk, action):
    if action not in ACTION_FORMS:
        raise Http404
    basis = get_basis(pk)
    actions = basis_actions(basis, list(basis.invoices.all()))
    context = {"basis": basis, "action": action, "title": ACTION_TITLES[action], "actions": actions}
    if not actions[action]:
        if actions["refusals"][action]:
            reason = _("Handlingen «%(a)s» er ikke tilgjengelig: %(r)s") % {
                "a": ACTION_TITLES[action], "r": " ".join(actions["refusals"][action])}
        else:
            reason = _("Handlingen «%(a)s» er ikke tilgjengelig når status er «%(s)s».") % {
                "a": ACTION_TITLES[action], "s": basis.status_label}
        template = "workspace/_action_form.html" if request.htmx else "workspace/action_confirm.html"
        return render(request, template, {**context, "refused": reason}, status=409)
    form = _action_form(action, request.POST if request.method == "POST" else None, actions)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                message = _perform(action, basis, form, request, actions)
            except BillingError as exc:
                add_billing_error(form, exc)
                status = exc.status_code
            else:
                messages.success(request, message)
                if request.htmx:
                    return HttpResponseClientRedirect(_back_to(basis))
                return redirect("billing:basis_detail", pk=basis.pk)
        else:
            status = 422
    template = "workspace/_action_form.html" if request.htmx else "workspace/action_confirm.html"
    return render(request, template, {**context, "form": form}, status=status)
