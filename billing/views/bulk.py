"""Send the offers of several bases from the work list as one job, and follow its progress."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from kundefaktura.accounts.roles import caseworker_required
from kundefaktura.progress import Progress, progress_response

from .. import services
from ..errors import BillingError
from ..models import BulkJob


@caseworker_required
@require_POST
def bulk_send_offers(request):
    ids = [int(x) for x in request.POST.getlist("ids") if x.isdigit()]
    try:
        job = services.bulk_offer_send_start(bases=ids, by=request.user)
    except BillingError as exc:
        messages.error(request, exc.message)
        return redirect("billing:worklist")
    return redirect("billing:bulk_detail", pk=job.pk)


@caseworker_required
@require_GET
def bulk_detail(request, pk):
    """The job's progress from its items; htmx polls this view for the partial while items are pending."""
    job = get_object_or_404(BulkJob, pk=pk)
    items = list(job.items.select_related("basis", "basis__customer"))
    done = sum(1 for i in items if i.status in ("done", "failed"))
    failed = sum(1 for i in items if i.status == "failed")
    outcome = _("Fullført")
    if failed:
        outcome += " · " + ngettext("%(n)s feilet", "%(n)s feilet", failed) % {"n": failed}
    progress = Progress(
        dom_id="bulk-progress", label=_("Fremdrift"), done=done, total=len(items),
        status=_("%(d)s av %(t)s ferdig") % {"d": done, "t": len(items)}, finished=done >= len(items),
        poll_url=reverse("billing:bulk_detail", args=[job.pk]), outcome=outcome, failed=bool(failed),
        detail_template="workspace/_bulk_items.html")
    return progress_response(request, progress=progress, page_template="workspace/bulk_detail.html",
                             context={"job": job, "items": items})
