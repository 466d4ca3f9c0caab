"""Small display helpers for the case worker workspace."""

import datetime as dt
from html import escape  # what autoescape does, without Django's lazy-text wrapper

from django import template
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from billing.formatting import nok
from kundefaktura.choices import display

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


def _date(value) -> str:
    """`{{ value|date:"d.m.Y" }}`: a date, or a moment in the current time zone; "" for none."""
    if not value:
        return ""
    if isinstance(value, dt.datetime) and timezone.is_aware(value):
        value = timezone.localtime(value)
    return f"{value.day:02d}.{value.month:02d}.{value.year:04d}"


@register.simple_tag
def invoice_rows(invoices) -> str:
    """The basis page's invoice table rows, a row per invoice followed by one per payment, written in
    Python: through the template engine an invoice with its payments cost about 0.5 ms.
    `workspace/_invoice_row.html` is the reference: tests/billing/views/test_invoice_rows.py renders
    invoices of every kind both ways, in every language, and compares the bytes."""
    t = {key: escape(gettext(text)) for key, text in (
        ("type", "Type"), ("number", "Nummer"), ("date", "Dato"), ("due", "Forfall"), ("kid", "KID"),
        ("amount", "Beløp"), ("outstanding", "Utestående"), ("status", "Status"), ("payment", "Betaling"),
        ("reference", "Referanse"), ("no_due", "Ingen forfall"))}
    rows = []
    for inv in invoices:
        credit_note = inv.kind == "credit_note"
        credited = ""
        if inv.credited_invoice:
            credited = (' <span class="muted">('
                        f'{gettext("krediterer %(n)s") % {"n": escape(str(inv.credited_invoice.number))}})</span>')
        number = escape(inv.display_number)
        if inv.number:
            number = (f'<a href="{escape(reverse("offers:preview", args=["invoice", inv.pk]))}">{number}</a> '
                      f'<a class="muted" href="{escape(reverse("offers:pdf", args=["invoice", inv.pk]))}">PDF</a>')
        due = f'<span class="muted">{t["no_due"]}</span>' if credit_note else _date(inv.due_date)
        outstanding = escape(nok(inv.outstanding)) if not credit_note and inv.number else ""
        rows.append(
            "<tr>\n"
            f'  <td data-label="{t["type"]}"><span class="cell">{escape(display(inv, "kind"))}{credited}</span></td>\n'
            f'  <td data-label="{t["number"]}"><span class="cell">{number}</span></td>\n'
            f'  <td data-label="{t["date"]}">{_date(inv.issue_date)}</td>\n'
            f'  <td data-label="{t["due"]}">{due}</td>\n'
            f'  <td data-label="{t["kid"]}">{escape(str(inv.kid))}</td>\n'
            f'  <td class="num" data-label="{t["amount"]}">{escape(nok(inv.gross_total))}</td>\n'
            f'  <td class="num" data-label="{t["outstanding"]}">{outstanding}</td>\n'
            f'  <td data-label="{t["status"]}">{escape(display(inv, "status"))}</td>\n'
            "</tr>")
        for p in inv.payments.all():
            rows.append(
                '\n<tr class="payment-row">\n'
                f'  <td colspan="2" class="muted" data-label="{t["payment"]}">↳ {escape(display(p, "direction"))} · '
                f'{escape(display(p, "method"))}</td>\n'
                f'  <td data-label="{t["date"]}">{_date(p.created_at)}</td>\n'
                f'  <td colspan="2" class="muted" data-label="{t["reference"]}">'
                f'{escape(str(p.provider_reference or p.note))}</td>\n'
                f'  <td class="num" data-label="{t["amount"]}">{escape(nok(p.amount))}</td>\n'
                "  <td></td>\n"
                f'  <td data-label="{t["status"]}">{escape(display(p, "status"))}</td>\n'
                "</tr>")
        rows.append("\n")
    # Our own markup and escaped text only, as the autoescaping template writes it.
    return SafeString("".join(rows))  # nosec B703
