"""Overdue invoices with their reminders."""

from django.shortcuts import render
from django.views.decorators.http import require_GET

from kundefaktura.accounts.roles import caseworker_required

from .. import selectors, services


@caseworker_required
@require_GET
def overdue(request):
    rows = selectors.overdue_invoices()
    return render(request, "workspace/after_acceptance/overdue.html", {"rows": rows, "today": services.today()})
