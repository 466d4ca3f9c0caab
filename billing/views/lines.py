"""Cost lines of a basis, edited inline (htmx): the lines section is swapped in, with the totals,
actions and timeline swapped out of band; without htmx the basis page is rendered or redirected to."""

from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from kundefaktura.accounts.roles import caseworker_required

from .. import services
from ..errors import BillingError
from ..forms import LineForm, add_billing_error
from ..models import CostLine, InvoiceBasis
from ..templatetags.workspace import actions_bar, totals_card
from .basis_page import basis_context, get_basis


def _lines_response(request, basis_pk, *, status=200, **extra):
    basis = get_basis(basis_pk)
    context = basis_context(request, basis, **extra)
    if not request.htmx:
        if status >= 400:
            # The header panel stays closed (its form loads when opened): the error is a line's.
            return render(request, "workspace/basis_detail.html", context, status=status)
        return redirect("billing:basis_detail", pk=basis.pk)
    html = render_to_string("workspace/_lines.html", context, request=request)
    html += totals_card({**context, "oob": True}) + actions_bar({**context, "oob": True})
    html += render_to_string("workspace/_timeline.html", {**context, "oob": True}, request=request)
    return HttpResponse(html, status=status)


@caseworker_required
@require_GET
def lines_section(request, pk):
    edit_pk = request.GET.get("edit")
    basis = get_basis(pk)
    edit_line = next((ln for ln in basis.lines.all() if str(ln.pk) == edit_pk), None)
    context = basis_context(request, basis, edit_line=edit_line)
    return render(request, "workspace/_lines.html", context)


@caseworker_required
@require_POST
def line_add(request, pk):
    basis = get_object_or_404(InvoiceBasis, pk=pk)
    form = LineForm(request.POST, prefix="new")
    if form.is_valid():
        try:
            services.line_add(basis=basis, by=request.user, **form.service_kwargs())
        except BillingError as exc:
            add_billing_error(form, exc)
            return _lines_response(request, pk, status=exc.status_code, add_form=form)
        return _lines_response(request, pk)
    return _lines_response(request, pk, status=422, add_form=form)


@caseworker_required
@require_http_methods(["GET", "POST"])
def line_edit(request, pk, line_pk):
    line = get_object_or_404(CostLine, pk=line_pk, basis_id=pk)
    if request.method == "GET":
        return _lines_response(request, pk, edit_line=line) if request.htmx else \
            redirect(reverse("billing:basis_detail", args=[pk]) + f"?edit={line.pk}#lines")
    if "cancel" in request.POST:
        return _lines_response(request, pk)
    form = LineForm(request.POST, prefix=f"l{line.pk}", form_id=f"line-form-{line.pk}")
    if form.is_valid():
        try:
            services.line_update(line=line, by=request.user, **{
                k: v for k, v in form.service_kwargs().items() if k != "vat_code" or v})
        except BillingError as exc:
            add_billing_error(form, exc)
            return _lines_response(request, pk, status=exc.status_code, edit_line=line, edit_form=form)
        return _lines_response(request, pk)
    return _lines_response(request, pk, status=422, edit_line=line, edit_form=form)


@caseworker_required
@require_POST
def line_delete(request, pk, line_pk):
    line = CostLine.objects.filter(pk=line_pk, basis_id=pk).first()
    if line is None:
        get_object_or_404(InvoiceBasis, pk=pk)
        return _lines_response(request, pk)  # already gone
    try:
        services.line_remove(line=line, by=request.user)
    except BillingError as exc:
        return _lines_response(request, pk, status=exc.status_code, line_error=exc.message)
    return _lines_response(request, pk)
