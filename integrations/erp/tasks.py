"""Celery tasks for the ERP export. Thin: take ids, call one service, own the retry policy."""

import logging
from pathlib import Path

from celery import shared_task

from . import services

log = logging.getLogger(__name__)


@shared_task(name="integrations.erp_export")
def erp_export(trigger: str = "schedule", user_id: int | None = None):
    """Nightly (beat) and on demand: claim + write a new batch, then queue delivery of every batch
    not yet delivered (the new one, and any earlier failures — this doubles as the sweeper)."""
    by = None
    if user_id:
        from django.contrib.auth import get_user_model

        by = get_user_model().objects.filter(pk=user_id).first()
    batch = services.export_run(by=by, trigger=trigger)
    ids = list(services.export_undelivered_batches().values_list("pk", flat=True))
    for batch_id in ids:
        erp_deliver.delay(batch_id)
    return {"batch": batch.pk if batch else None, "documents": batch.document_count if batch else 0,
            "queued_deliveries": ids}


@shared_task(name="integrations.erp_deliver", bind=True, max_retries=8)
def erp_deliver(self, batch_id: int):
    """Deliver one batch; a failed delivery is retried with exponential backoff (30 s, 60 s, … ~1 h)."""
    try:
        batch = services.export_deliver(batch_id=batch_id)
    except services.DeliveryFailed as exc:
        if self.request.is_eager:
            # Eager (dev/tests): record the failure, do not block the caller with retries.
            log.warning("erp delivery of batch %s failed (eager, no retry): %s", batch_id, exc)
            return {"batch": batch_id, "status": "failed"}
        raise self.retry(exc=exc, countdown=min(30 * 2 ** self.request.retries, 3600)) from exc
    return {"batch": batch.pk, "status": batch.status}


@shared_task(name="integrations.bank_drop_sweep", ignore_result=True)
def bank_drop_sweep() -> int:
    """Beat (every ERP_BANK_DROP_INTERVAL s): book the files the bank left in ERP_BANK_DROP_DIR, each
    once it has not changed for ERP_BANK_DROP_SETTLE s. A machine without the folder has nothing to do.
    Returns how many imports it recorded."""
    from django.conf import settings

    directory = settings.ERP_BANK_DROP_DIR
    if not directory or not Path(directory).is_dir():
        return 0
    return len(services.bank_import_dir(directory=directory, settle_s=settings.ERP_BANK_DROP_SETTLE))


@shared_task(name="integrations.bank_import_process")
def bank_import_process(bank_import_id: int):
    """Book a large bank file in the background. Safe to run again (after a crash it continues after the
    last booked credit); the outcome, also a failure, is recorded on the import."""
    bank_import = services.bank_import_process(bank_import_id=bank_import_id)
    return {"bank_import": bank_import.pk, "status": bank_import.status, "booked": bank_import.transaction_count}
