"""Pages: the installer's own cases (login or signed link), and the notification delivery log."""

from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from billing import services as billing
from kundefaktura.accounts.roles import caseworker_required, installer_required

from . import selectors, services
from .models import Notification


def _case_context(case, *, via_link=False):
    basis = case.basis
    show_amounts = selectors.installer_sees_amounts()
    totals = billing.basis_totals(basis) if show_amounts else None
    return {"case": case, "basis": basis, "timeline": selectors.case_timeline(basis),
            "show_amounts": show_amounts, "totals": totals, "via_link": via_link}


@installer_required
def installer_home(request):
    cases = list(selectors.installer_cases(request.user))
    return render(request, "installer/home.html", {"cases": cases})


@installer_required
def installer_case(request, pk):
    case = selectors.installer_case(request.user, pk)
    if case is None:
        raise Http404
    return render(request, "installer/case.html", _case_context(case))


@never_cache
def installer_link(request, token):
    """Read-only view of one case through the signed, expiring link sent with the notifications."""
    case = services.installer_link_case(token)
    if case is None:
        return render(request, "installer/link_invalid.html", status=404)
    response = render(request, "installer/case.html", _case_context(case, via_link=True))
    response["X-Robots-Tag"] = "noindex"
    response["Referrer-Policy"] = "no-referrer"
    return response


installer_link.public = True


@caseworker_required
def notification_log(request):
    status = request.GET.get("status") or ""
    page = Paginator(selectors.notification_log(status=status), 50).get_page(request.GET.get("side"))
    return render(request, "integrations/notification_log.html",
                  {"page": page, "status": status, "statuses": Notification.Status.choices})


@caseworker_required
def related_cases(request):
    q = (request.GET.get("q") or "").strip()[:100]
    page = Paginator(selectors.related_case_list(q=q), 50).get_page(request.GET.get("side"))
    return render(request, "integrations/related_cases.html", {"page": page, "q": q, "query": urlencode({"q": q})})
