"""What the basis page shows, shared by the views that render it whole or in part (bases.py, lines.py,
actions.py): the lines with what may be done to each, totals, the actions on offer and why others are
refused, invoices, payments and the timeline."""

from django.http import Http404
from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.urls import reverse
from django.utils.translation import gettext as _

from .. import selectors, services
from ..forms import BasisForm, LineForm
from ..models import CostLine, Invoice, InvoiceBasis, Payment
from ..status import Status

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
        "add_form": extra.pop("add_form", None) or LineForm(categories=categories, vat_codes=vat_codes,
                                                            prefix="new", initial={"unit": "stk"}),
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
    _mark_credited(context["line_rows"], invoices)
    context.update(extra)
    return context


def _line_rows(basis, lines, categories, vat_codes, *, edit_line=None, edit_form=None):
    """Each line with what may be done to it; an editable one with its edit and delete addresses and the
    buttons' accessible names (built here, once per line, rather than by template tags)."""
    rows = []
    for line in lines:
        row = {"line": line, "locked": line.invoice_id is not None,
               "accepted_offer": services.is_accepted_offer_line(line, basis),
               "external": line.source != CostLine.Source.MANUAL, "form": None}
        row["editable"] = (not row["locked"] and not row["accepted_offer"] and not row["external"]
                           and _lines_editable(basis))
        if row["editable"]:
            named = {"d": line.description}
            row.update(edit_url=reverse("billing:line_edit", args=[basis.pk, line.pk]),
                       delete_url=reverse("billing:line_delete", args=[basis.pk, line.pk]),
                       edit_label=_("Endre «%(d)s»") % named, delete_label=_("Slett «%(d)s»") % named,
                       delete_confirm=_("Slette linjen «%(d)s»?") % named)
        if edit_line is not None and line.pk == edit_line.pk:
            row["form"] = edit_form or LineForm(initial=LineForm.initial_for(line), categories=categories,
                                                vat_codes=vat_codes, prefix=f"l{line.pk}",
                                                form_id=f"line-form-{line.pk}")
        rows.append(row)
    return rows


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
    profile = selectors.reference("profile").profile
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
