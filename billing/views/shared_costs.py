"""Shared costs (felles anlegg): create one, add cost lines and participating bases, see the shares,
issue the credit notes of ten-year refunds."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from kundefaktura.accounts.roles import caseworker_required

from .. import selectors, services
from ..errors import BillingError
from ..forms import ParticipantForm, SharedCostForm, SharedLineForm, add_billing_error
from ..models import InvoiceBasis, SharedCost, TenYearRefund


@caseworker_required
@require_GET
def shared_list(request):
    return render(request, "workspace/shared_list.html", {"shared_costs": selectors.shared_cost_list()[:200]})


@caseworker_required
@require_http_methods(["GET", "POST"])
def shared_create(request):
    form = SharedCostForm(request.POST or None)
    line_form = SharedLineForm(request.POST or None, prefix="line")
    status = 200
    if request.method == "POST":
        wants_line = bool(request.POST.get("line-description") or request.POST.get("line-unit_price"))
        if form.is_valid() and (not wants_line or line_form.is_valid()):
            d = form.cleaned_data
            try:
                shared, _created = services.shared_cost_create(
                    by=request.user, description=d["description"], capacity=d["capacity"],
                    capacity_unit=d["capacity_unit"], allocation=d["allocation"],
                    expected_count=d.get("expected_count"), energised_on=d.get("energised_on"),
                    lines=[line_form.service_data()] if wants_line else None)
            except BillingError as exc:
                add_billing_error(form, exc)
                status = exc.status_code
            else:
                messages.success(request, _("Felles anlegg «%s» er opprettet.") % shared.description)
                return redirect("billing:shared_detail", pk=shared.pk)
        else:
            status = 422
    if not request.POST:
        line_form = SharedLineForm(prefix="line")
    return render(request, "workspace/shared_create.html", {"form": form, "line_form": line_form}, status=status)


def _shared_context(shared, **extra):
    participants = list(shared.participants.all())
    try:
        allocation = services.shared_cost_allocation(shared, participants)
    except ValueError as exc:
        allocation, extra["allocation_error"] = None, str(exc)
    rows = [{"participant": p, "share": allocation["shares"].get(p.pk, services.ZERO) if allocation else None}
            for p in participants]
    context = {"shared": shared, "lines": list(shared.lines.all()), "participants": participants,
               "rows": rows, "allocation": allocation, "refunds": list(shared.refunds.all()),
               "line_form": SharedLineForm(prefix="line"), "participant_form": ParticipantForm()}
    context.update(extra)
    return context


@caseworker_required
@require_GET
def shared_detail(request, pk):
    try:
        shared = selectors.shared_cost_detail(pk)
    except SharedCost.DoesNotExist:
        raise Http404 from None
    return render(request, "workspace/shared_detail.html", _shared_context(shared))


def _shared_error(request, pk, status, **extra):
    shared = selectors.shared_cost_detail(pk)
    return render(request, "workspace/shared_detail.html", _shared_context(shared, **extra), status=status)


@caseworker_required
@require_POST
def shared_line_add(request, pk):
    shared = get_object_or_404(SharedCost, pk=pk)
    form = SharedLineForm(request.POST, prefix="line")
    if not form.is_valid():
        return _shared_error(request, pk, 422, line_form=form)
    try:
        services.shared_cost_add_line(shared_cost=shared, by=request.user, **form.service_data())
    except BillingError as exc:
        add_billing_error(form, exc)
        return _shared_error(request, pk, exc.status_code, line_form=form)
    messages.success(request, _("Kostnadslinjen er lagt til; andelene er beregnet på nytt."))
    return redirect("billing:shared_detail", pk=pk)


@caseworker_required
@require_GET
def shared_basis_search(request, pk):
    shared = get_object_or_404(SharedCost, pk=pk)
    taken = shared.participants.values_list("basis_id", flat=True)
    q = request.GET.get("basis_q", "")
    bases = selectors.basis_search(q, exclude_ids=taken) if q.strip() else []
    return render(request, "workspace/_basis_results.html", {"bases": bases, "shared": shared, "q": q})


@caseworker_required
@require_POST
def shared_participant_add(request, pk):
    shared = get_object_or_404(SharedCost, pk=pk)
    form = ParticipantForm(request.POST)
    if not form.is_valid():
        return _shared_error(request, pk, 422, participant_form=form)
    basis = InvoiceBasis.objects.filter(pk=form.cleaned_data["basis"]).first()
    if basis is None:
        form.add_error(None, _("Velg et fakturagrunnlag."))
        return _shared_error(request, pk, 422, participant_form=form)
    try:
        services.shared_cost_add_participant(shared_cost=shared, basis=basis, by=request.user,
                                             capacity=form.cleaned_data["capacity"],
                                             connected_on=form.cleaned_data.get("connected_on"))
    except BillingError as exc:
        add_billing_error(form, exc)
        return _shared_error(request, pk, exc.status_code, participant_form=form)
    messages.success(request, _("%s er lagt til som deltaker.") % basis.number)
    return redirect("billing:shared_detail", pk=pk)


@caseworker_required
@require_POST
def shared_refund_issue(request, pk, refund_pk):
    refund = get_object_or_404(TenYearRefund.objects.select_related("credit_note"), pk=refund_pk,
                               shared_cost_id=pk)
    if refund.credit_note is None:
        raise Http404
    try:
        credit = services.credit_note_issue_draft(credit_note=refund.credit_note, by=request.user)
    except BillingError as exc:
        return _shared_error(request, pk, exc.status_code, refund_error=exc.message)
    messages.success(request, _("Kreditnota %s er utstedt.") % credit.number)
    return redirect("billing:shared_detail", pk=pk)
