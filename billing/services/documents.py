"""Change-notice and reminder documents and the e-mails that carry them: render a PDF, store it on
its row, queue the customer e-mail (an outbox row) with the PDF attached."""

from __future__ import annotations

import hashlib
import logging

from django.conf import settings
from django.core.files.base import ContentFile
from django.urls import reverse

log = logging.getLogger(__name__)


def render_pdf(template: str, context: dict) -> bytes:
    """A document template → PDF bytes through the documents app's renderer (same letterhead, CSS and
    fonts as offers and invoices; nothing fetched from the network)."""
    from offers import renderers

    company = getattr(renderers, "_company_context", lambda: {})()
    return renderers.get_renderer().pdf(template, {**company, **context})


def store_pdf(instance, filename: str, content: bytes) -> None:
    instance.pdf.save(filename, ContentFile(content), save=False)
    instance.pdf_sha256 = hashlib.sha256(content).hexdigest()
    instance.save(update_fields=["pdf", "pdf_sha256"])


def queue_email(*, kind, to, subject, template, context, basis=None, invoice=None, attachments=()):
    from offers.services import email_queue

    if not to:
        log.warning("no e-mail address for %s (%s); nothing queued", kind, basis or invoice)
        return None
    return email_queue(kind=kind, to=to, subject=subject, template=template, context=context, basis=basis,
                       invoice=invoice, attachments=list(attachments))


def pdf_attachment(instance, filename: str) -> dict:
    return {"path": instance.pdf.name, "filename": filename, "mimetype": "application/pdf"}


def portal_url(name: str, *args) -> str:
    return settings.SITE_URL + reverse(name, args=args)

