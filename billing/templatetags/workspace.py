"""Small display helpers for the case worker workspace."""

import datetime as dt
from html import escape  # what autoescape does, without Django's lazy-text wrapper

from django import template
from django.template.defaulttags import CsrfTokenNode
from django.utils import timezone
from django.utils.formats import localize
from django.utils.safestring import SafeString
from django.utils.text import Truncator
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _

from billing.formatting import nok, qty
from kundefaktura.addresses import address, reverser
from kundefaktura.choices import display

from .money import release_chip, status_chip

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
    chip, label = {}, {}  # each status's chip and each action's label, written once per timeline
    for e in events:
        chips = ""
        if e.to_status and e.from_status != e.to_status:
            for status in (e.from_status, e.to_status):
                if status not in chip:
                    chip[status] = status_chip(status)
            chips = (f"{chip[e.from_status]} → " if e.from_status else "") + chip[e.to_status]
        if e.action not in label:
            label[e.action] = escape(event_label(e.action))
        note = f'<br><span class="note">{escape(e.note)}</span>' if e.note else ""
        rows.append(f"<li>{_moment(e.at)} "
                    f"<strong>{label[e.action]}</strong>\n      {chips}\n"
                    f'      <span class="muted">{escape(e.actor_label)}</span>{note}</li>')
    # Our own markup and escaped text only, as the autoescaping template writes it.
    return SafeString("\n    ".join(rows))  # nosec B703


_TEXTS: dict[tuple, dict] = {}


def texts(*pairs: tuple[str, str]) -> dict:
    """Our translated literals by key, escaped as `{% translate %}` writes them: `pairs` is (key, literal)
    each. Kept per language and set of pairs (the writers' own, a handful), as a page writes the same
    ones on every request."""
    key = (get_language(), pairs)
    if key not in _TEXTS:
        _TEXTS[key] = {name: escape(gettext(text)) for name, text in pairs}
    return _TEXTS[key]


def _moment(at) -> str:
    """`<time datetime="{{ at|date:'c' }}">{{ at|date:"d.m.Y H:i" }}</time>`: a moment in the current time
    zone, readable and machine-readable."""
    if timezone.is_aware(at):
        at = at.astimezone(timezone.get_current_timezone())
    return f'<time datetime="{at.isoformat()}">{_date(at, "H:i")}</time>'


@register.simple_tag
def time_tag(at) -> str:
    """`{% time_tag moment %}`: `<time>` of a moment (see `_moment`), written in Python: the two `date`
    filters cost about 0.1 ms a moment."""
    # Digits, dots, colons, a "T" and a time zone offset only.
    return SafeString(_moment(at))  # nosec B703


def _date(value, clock: str = "") -> str:
    """`{{ value|date:"d.m.Y" }}` (with `clock` "H:i" or "H:i:s": `"d.m.Y H:i"`, `"d.m.Y H:i:s"`): a date,
    or a moment in the current time zone; "" for none."""
    if not value:
        return ""
    if isinstance(value, dt.datetime) and timezone.is_aware(value):
        value = timezone.localtime(value)
    text = f"{value.day:02d}.{value.month:02d}.{value.year:04d}"
    if clock:
        text += f" {value.hour:02d}:{value.minute:02d}" + (f":{value.second:02d}" if clock == "H:i:s" else "")
    return text


@register.simple_tag
def invoice_rows(invoices) -> str:
    """The basis page's invoice table rows, a row per invoice followed by one per payment, written in
    Python: through the template engine an invoice with its payments cost about 0.5 ms.
    `workspace/_invoice_row.html` is the reference: tests/billing/views/test_invoice_rows.py renders
    invoices of every kind both ways, in every language, and compares the bytes."""
    t = texts(("type", "Type"), ("number", "Nummer"), ("date", "Dato"), ("due", "Forfall"), ("kid", "KID"),
              ("amount", "Beløp"), ("outstanding", "Utestående"), ("status", "Status"), ("payment", "Betaling"),
              ("reference", "Referanse"), ("no_due", "Ingen forfall"))
    rows = []
    preview, pdf = reverser("offers:preview", "invoice"), reverser("offers:pdf", "invoice")
    for inv in invoices:
        credit_note = inv.kind == "credit_note"
        credited = ""
        if inv.credited_invoice:
            credited = (' <span class="muted">('
                        f'{gettext("krediterer %(n)s") % {"n": escape(str(inv.credited_invoice.number))}})</span>')
        number = escape(inv.display_number)
        if inv.number:
            number = (f'<a href="{escape(preview(inv.pk))}">{number}</a> '
                      f'<a class="muted" href="{escape(pdf(inv.pk))}">PDF</a>')
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


@register.simple_tag
def offer_items(offers) -> str:
    """The basis page's list of sent offers (`<li>` per offer), written in Python; `workspace/_offer_item.html`
    is the reference (tests/billing/views/test_offer_items.py compares the bytes)."""
    t = texts(("valid", "gyldig til"), ("outdated", "Utdatert"))
    valid, outdated = t["valid"], t["outdated"]
    items = []
    preview, pdf = reverser("offers:preview", "offer"), reverser("offers:pdf", "offer")
    for o in offers:
        version = gettext("Versjon %(v)s") % {"v": escape(str(o.version))}
        chip = f' · <span class="chip">{outdated}</span>' if o.outdated_at else ""
        items.append(f'<li><a href="{escape(preview(o.pk))}">{version}</a> · '
                     f"{_date(o.sent_at)} · {valid} {_date(o.valid_until)} · {escape(nok(o.gross))} · "
                     f'<a href="{escape(pdf(o.pk))}">PDF</a>{chip}</li>\n')
    # Our own markup and escaped text only, as the autoescaping template writes it.
    return SafeString("".join(items))  # nosec B703


@register.simple_tag
def acceptance_items(acceptances) -> str:
    """The basis page's evidence of the customer's answers (`<li>` per answer: version, decision, when, how,
    who, the login and its level, the BankID time, the IP address and the signed PDF's hash), written in
    Python; `workspace/_acceptance_item.html` is the reference (tests/billing/views/test_offer_items.py)."""
    t = texts(("login", "innlogging"), ("unregistered", "ikke registrert"), ("level", "nivå"), ("bankid", "BankID"))
    login, unregistered, level, bankid = t["login"], t["unregistered"], t["level"], t["bankid"]
    items = []
    for a in acceptances:
        answer = gettext("Versjon %(v)s: %(d)s") % {"v": escape(str(a.offer_version)),
                                                      "d": escape(display(a, "decision"))}
        who = f" · {escape(a.user.get_full_name() or a.user.username)}" if a.user else ""
        method = escape(display(a, "login_method")) if a.login_method else unregistered
        extra = f" ({level} {escape(a.auth_acr)})" if a.auth_acr else ""
        if a.auth_time:
            extra += f" · {bankid} {_date(a.auth_time, 'H:i:s')}"
        if a.ip_address:
            extra += f" · IP {escape(str(a.ip_address))}"
        if a.pdf_sha256:
            extra += f' · <span class="muted" title="SHA-256">{escape(Truncator(a.pdf_sha256).chars(13))}</span>'
        items.append(f"<li>{answer} · {_date(a.at, 'H:i')} · {escape(display(a, 'channel'))}{who}\n"
                     f"  · {login}: {method}{extra}</li>\n")
    # Our own markup and escaped text only, as the autoescaping template writes it.
    return SafeString("".join(items))  # nosec B703




@register.simple_tag(takes_context=True)
def totals_card(context) -> str:
    """The basis page's totals card (VAT per code, the sums, and once invoiced what is invoiced, credited,
    paid, refunded and owed), written in Python; `workspace/_totals.html` is the reference
    (tests/billing/views/test_cards.py compares the bytes). Context: basis, totals, billing, oob."""
    t = texts(("title", "Sum og MVA"), ("code", "MVA-kode"), ("base", "Grunnlag"), ("vat", "MVA"),
               ("none", "Ingen kostnadslinjer ennå."), ("net", "Sum eks. MVA"), ("gross", "Sum inkl. MVA"),
               ("invoiced", "Fakturert"), ("credited", "Kreditert"), ("paid", "Betalt"),
               ("refunded", "Tilbakebetalt"), ("owed", "Å betale"),
               ("deduction", "Bunnfradrag (eldre ordning) er trukket fra anleggsbidraget."))
    totals, billing = context["totals"], context.get("billing")
    rows = "".join(
        f'\n      <tr><td data-label="{t["code"]}">{escape(str(g.code))} ({qty(g.rate)} %)</td>'
        f'<td class="num" data-label="{t["base"]}">{nok(g.base)}</td>'
        f'<td class="num" data-label="{t["vat"]}">{nok(g.vat)}</td></tr>' for g in totals.groups
    ) or f'\n      <tr><td colspan="3" class="muted">{t["none"]}</td></tr>'

    def row(key, ident, amount, sign="", css=""):
        return (f"\n      <tr{css}><td>{t[key]}</td><td class=\"num\" id=\"{ident}\" colspan=\"2\">"
                f"{sign}{nok(amount)}</td></tr>")

    foot = row("net", "total-net", totals.net) + row("vat", "total-vat", totals.vat)
    if billing:
        foot += row("gross", "total-gross", totals.gross) + row("invoiced", "total-invoiced", billing["invoiced"])
        if billing["credited"]:
            foot += row("credited", "total-credited", billing["credited"], "−")
        foot += row("paid", "total-paid", billing["paid"])
        if billing["refunded"]:
            foot += row("refunded", "total-refunded", billing["refunded"], "−")
        foot += row("owed", "total-owed", billing["owed"], css=' class="grand"')
    else:
        foot += row("owed", "total-gross", totals.gross, css=' class="grand"')
    note = f'\n  <p class="muted">{t["deduction"]}</p>' if context["basis"].base_deduction_applied else ""
    oob = ' hx-swap-oob="true"' if context.get("oob") else ""
    # Our own markup, escaped text and formatted amounts only, as the autoescaping template writes them.
    return SafeString(  # nosec B703
        f'<section id="totals" class="card totals"{oob} aria-labelledby="totals-h" aria-live="polite">\n'
        f'  <h2 id="totals-h">{t["title"]}</h2>\n'
        '  <div class="table-wrap"><table class="responsive compact">\n'
        f'    <thead><tr><th scope="col">{t["code"]}</th><th scope="col" class="num">{t["base"]}</th>'
        f'<th scope="col" class="num">{t["vat"]}</th></tr></thead>\n'
        f"    <tbody>{rows}\n    </tbody>\n    <tfoot>{foot}\n    </tfoot>\n  </table></div>{note}\n</section>\n")


# The actions that open a panel on the basis page, after sending the offer: (key, button class, label).
_PANEL_ACTIONS = (("accept", "button", "Registrer aksept"), ("invoice", "button primary", "Utsted faktura"),
                  ("payment", "button", "Registrer betaling"), ("credit", "button", "Krediter faktura"))
_ACTION_TEXTS = (*((key, label) for key, _css, label in _PANEL_ACTIONS),
                 ("send", "Send tilbud"), ("resend", "Send tilbud på nytt"), ("cancel", "Kanseller"),
                 ("changes", "Endringer"), ("settlement", "Sluttoppgjør"), ("title", "Handlinger"),
                 ("outdated", "Tilbudet som er sendt er utdatert – send ny versjon."),
                 ("not_ready", "Tilbudet kan ikke sendes ennå:"))


@register.simple_tag(takes_context=True)
def actions_bar(context) -> str:
    """The basis page's actions (each only when its service's guard finds nothing against it) and the
    notices beside them, written in Python; `workspace/_actions.html` is the reference
    (tests/billing/views/test_cards.py compares the bytes). Context: basis, actions, oob."""
    basis, actions = context["basis"], context["actions"]
    t = texts(*_ACTION_TEXTS)

    def button(key, css, label):
        url = escape(address("billing:basis_action", basis.pk, key))
        return f'\n    <a class="{css}" href="{url}" hx-get="{url}" hx-target="#action-panel">{label}</a>'

    out = ""
    if actions["send_offer"]:
        out += button("send_offer", "button primary", t["resend" if basis.status == "offer_sent" else "send"])
    for key, css, _label in _PANEL_ACTIONS:
        if actions[key]:
            out += button(key, css, t[key])
    if basis.status in ("accepted", "invoiced", "paid"):
        out += (f'\n    <a class="button" href="{escape(address("billing:changes", basis.pk))}">'
                f'{t["changes"]}</a>'
                f'\n    <a class="button" href="{escape(address("billing:settlement", basis.pk))}">'
                f'{t["settlement"]}</a>')
    if actions["cancel"]:
        out += button("cancel", "button danger", t["cancel"])
    out += "\n  </div>"
    if actions["offer_outdated"]:
        version = escape(str(actions["offer_outdated"].version))
        out += ('\n  <div class="notice warn" role="alert" id="offer-outdated"><strong>'
                f'{t["outdated"]}</strong>\n    '
                + gettext("Kostnadslinjene er endret etter at versjon %(v)s ble sendt. Kunden kan ikke akseptere "
                          "versjon %(v)s; portalen viser at tilbudet revideres.") % {"v": version} + "</div>")
    if actions["settled_at"]:
        out += ('\n  <div class="notice" role="note" id="settled-note">'
                + gettext("Sluttoppgjøret er utført %(d)s. Det kan ikke utstedes flere fakturaer på grunnlaget, "
                          "bare kreditnotaer.") % {"d": _date(actions["settled_at"])} + "</div>")
    if actions["buyer_blockers"]:
        out += ('\n  <div class="notice warn" role="note" id="buyer-blockers">'
                + "".join(f"<p>{escape(str(b))}</p>" for b in actions["buyer_blockers"]) + "</div>")
    if actions["offer_blockers"]:
        out += (f'\n  <div class="notice" role="note"><strong>{t["not_ready"]}'
                "</strong>\n    <ul>" + "".join(f"<li>{escape(str(b))}</li>" for b in actions["offer_blockers"])
                + "</ul></div>")
    oob = ' hx-swap-oob="true"' if context.get("oob") else ""
    # Our own markup and escaped text only, as the autoescaping template writes it.
    return SafeString(  # nosec B703
        f'<div id="actions" class="actions"{oob}>\n  <h2 class="sr-only">{t["title"]}</h2>\n'
        f'  <div class="row">{out}\n</div>\n')


_CSRF_TOKEN = CsrfTokenNode()


def _included(context, name: str) -> str:
    """`{% include name %}` with the tag's own context, for the forms a writer leaves to its template."""
    return context.template.engine.get_template(name).render(context)


@register.simple_tag(takes_context=True)
def basis_head(context) -> str:
    """The basis page's heading (the way back to the work list, number and title, status, work release and
    how long the offer is valid), written in Python; `workspace/_basis_head.html` is the reference
    (tests/billing/views/test_cards.py compares the bytes). Context: basis."""
    basis = context["basis"]
    number = escape(str(basis.number))
    valid = ""
    if basis.offer_valid_until and basis.status == "offer_sent":
        valid = f'<span class="muted">{gettext("Tilbud gyldig til %(d)s") % {"d": _date(basis.offer_valid_until)}}</span>'
    # Our own markup and escaped text only, as the autoescaping template writes it.
    return SafeString(  # nosec B703
        f'<p class="crumbs"><a href="{escape(address("billing:worklist"))}">{texts(("back", "Arbeidsliste"))["back"]}'
        f"</a> › {number}</p>\n"
        '<div class="basis-head row spread">\n'
        f"  <h1>{number} · {escape(str(basis.title))}</h1>\n"
        f'  <p class="row" id="basis-status">{status_chip(basis.status)} {release_chip(basis.work_release)}\n'
        f"    {valid}</p>\n</div>\n")


_FACTS_TEXTS = (("title", "Grunnlag"), ("customer", "Kunde"), ("no_customer", "Ingen kunde"),
                ("no_email", "mangler e-post"), ("site", "Anlegg"), ("metering_point", "Målepunkt"),
                ("ordered", "Bestilt"), ("prepayment", "Forskudd"), ("yes", "Ja"), ("no", "Nei"),
                ("source", "Kilde"), ("created", "Opprettet"), ("edit", "Endre kunde og anlegg"),
                ("open", "Åpne skjemaet"))


@register.simple_tag(takes_context=True)
def facts_card(context) -> str:
    """The basis page's facts card: customer, site, metering point, order date, prepayment, source and who
    made it, with the panel that edits them. The panel's form is loaded when it is opened
    (billing.views.bases.basis_header_form); it is in the page, open, after a refused save and with
    ?endre=1 (the link, for a browser without JavaScript) — then the template writes the card with the
    form. Otherwise written in Python; `workspace/_facts.html` is the reference
    (tests/billing/views/test_cards.py compares the bytes). Context: basis, basis_form."""
    if context.get("basis_form"):
        return _included(context, "workspace/_facts.html")
    basis = context["basis"]
    t = texts(*_FACTS_TEXTS)
    customer = basis.customer
    if customer:
        email = escape(str(customer.email)) if customer.email else t["no_email"]  # texts() are escaped already
        who = f'{escape(str(customer.name))}<br><span class="muted">{email}</span>'
    else:
        who = f'<span class="chip status-expired">{t["no_customer"]}</span>'
    source = escape(basis.source_label) + (f" · {escape(str(basis.reference))}" if basis.reference else "")
    created = _date(basis.created_at, "H:i")
    if basis.created_by:
        created += f" · {escape(basis.created_by.get_full_name() or basis.created_by.username)}"
    form_url = escape(address("billing:basis_header_form", basis.pk))
    # Our own markup and escaped text only, as the autoescaping template writes it.
    return SafeString(  # nosec B703
        '<section class="card" aria-labelledby="facts-h">\n'
        f'  <h2 id="facts-h">{t["title"]}</h2>\n'
        '  <dl class="facts">\n'
        f'    <dt>{t["customer"]}</dt><dd>{who}</dd>\n'
        f'    <dt>{t["site"]}</dt><dd>{", ".join(escape(x) for x in basis.site_lines) or "—"}</dd>\n'
        f'    <dt>{t["metering_point"]}</dt><dd>{escape(str(basis.metering_point_id)) if basis.metering_point_id else "—"}</dd>\n'
        f'    <dt>{t["ordered"]}</dt><dd>{_date(basis.order_date) or "—"}</dd>\n'
        f'    <dt>{t["prepayment"]}</dt><dd>{t["yes" if basis.prepayment_required else "no"]}</dd>\n'
        f'    <dt>{t["source"]}</dt><dd>{source}</dd>\n'
        f'    <dt>{t["created"]}</dt><dd>{created}</dd>\n'
        "  </dl>\n"
        f'  <details id="header-edit" hx-get="{form_url}" hx-trigger="toggle once" hx-target="#header-form">\n'
        f'    <summary>{t["edit"]}</summary>\n'
        '    <div id="header-form">\n'
        f'      <p><a href="?endre=1#header-edit">{t["open"]}</a></p></div>\n'
        "  </details>\n</section>\n")


_LINES_TEXTS = (("title", "Kostnadslinjer"), ("category", "Kategori"), ("description", "Beskrivelse"),
                ("quantity", "Antall"), ("unit_price", "Enhetspris"), ("vat", "MVA"), ("amount", "Beløp"),
                ("source", "Kilde"), ("actions", "Handlinger"), ("none", "Ingen kostnadslinjer ennå."),
                ("new", "Ny linje"))


@register.simple_tag(takes_context=True)
def lines_card(context) -> str:
    """The basis page's cost lines: the table (its rows written by billing.views.basis_page) and the form
    for a new line, or why the lines cannot be changed. Written in Python while no form in it holds
    what was typed; a line being edited or a refused new line is written by the template.
    `workspace/_lines.html` is the reference (tests/billing/views/test_cards.py compares the bytes).
    Context: basis, line_rows, line_rows_html, lines_editable, add_fields, add_form, line_error, csrf_token."""
    rows_html, rows = context.get("line_rows_html"), context.get("line_rows")
    if context.get("add_form") is not None or (rows and not rows_html):
        return _included(context, "workspace/_lines.html")
    basis = context["basis"]
    t = texts(*_LINES_TEXTS)
    error = context.get("line_error")
    error = f'<p class="error-summary" role="alert">{escape(str(error))}</p>' if error else ""
    body = rows_html or f'\n      <tr><td colspan="8" class="muted">{t["none"]}</td></tr>\n    '
    if context.get("lines_editable"):
        url = escape(address("billing:line_add", basis.pk))
        token = _CSRF_TOKEN.render(context)  # `{% csrf_token %}`, as Django writes it
        tail = ("  \n"
                f'  <form id="line-add" method="post" action="{url}" class="line-add"\n'
                f'        hx-post="{url}" hx-target="#lines" hx-swap="outerHTML" novalidate>{token}\n'
                f'    <h3>{t["new"]}</h3>\n'
                f'    {context.get("add_fields", "")}\n'
                "  </form>\n  \n")
    else:
        locked = gettext("Linjene kan ikke endres når status er «%(s)s».") % {"s": escape(basis.status_label)}
        tail = f'  \n  <p class="muted">{locked}</p>\n  \n'
    # Our own markup, escaped text and the rows' and form's own markup only, as the autoescaping template
    # writes them.
    return SafeString(  # nosec B703
        '<section id="lines" class="card" aria-labelledby="lines-h">\n'
        f'  <h2 id="lines-h">{t["title"]}</h2>\n'
        f"  {error}\n"
        '  <div class="table-wrap">\n'
        '  <table class="lines responsive wide">\n'
        "    <thead><tr>\n"
        f'      <th scope="col">{t["category"]}</th><th scope="col">{t["description"]}</th>\n'
        f'      <th scope="col" class="num">{t["quantity"]}</th>\n'
        f'      <th scope="col" class="num">{t["unit_price"]}</th><th scope="col">{t["vat"]}</th>\n'
        f'      <th scope="col" class="num">{t["amount"]}</th><th scope="col">{t["source"]}</th>\n'
        f'      <th scope="col"><span class="sr-only">{t["actions"]}</span></th>\n'
        "    </tr></thead>\n"
        '    <tbody id="lines-body">\n'
        f"    {body}\n"
        "    </tbody>\n  </table>\n  </div>\n"
        f"{tail}</section>\n")


@register.simple_tag(takes_context=True)
def related_cases_card(context) -> str:
    """The basis page's related cases (with their installers) and the work release. Related cases belong
    to integrations: its panel (integrations.views.basis_cases) replaces this card when the page has
    loaded; this is what shows before, and without JavaScript. Written in Python;
    `workspace/_related_cases.html` is the reference (tests/billing/views/test_cards.py compares the
    bytes). Context: basis, related_cases."""
    basis = context["basis"]
    t = texts(("title", "Relaterte saker og installatør"), ("none", "Ingen relaterte saker."), ("work", "Arbeid:"),
              ("link", "Knytt til sak og installatør"))
    url = escape(address("integrations:basis_cases", basis.pk))
    chip = release_chip(basis.work_release)
    cases = context.get("related_cases")
    if cases:
        items = []
        for rc in cases:
            title = f" – {escape(str(rc.title))}" if rc.title else ""
            installer = f' <span class="muted">({escape(str(rc.installer.name))})</span>' if rc.installer else ""
            items.append(f"<li>{escape(display(rc, 'source'))} <strong>{escape(str(rc.external_id))}</strong>"
                         f"{title}{installer} {chip}</li>\n    ")
        listing = '<ul class="plain">\n    ' + "".join(items) + "</ul>\n  "
    else:
        listing = f'<p class="muted">{t["none"]}</p>'
    released = (f' <span class="muted">{_date(basis.work_released_at, "H:i")}</span>'
                if basis.work_released_at else "")
    # Our own markup and escaped text only, as the autoescaping template writes it.
    return SafeString(  # nosec B703
        f'<section class="card" id="related-cases" aria-labelledby="rel-h"\n'
        f'         hx-get="{url}" hx-trigger="load" hx-swap="outerHTML">\n'
        f'  <h2 id="rel-h">{t["title"]}</h2>\n'
        f"  {listing}\n"
        f'  <p>{t["work"]} {chip}{released}</p>\n'
        f'  <p><a href="{url}">{t["link"]}</a></p>\n</section>\n')


@register.simple_tag
def status_chips(chips, status_query) -> str:
    """The work list's status chips (`<li>` each: the filter's link, the number of bases), written in
    Python; `workspace/_worklist_chip.html` is the reference (tests/billing/views/test_worklist_parts.py)."""
    query = f"{escape(status_query)}&amp;" if status_query else ""
    items = []
    for chip in chips:
        code = escape(str(chip["code"]))
        active = chip["active"]
        count = "" if chip["count"] is None else f' <span class="count">{escape(str(localize(chip["count"])))}</span>'
        css, current = (" active", ' aria-current="true"') if active else ("", "")
        items.append(f'<li><a class="chip {f"status-{code}" if chip["code"] else "status-all"}{css}" '
                     f'href="?{query}status={code}"{current}>{escape(str(chip["label"]))}{count}</a></li>')
    # Our own markup and escaped text only, as the autoescaping template writes it.
    return SafeString("\n    ".join(items))  # nosec B703


@register.simple_tag
def sort_headers(columns, sort, sort_query) -> str:
    """The work list's sortable column headings (`<th>` each, a link that sorts by the column, the other
    way when it is sorted by it already), written in Python; `workspace/_worklist_sort_header.html` is the
    reference (tests/billing/views/test_worklist_parts.py)."""
    query = f"{escape(sort_query)}&amp;" if sort_query else ""
    cells = []
    for key, label in columns:
        asc, desc = str(key), f"-{key}"
        state, arrow = ((' aria-sort="ascending"', " ▲") if sort == asc
                        else (' aria-sort="descending"', " ▼") if sort == desc else ("", ""))
        cells.append(f'<th scope="col"{state}><a href="?{query}sort={escape(desc if sort == asc else asc)}">'
                     f"{escape(str(label))}{arrow}</a></th>")
    # Our own markup and escaped text only, as the autoescaping template writes it.
    return SafeString("\n      ".join(cells))  # nosec B703
