"""The final settlement of a basis: record actual costs, preview the settlement against the accepted
estimate, issue it."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from kundefaktura.accounts.roles import caseworker_required

from .. import selectors, services
from ..errors import BillingError
from ..forms import ActualCostForm
from ..models import CostLine, InvoiceBasis


@caseworker_required
@require_http_methods(["GET", "POST"])
def settlement(request, pk):
    """Record actual costs, preview the § 16-11 settlement, issue it."""
    basis = get_object_or_404(InvoiceBasis.objects.select_related("customer"), pk=pk)
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
                return redirect("billing:settlement", pk=basis.pk)
            if action == "remove_actual":
                line = get_object_or_404(CostLine, pk=request.POST.get("line"), basis=basis,
                                         phase=CostLine.Phase.ACTUAL)
                services.line_remove(line=line, by=request.user)
                return redirect("billing:settlement", pk=basis.pk)
            if action == "settle":
                docs = services.final_settle(basis=basis, by=request.user)
                if docs:
                    messages.success(request, _("Sluttoppgjøret er utstedt: %s.") % ", ".join(
                        f"{d.get_kind_display()} {d.number}" for d in docs))
                else:
                    messages.info(request, _("Ingen differanse: sluttoppgjøret gir ingen ny faktura."))
                return redirect("billing:settlement", pk=basis.pk)
        except BillingError as exc:
            messages.error(request, exc.message)
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
    return render(request, "workspace/after_acceptance/settlement.html", ctx, status=400 if form.errors else 200)
