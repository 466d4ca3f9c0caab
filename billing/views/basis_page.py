"""What the basis page shows, shared by the views that render it whole or in part (bases.py, lines.py,
actions.py): the lines with what may be done to each, totals, the actions on offer and why others are
refused, invoices, payments and the timeline."""

import functools
from html import escape  # what Django's `escape` (and autoescape) does, without its lazy-text wrapper

from django.http import Http404
from django.template import TemplateDoesNotExist
from django.template.loader import get_template, render_to_string
from django.utils.safestring import SafeString
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from kundefaktura.addresses import reverser
from kundefaktura.choices import display

from .. import selectors, services
from ..formatting import nok_plain, qty
from ..forms import BasisForm, LineForm
from ..models import CostLine, Invoice, InvoiceBasis, Payment, category_label, vat_label
from ..status import Status
from ..templatetags.workspace import texts

EMAILS_TEMPLATE = "documents/_basis_emails.html"
RECEIPTS_TEMPLATE = "documents/_basis_receipts.html"


def get_basis(pk) -> InvoiceBasis:
    try:
        return selectors.basis_detail(pk)
    except InvoiceBasis.DoesNotExist:
        raise Http404 from None


def basis_context(request, basis, **extra) -> dict:
    lines = list(basis.lines.all())
    categories, vat_codes = basis.page_categories, basis.page_vat_codes
    invoices = list(basis.invoices.all())
    events = list(basis.events.all())
    context = {
        "basis": basis, "lines": lines, "totals": services.basis_totals(basis, lines),
        "line_rows": _line_rows(basis, lines, categories, vat_codes, edit_line=extra.pop("edit_line", None),
                                edit_form=extra.pop("edit_form", None)),
        "add_form": extra.pop("add_form", None),
        "lines_editable": _lines_editable(basis),
        "invoices": invoices,
        "actions": basis_actions(basis, invoices, lines=lines, categories=categories, vat_codes=vat_codes),
        "events": events, "related_cases": list(basis.related_cases.all()),
        "offers": list(basis.offers.all()),
        "acceptances": list(basis.acceptances.all()), "participations": list(basis.shared_participations.all()),
        "emails_template": _template(EMAILS_TEMPLATE), "receipts_template": _template(RECEIPTS_TEMPLATE),
        "billing": _billing_summary(invoices), "overpayments": selectors.overpayment_attention(basis, events, invoices),
        "refunds": [p for i in invoices for p in i.payments.all() if p.direction == Payment.Direction.REFUND],
    }
    if context["add_form"] is None and context["lines_editable"]:
        context["add_fields"] = new_line_fields(categories, vat_codes)
    _mark_credited(context["line_rows"], invoices)
    write_line_rows(context["line_rows"])
    if context["line_rows"] and not any(row["form"] for row in context["line_rows"]):
        # No row is being edited: the table body is the rows' own markup, joined here.
        context["line_rows_html"] = SafeString("".join(row["html"] for row in context["line_rows"]))  # nosec B703
    context.update(extra)
    return context


def _line_rows(basis, lines, categories, vat_codes, *, edit_line=None, edit_form=None):
    """Each line with what may be done to it; an editable one with its edit and delete addresses and the
    buttons' accessible names (built here, once per line, rather than by template tags)."""
    rows = []
    editable = _lines_editable(basis)
    if editable:  # the addresses and names are the same for every line but its id and description
        edit_url, delete_url = reverser("billing:line_edit", basis.pk), reverser("billing:line_delete", basis.pk)
        edit, delete, confirm = _("Endre «%(d)s»"), _("Slett «%(d)s»"), _("Slette linjen «%(d)s»?")
    for line in lines:
        row = {"line": line, "locked": line.invoice_id is not None,
               "accepted_offer": services.is_accepted_offer_line(line, basis),
               "external": line.source != CostLine.Source.MANUAL, "form": None}
        row["editable"] = editable and not row["locked"] and not row["accepted_offer"] and not row["external"]
        if row["editable"]:
            named = {"d": line.description}
            row.update(edit_url=edit_url(line.pk), delete_url=delete_url(line.pk),
                       edit_label=edit % named, delete_label=delete % named, delete_confirm=confirm % named)
        if edit_line is not None and line.pk == edit_line.pk:
            row["form"] = edit_form or LineForm(initial=LineForm.initial_for(line), categories=categories,
                                                vat_codes=vat_codes, prefix=f"l{line.pk}",
                                                form_id=f"line-form-{line.pk}")
        rows.append(row)
    return rows


NEW_LINE_FIELDS = "workspace/_line_add_fields.html"
_new_line_fields_kept: dict[str, tuple] = {}  # language → (categories, VAT codes, markup)


def new_line_fields(categories, vat_codes) -> SafeString:
    """The empty new-line form's fields, as `NEW_LINE_FIELDS` renders them. They are the same for every
    basis: they depend only on the language and on the cost categories and VAT codes, which
    `selectors.reference()` hands out as the same tuples until they change. So the markup is kept per
    language with the tuples it was rendered from, and rendered again when either is another object
    (elsewhere than PostgreSQL outside a transaction, that is every time). A refused line comes back in
    a bound form, which the template renders itself."""
    language = get_language()
    kept = _new_line_fields_kept.get(language)
    if kept is None or kept[0] is not categories or kept[1] is not vat_codes:
        form = LineForm(categories=categories, vat_codes=vat_codes, prefix="new", initial={"unit": "stk"})
        kept = (categories, vat_codes, render_to_string(NEW_LINE_FIELDS, {"f": form}))
        _new_line_fields_kept[language] = kept
    return kept[2]


def _lines_editable(basis) -> bool:
    return basis.status not in (Status.CANCELLED, Status.PAID)


def basis_actions(basis, invoices, *, lines=None, categories=None, vat_codes=None) -> dict:
    """What the case worker may do now. Each action is offered only when the guard its service runs
    (`services.*_refusals`) finds nothing against it; `refusals` holds the reasons for the others.
    The guards get what `selectors.basis_detail` loaded (offers, lines; the page also passes the
    categories and VAT codes of its forms), so asking costs no query per guard."""
    issued = [i for i in invoices if i.number is not None and i.kind != Invoice.Kind.CREDIT_NOTE]
    payable = [i for i in issued if i.outstanding > 0]
    creditable = [i for i in issued if not services.invoice_credit_refusals(i, credited=i.credited, basis=basis)]
    offer = max((o for o in basis.offers.all() if o.kind == "offer"), key=lambda o: o.version, default=None)
    lines = list(basis.lines.all()) if lines is None else lines
    # Read with the basis by selectors.basis_detail; read here for a basis loaded otherwise.
    profile = basis.page_profile if hasattr(basis, "page_profile") else selectors.reference("profile").profile
    refusals = {
        "send_offer": services.offer_send_refusals(basis, lines=lines, profile=profile),
        "accept": services.offer_accept_refusals(basis, offer, newest=offer, lines=lines),
        "invoice": services.invoices_issue_refusals(basis, lines=lines, categories=categories,
                                                    vat_codes=vat_codes, profile=profile),
        "credit": [] if creditable else (issued and services.buyer_refusals(basis.customer)
                                         or [services.Refusal(_("Ingen utstedte fakturaer å kreditere."))]),
        "payment": [] if payable else [services.Refusal(_("Ingen fakturaer med utestående beløp."))],
        "cancel": services.status_refusals(basis, "cancel"),
    }
    return {
        **{action: not reasons for action, reasons in refusals.items()},
        "refusals": {action: [str(r) for r in reasons if str(r)] for action, reasons in refusals.items()},
        # What stops a sendable status from sending: shown beside the buttons.
        "offer_blockers": [str(r) for r in refusals["send_offer"] if r.code == "offer_not_ready"],
        # A buyer without postal address or org.nr. stops invoices and credit notes: said once, beside them.
        "buyer_blockers": list(dict.fromkeys(str(r) for action in ("invoice", "credit") for r in refusals[action]
                                             if r.code.startswith("buyer_"))),
        "offer_outdated": offer if basis.status == Status.OFFER_SENT and services.offer_outdated(offer, basis, lines)
        else None,
        "settled_at": basis.settled_at,
        "payable": payable, "creditable": creditable,
    }


def _billing_summary(invoices) -> dict | None:
    """Invoiced, credited, paid, refunded and what is still owed (selectors.amount_owed per invoice)."""
    issued = [i for i in invoices if i.number is not None]
    if not issued:
        return None
    charges = [i for i in issued if i.kind != Invoice.Kind.CREDIT_NOTE]
    payments = [p for i in charges for p in i.payments.all() if p.status == Payment.Status.CONFIRMED]
    refunds = [p for p in payments if p.direction == Payment.Direction.REFUND]
    return {
        "invoiced": sum((i.gross_total for i in charges), services.ZERO),
        "credited": sum((i.gross_total for i in issued if i.kind == Invoice.Kind.CREDIT_NOTE), services.ZERO),
        "paid": sum((p.amount for p in payments if p.direction == Payment.Direction.PAYMENT), services.ZERO),
        "refunded": sum((p.amount for p in refunds), services.ZERO),
        # `outstanding` is the SQL annotation of selectors.basis_detail (= selectors.invoice_outstanding).
        "owed": sum((selectors.invoice_dues(i, outstanding=i.outstanding)["owed"] for i in charges), services.ZERO),
    }


def _mark_credited(rows, invoices) -> None:
    """A cost line credited by an issued credit note is marked with that note's number."""
    credited: dict[int, list[int]] = {}
    for cn in invoices:
        if cn.kind == Invoice.Kind.CREDIT_NOTE and cn.number is not None:
            for ln in cn.lines.all():
                if ln.cost_line_id:
                    credited.setdefault(ln.cost_line_id, []).append(cn.number)
    for row in rows:
        row["credited_by"] = credited.get(row["line"].pk, [])


CHANGE_CHIPS = {"sent": ("change-sent", "Venter på kundens svar"), "declined": ("change-declined", "Avslått av kunden"),
                "expired": ("change-expired", "Endringsvarsel utløpt")}


@functools.cache
def _lock_icon() -> str:
    return render_to_string("workspace/_lock_icon.html")


def write_line_rows(rows) -> None:
    """The markup of each line row that is not being edited (`row["html"]`), written in Python: through
    the template engine the row costs about 0.15 ms, most of the line table's time. The template
    (`workspace/_line_row.html`) stays the reference: tests/billing/views/test_line_rows.py renders rows
    of every kind both ways, in every language, and compares the bytes."""
    t = texts(("category", "Kategori"), ("description", "Beskrivelse"), ("quantity", "Antall"),
              ("unit_price", "Enhetspris"), ("vat", "MVA"), ("amount", "Beløp"), ("source", "Kilde"),
              ("change", "Endring"), ("actual", "Faktisk"), ("customer_caused", "Kundeforårsaket"),
              ("manual", "Manuell"), ("edit", "Endre"), ("delete", "Slett"),
              ("on_invoice", "Står på en utstedt faktura"), ("accepted_offer", "Akseptert tilbud"),
              ("accepted_offer_title", "Del av tilbudet kunden har akseptert; endringer legges inn som nye linjer "
                                       "med endringsvarsel"),
              ("accepted_change", "Akseptert endring"),
              ("accepted_change_title", "Kunden har akseptert endringen; den endres ikke før den er fakturert"))
    lock = _lock_icon()
    cells: dict = {}  # a category's and a VAT code's cell, written once per page (lines share them)
    for row in rows:
        if row["form"] is not None:
            continue
        line = row["line"]
        category = ("category", line.category.label)
        if category not in cells:
            cells[category] = escape(category_label(str(line.category.label or "")))
        vat = ("vat", line.vat_code.code, line.vat_code.rate)
        if vat not in cells:
            cells[vat] = escape(vat_label(line.vat_code))
        accepted_change = line.is_accepted_change
        chips = ""
        if row["credited_by"]:
            numbers = ", ".join(escape(str(n)) for n in row["credited_by"])
            chips += (' <span class="chip status-expired credited-line">'
                      f'{_("Kreditert (kreditnota %(n)s)") % {"n": numbers}}</span>')
        if line.is_change:
            chips += f' <span class="chip status-offer_sent">{t["change"]}</span>'
            if not line.invoice_id and line.change_status in CHANGE_CHIPS:
                css, text = CHANGE_CHIPS[line.change_status]
                chips += f' <span class="chip {css}">{_(text)}</span>'
        if line.phase == CostLine.Phase.ACTUAL:
            chips += f' <span class="chip status-invoiced">{t["actual"]}</span>'
        if line.customer_caused:
            chips += f' <span class="chip status-expired">{t["customer_caused"]}</span>'
        if row["locked"]:
            source = (f'<span class="chip locked-chip" title="{t["on_invoice"]}">{lock} '
                      f'{_("Faktura %(n)s") % {"n": escape(str(line.invoice.number))}}</span>')
        elif row["accepted_offer"]:
            source = (f'<span class="chip locked-chip" title="{t["accepted_offer_title"]}">{lock} '
                      f'{t["accepted_offer"]}</span>')
        elif accepted_change:
            source = (f'<span class="chip locked-chip" title="{t["accepted_change_title"]}">{lock} '
                      f'{t["accepted_change"]}</span>')
        elif row["external"]:
            source = (f'<span class="chip source-chip">{escape(display(line, "source"))}</span> '
                      f'<span class="muted">{escape(line.source_reference)}</span>')
        else:
            source = f'<span class="muted">{t["manual"]}</span>'
        actions = ""
        if row["editable"] and not accepted_change:
            actions = (
                '<div class="line-buttons">\n'
                f'          <button type="button" class="button small" hx-get="{escape(row["edit_url"])}" '
                f'hx-target="#lines" hx-swap="outerHTML" aria-label="{escape(row["edit_label"])}">{t["edit"]}</button>\n'
                f'          <button type="button" class="button small danger" hx-post="{escape(row["delete_url"])}" '
                f'hx-target="#lines" hx-swap="outerHTML" hx-confirm="{escape(row["delete_confirm"])}" '
                f'aria-label="{escape(row["delete_label"])}">{t["delete"]}</button>\n'
                '        </div>')
        css = "locked" if row["locked"] or accepted_change else "external" if row["external"] else ""
        html = (
            f'\n      <tr id="line-{line.pk}" class="{css}">\n'
            f'        <td data-label="{t["category"]}">{cells[category]}</td>\n'
            f'        <td class="card-title" data-label="{t["description"]}"><span class="cell">'
            f'{escape(line.description)}{chips}</span></td>\n'
            f'        <td class="num" data-label="{t["quantity"]}">{escape(qty(line.quantity))} {escape(line.unit)}</td>\n'
            f'        <td class="num" data-label="{t["unit_price"]}">{escape(nok_plain(line.unit_price))}</td>\n'
            f'        <td data-label="{t["vat"]}">{cells[vat]}</td>\n'
            f'        <td class="num amount" data-label="{t["amount"]}">{escape(nok_plain(line.amount))}</td>\n'
            f'        <td data-label="{t["source"]}"><span class="cell">{source}</span></td>\n'
            f'        <td class="line-actions">{actions}</td>\n'
            '      </tr>\n')
        # Our own escaped text and markup only, as the autoescaping template writes it.
        row["html"] = SafeString(html)  # nosec B703


def _template(name):
    """A partial of an upper app (e-mails, receipts) included by name when it exists."""
    try:
        get_template(name)
    except TemplateDoesNotExist:
        return None
    return name


def basis_form_initial(basis) -> dict:
    return {"title": basis.title, "customer": basis.customer_id, "site_street": basis.site_street,
            "site_postal_code": basis.site_postal_code, "site_city": basis.site_city,
            "metering_point_id": basis.metering_point_id, "order_date": basis.order_date,
            "prepayment_required": basis.prepayment_required, **BasisForm.customer_initial(basis.customer)}
