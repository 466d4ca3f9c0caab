"""Offers past their validity, and renewing one with a new validity (a new offer version)."""

import datetime as dt

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from kundefaktura.accounts.roles import caseworker_required

from .. import selectors, services
from ..errors import BillingError
from ..forms import ValidUntilForm
from ..models import InvoiceBasis


@caseworker_required
@require_GET
def expired(request):
    default = services.today() + dt.timedelta(days=30)
    return render(request, "workspace/after_acceptance/expired.html",
                  {"bases": selectors.offers_expired(), "default_valid_until": default})


@caseworker_required
@require_POST
def renew(request, pk):
    """Renew an expired offer with a new validity: a new offer version."""
    basis = get_object_or_404(InvoiceBasis.objects.select_related("customer"), pk=pk)
    form = ValidUntilForm(request.POST)
    if not form.is_valid() or not form.cleaned_data.get("valid_until"):
        messages.error(request, _("Velg en ny gyldighetsdato fram i tid."))
        return redirect("billing:expired")
    try:
        offer = services.offer_send(basis=basis, by=request.user, valid_until=form.cleaned_data["valid_until"])
        messages.success(request, _("Nytt tilbud (versjon %(v)d) er sendt, gyldig til %(d)s.")
                         % {"v": offer.version, "d": offer.valid_until.strftime("%d.%m.%Y")})
    except BillingError as exc:
        messages.error(request, exc.message)
    return redirect(reverse("billing:expired"))
