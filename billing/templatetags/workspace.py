"""Small display helpers for the case worker workspace."""

from html import escape  # what autoescape does, without Django's lazy-text wrapper

from django import template
from django.utils import timezone
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from .money import status_chip

register = template.Library()

EVENT_LABELS = {
    "billing.basis.created": _("Grunnlag opprettet"),
    "billing.basis.updated": _("Grunnlag endret"),
    "billing.basis.offer_sent": _("Tilbud sendt"),
    "billing.basis.accepted": _("Tilbud akseptert"),
    "billing.basis.declined": _("Tilbud avslått"),
    "billing.basis.expired": _("Tilbud utløpt"),
    "billing.basis.cancelled": _("Kansellert"),
    "billing.basis.paid": _("Alt betalt"),
    "billing.basis.unpaid": _("Ikke lenger fullt betalt"),
    "billing.basis.work_released": _("Arbeid frigitt"),
    "billing.basis.work_blocked": _("Arbeid sperret"),
    "billing.basis.final_settled": _("Sluttoppgjør gjort"),
    "billing.offer.outdated": _("Sendt tilbud utdatert (linjene er endret)"),
    "billing.line.added": _("Kostnadslinje lagt til"),
    "billing.line.changed": _("Kostnadslinje endret"),
    "billing.line.removed": _("Kostnadslinje fjernet"),
    "billing.line.share_updated": _("Andel av felles anlegg oppdatert"),
    "billing.invoice.issued": _("Faktura utstedt"),
    "billing.invoice.credited": _("Kreditnota utstedt"),
    "billing.invoice.reminder_sent": _("Purring sendt"),
    "billing.payment.confirmed": _("Betaling registrert"),
    "billing.payment.failed": _("Betaling feilet"),
    "billing.payment.overpaid": _("Betalt for mye – tilbakebetaling klargjort"),
    "billing.ten_year.refund_proposed": _("Tilbakebetaling foreslått (tiårsregelen)"),
    "billing.payment.refunded": _("Tilbakebetaling registrert"),
    "billing.refund.created": _("Tilbakebetaling opprettet"),
    "billing.refund.confirmed": _("Tilbakebetaling bekreftet"),
    "billing.refund.failed": _("Tilbakebetaling feilet"),
    "billing.refund.paid_out": _("Tilbakebetaling utbetalt"),
    "billing.change_notice.sent": _("Endringsvarsel sendt"),
    "billing.change_notice.accepted": _("Endringsvarsel akseptert"),
    "billing.change_notice.declined": _("Endringsvarsel avslått"),
    "billing.change_notice.expired": _("Endringsvarsel utløpt"),
    "billing.company.updated": _("Selskapsinnstillinger endret"),
    "portal.bankid.connected": _("Kunden koblet BankID til kontoen"),
    "portal.bankid.disconnected": _("Kunden koblet BankID fra kontoen"),
    "billing.customer.language_set": _("Kundens språk endret"),
    "billing.shared_cost.created": _("Felles anlegg opprettet"),
    "billing.shared_cost.line_added": _("Kostnadslinje lagt til felles anlegg"),
    "billing.shared_cost.participant_added": _("Deltaker lagt til felles anlegg"),
    "integrations.related_case.linked": _("Relatert sak koblet til"),
    "integrations.related_case.updated": _("Relatert sak endret"),
    "integrations.related_case.unlinked": _("Relatert sak fjernet"),
    "offers.email.sent": _("E-post sendt"),
    "offers.email.failed": _("E-post feilet"),
    "offers.email.queued": _("E-post lagt i kø"),
    "offers.email.resend": _("E-post sendt på nytt"),
    "offers.receipt.issued": _("Kvittering utstedt"),
}


@register.filter
def event_label(action: str) -> str:
    # Every action the code writes has a label (tests/billing/views/test_event_labels.py scans the code base).
    return str(EVENT_LABELS.get(action, action))


@register.simple_tag
def timeline_rows(events) -> str:
    """The timeline's rows (`<li>` per event), written in Python: through the template engine an event
    cost about 90 µs. `workspace/_timeline_row.html` is the reference: tests/billing/views/test_timeline_rows.py
    renders events of every kind both ways, in every language, and compares the bytes."""
    rows = []
    for e in events:
        at = timezone.localtime(e.at) if timezone.is_aware(e.at) else e.at
        chips = ""
        if e.to_status and e.from_status != e.to_status:
            chips = (f"{status_chip(e.from_status)} → " if e.from_status else "") + status_chip(e.to_status)
        note = f'<br><span class="note">{escape(e.note)}</span>' if e.note else ""
        rows.append(f'<li><time datetime="{at.isoformat()}">{at:%d.%m.%Y %H:%M}</time> '
                    f"<strong>{escape(event_label(e.action))}</strong>\n      {chips}\n"
                    f'      <span class="muted">{escape(e.actor_label)}</span>{note}</li>')
    # Our own markup and escaped text only, as the autoescaping template writes it.
    return SafeString("\n    ".join(rows))  # nosec B703
