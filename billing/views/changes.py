"""A basis's pending changes and change notices: send a notice, invoice the accepted changes (the
notice's PDF: offers/views.py, mounted in kundefaktura/urls.py)."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from kundefaktura.accounts.roles import caseworker_required

from .. import selectors, services
from ..errors import BillingError
from ..forms import ValidUntilForm
from ..models import InvoiceBasis


@caseworker_required
@require_http_methods(["GET", "POST"])
def changes(request, pk):
    """Pending changes and every change notice of one basis; send a notice; invoice accepted changes."""
    basis = get_object_or_404(InvoiceBasis.objects.select_related("customer"), pk=pk)
    form = ValidUntilForm(request.POST or None)
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "send" and form.is_valid():
                notice = services.change_notice_send(basis=basis, by=request.user,
                                                      valid_until=form.cleaned_data.get("valid_until"))
                messages.success(request, _("Endringsvarsel versjon %(v)d er sendt til %(to)s.")
                                 % {"v": notice.version, "to": basis.customer.email})
                return redirect("billing:changes", pk=basis.pk)
            if action == "invoice":
                invoices = services.invoices_issue(basis=basis, by=request.user)
                messages.success(request, _("Utstedt: %s.") % ", ".join(
                    f"{i.get_kind_display()} {i.number}" for i in invoices))
                return redirect("billing:changes", pk=basis.pk)
        except BillingError as exc:
            messages.error(request, exc.message)
    overview = selectors.change_overview(basis)
    send_refusals = selectors.change_notice_send_refusals(basis)
    invoice_refusals = services.invoices_issue_refusals(basis)
    ctx = {"basis": basis, "form": form, **overview,
           "can_send": not send_refusals,
           "can_invoice": bool(overview["groups"]["accepted_uninvoiced"]) and not invoice_refusals,
           "settled_at": basis.settled_at}
    return render(request, "workspace/after_acceptance/changes.html", ctx, status=400 if form.errors else 200)
