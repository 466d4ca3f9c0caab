"""Send the offers of several bases from the work list as one job, and follow its progress."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from kundefaktura.accounts.roles import caseworker_required

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
    job = get_object_or_404(BulkJob, pk=pk)
    items = list(job.items.select_related("basis", "basis__customer"))
    done = sum(1 for i in items if i.status in ("done", "failed"))
    context = {"job": job, "items": items, "done": done, "finished": done >= len(items),
               "failed": sum(1 for i in items if i.status == "failed")}
    if request.htmx:
        # The finished partial has no hx-trigger, so swapping it in ends the polling.
        return render(request, "workspace/_bulk_progress.html", context)
    return render(request, "workspace/bulk_detail.html", context)
