"""Bulk actions of the workspace: send the offers of many bases as one job, one task per basis."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.errors import BillingError, InvalidInput
from billing.models import BulkJob, BulkJobItem, InvoiceBasis
from billing.services.audit import actor
from billing.services.offers import offer_send
from kundefaktura.queue import enqueue_on_commit


@transaction.atomic
def bulk_offer_send_start(*, bases, by):
    """Start sending the offers of several bases: one job, one item per basis, one Celery task per
    item queued after commit. Returns the BulkJob (its items show progress and results)."""
    ids = list(dict.fromkeys(b.pk if hasattr(b, "pk") else int(b) for b in bases))
    if not ids:
        raise InvalidInput(_("Velg minst ett fakturagrunnlag."), fields={"ids": ["required"]})
    found = set(InvoiceBasis.objects.filter(pk__in=ids).values_list("pk", flat=True))
    job = BulkJob.objects.create(kind=BulkJob.Kind.SEND_OFFER, created_by=actor(by)[0], total=len(found))
    items = BulkJobItem.objects.bulk_create([BulkJobItem(job=job, basis_id=pk) for pk in ids if pk in found])

    for item in items:
        enqueue_on_commit("billing.bulk_send_offer_item", item.pk)
    return job


def bulk_offer_send_item(*, item_id: int) -> str:
    """Run one item of a bulk offer job: claim it (pending → running, a conditional UPDATE, so a
    redelivered task does nothing), send the offer as the job's creator, record the outcome."""
    claimed = BulkJobItem.objects.filter(pk=item_id, status=BulkJobItem.Status.PENDING) \
        .update(status=BulkJobItem.Status.RUNNING, updated_at=timezone.now())
    if not claimed:
        return "skipped"
    item = BulkJobItem.objects.select_related("job__created_by", "basis").get(pk=item_id)
    try:
        offer = offer_send(basis=item.basis, by=item.job.created_by)
    except BillingError as exc:
        status, message = BulkJobItem.Status.FAILED, exc.message
    except Exception:
        BulkJobItem.objects.filter(pk=item_id).update(
            status=BulkJobItem.Status.FAILED, message=_("Uventet feil; se loggen."), updated_at=timezone.now())
        raise
    else:
        status = BulkJobItem.Status.DONE
        message = _("Tilbud versjon %(v)s sendt, gyldig til %(d)s.") % {
            "v": offer.version, "d": offer.valid_until.strftime("%d.%m.%Y")}
    BulkJobItem.objects.filter(pk=item_id).update(status=status, message=message, updated_at=timezone.now())
    return status

