"""Small display helpers for the case worker workspace."""

from django import template
from django.utils.translation import gettext_lazy as _

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
