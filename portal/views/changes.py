"""The customer's change notices: read, accept or decline (the PDF: offers/views.py). Customers only,
and only notices of their own bases (404 for anyone else's)."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from billing import selectors, services
from billing.errors import BillingError
from billing.evidence import bankid_fresh, bankid_required
from billing.models import ChangeNotice
from kundefaktura.accounts.roles import customer_required
from kundefaktura.clientip import client_ip
from offers.documents import document_pdf_ensure

from ..sessions import login_evidence


def _own_notice(request, pk) -> ChangeNotice:
    return get_object_or_404(ChangeNotice.objects.select_related("basis", "basis__customer"), pk=pk,
                             basis__customer__user=request.user)


@customer_required
@require_GET
def change_list(request):
    return render(request, "portal/changes/list.html",
                  {"notices": selectors.customer_change_notices(request.user)})


@customer_required
@require_http_methods(["GET", "POST"])
def change_detail(request, pk):
    notice = _own_notice(request, pk)
    status = 200
    if request.method == "POST":
        decision = {"accept": "accepted", "decline": "declined"}.get(request.POST.get("decision", ""), "")
        if notice.status == ChangeNotice.Status.SENT:
            # The answer is bound to the stored PDF's hash: store it now if the worker has not yet.
            document_pdf_ensure("change_notice", notice.pk)
        try:
            services.change_notice_answer(
                notice=notice, by=request.user, decision=decision, channel="portal", ip_address=client_ip(request),
                user_agent=request.META.get("HTTP_USER_AGENT", ""),
                pdf_sha256=request.POST.get("pdf_sha256", ""), note=request.POST.get("reason", "")[:1000],
                evidence=login_evidence(request.session))
        except BillingError as exc:
            messages.error(request, exc.message)
            status = exc.status_code
        else:
            messages.success(request, _("Takk! Du har akseptert endringen.") if decision == "accepted"
                             else _("Du har avslått endringen. Den blir ikke fakturert."))
            return redirect("portal:change_notice", pk=notice.pk)
        notice.refresh_from_db()
    newest = notice.basis.change_notices.order_by("-version").first()
    # Past its deadline the notice is expired, also in the hours before the nightly job marks it so.
    expired = notice.status == ChangeNotice.Status.EXPIRED or (
        notice.status == ChangeNotice.Status.SENT and notice.valid_until < services.today())
    can_answer = notice.status == ChangeNotice.Status.SENT and newest.pk == notice.pk and not expired
    bankid_needed = can_answer and bankid_required(notice.gross)
    return render(request, "portal/changes/detail.html",
                  {"bankid_needed": bankid_needed,
                   "bankid_ok": bankid_needed and bankid_fresh(login_evidence(request.session)),
                   "notice": notice, "basis": notice.basis, "lines": (notice.snapshot or {}).get("lines", []),
                   "newest": newest, "is_newest": newest.pk == notice.pk, "expired": expired,
                   "can_answer": can_answer},
                  status=status)
