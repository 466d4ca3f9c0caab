"""A basis: create one, its page (POST saves the header), and the customer picker (htmx) in its form."""

from django.contrib import messages
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from kundefaktura.accounts.roles import caseworker_required

from .. import selectors, services
from ..errors import BillingError
from ..forms import BasisForm, add_billing_error
from ..models import Customer, InvoiceBasis
from .basis_page import basis_context, basis_form_initial, get_basis


def _customer_for(form, by):
    """The picked customer (with the case worker's edits of name, contact and address saved), or a new
    one from the form's new-customer fields (None if neither)."""
    if form.cleaned_data.get("customer"):
        customer = form.cleaned_data["customer"]
        if changes := form.customer_changes(customer):
            customer = services.customer_update(customer=customer, by=by, **changes)
        return customer
    if form.cleaned_data.get("new_customer_name"):
        fields = form.customer_fields()
        known = fields.get("erp_customer_number") and Customer.objects.filter(
            erp_customer_number=fields["erp_customer_number"]).first()
        return known or services.customer_create(by=by, **fields)
    return None


@caseworker_required
@require_http_methods(["GET", "POST"])
def basis_create(request):
    form = BasisForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():  # no orphan customer when the basis is refused
                customer = _customer_for(form, request.user)
                basis, _created = services.basis_create(by=request.user, title=form.cleaned_data["title"],
                                                        customer=customer, **form.basis_fields())
        except BillingError as exc:
            add_billing_error(form, exc)
            status = exc.status_code
        else:
            messages.success(request, _("Fakturagrunnlag %s er opprettet.") % basis.number)
            return redirect("billing:basis_detail", pk=basis.pk)
    elif request.method == "POST":
        status = 422
    picked = form["customer"].value()
    picked_customer = Customer.objects.filter(pk=picked).first() if str(picked or "").isdigit() else None
    return render(request, "workspace/basis_create.html", {"form": form, "picked_customer": picked_customer},
                  status=status)


@caseworker_required
@require_http_methods(["GET", "POST"])
def basis_detail(request, pk):
    """The basis page; POST saves the header (customer, site, metering point, order date, prepayment)."""
    basis = get_basis(pk)
    status = 200
    if request.method == "POST":
        form = BasisForm(request.POST)
        if form.is_valid():
            try:
                with transaction.atomic():
                    customer = _customer_for(form, request.user)
                    services.basis_update(basis=basis, by=request.user, title=form.cleaned_data["title"],
                                          customer=customer, **form.basis_fields())
            except BillingError as exc:
                add_billing_error(form, exc)
                status = exc.status_code
            else:
                messages.success(request, _("Grunnlaget er lagret."))
                return redirect("billing:basis_detail", pk=basis.pk)
        else:
            status = 422
        basis = get_basis(pk)
    else:
        # The header form sits in a closed panel that loads it when opened (basis_header_form); `?endre=1`
        # (the panel's link without JavaScript) shows it open in the page.
        form = BasisForm(initial=basis_form_initial(basis)) if request.GET.get("endre") else None
    context = basis_context(request, basis, basis_form=form, picked_customer=basis.customer)
    return render(request, "workspace/basis_detail.html", context, status=status)


@caseworker_required
@require_GET
def basis_header_form(request, pk):
    """The basis page's header form (customer, site, metering point, order date, prepayment), loaded when
    its panel is opened: most visits to the page never open it, and it is a fifth of the page's work."""
    basis = get_object_or_404(InvoiceBasis.objects.select_related("customer"), pk=pk)
    return render(request, "workspace/_basis_header_form.html",
                  {"basis": basis, "basis_form": BasisForm(initial=basis_form_initial(basis)),
                   "picked_customer": basis.customer})


@caseworker_required
@require_GET
def customer_search(request):
    customers = selectors.customer_search(request.GET.get("customer_q", ""))
    return render(request, "workspace/_customer_results.html",
                  {"customers": customers, "q": request.GET.get("customer_q", "")})


@caseworker_required
@require_GET
def customer_pick(request, pk):
    customer = get_object_or_404(Customer, pk=pk) if pk else None
    form = BasisForm(initial={"customer": customer.pk if customer else None, **BasisForm.customer_initial(customer)})
    return render(request, "workspace/_customer_picker.html", {"form": form, "picked_customer": customer})
