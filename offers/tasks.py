"""Celery tasks of the documents app: thin wrappers taking ids and calling one service. The outcome of
rendering and sending is recorded on the rows (the document's SHA-256, the outbox row's status), so the
tasks store no result in the result backend."""

from celery import shared_task


@shared_task(name="offers.email_send", acks_late=True, ignore_result=True)
def email_send(email_id: int) -> str:
    from . import outbox

    return outbox.email_deliver(email_id)


@shared_task(name="offers.email_prepare", acks_late=True, ignore_result=True)
def email_prepare(email_id: int) -> str:
    """Render and store the documents a queued e-mail carries, then hand it to the e-mail queue."""
    from . import outbox

    return outbox.email_prepare(email_id)


@shared_task(name="offers.document_render", acks_late=True, ignore_result=True)
def document_render(kind: str, pk: int) -> str:
    """Render and store the PDF of any document kind in `offers.documents.DOCUMENTS` (no-op when one is
    already stored)."""
    from . import documents

    return documents.document_pdf_ensure(kind, pk)


@shared_task(name="kundefaktura.outbox_sweep")
def outbox_sweep() -> dict:
    """Every sweeper registered in kundefaktura.outbox.SWEEPERS (e-mails, notifications, …)."""
    from kundefaktura.outbox import sweep_all

    return sweep_all()
