"""The final settlement (kontrollforskriften § 16-11): issue the final invoice(s) or credit note(s)
that settle the accepted estimate against the actual cost."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.clock import today
from billing.errors import BillingError, refuse
from billing.formatting import nok
from billing.models import Invoice, VatCode
from billing.money import ZERO
from billing.selectors import CONTRIBUTION_CATEGORY, final_settle_refusals, regime_of, settlement_preview
from billing.services.audit import audit
from billing.services.invoices import invoice_create
from billing.services.locking import lock_basis
from billing.services.payments import payment_state_refresh
from billing.services.wording import customer_language
from billing.status import Status, transition


@transaction.atomic
def final_settle(*, basis, by) -> list[Invoice]:
    """Issue the final invoice(s) or credit note(s) that settle estimate against actual cost. The
    settlement counts everything invoiced before it and every accepted estimate line (offer and accepted
    changes) whether invoiced or not; afterwards only credit notes may be issued on the basis. Settling
    a settled basis again changes nothing and returns []."""
    basis = lock_basis(basis)
    if basis.settled_at:
        return []
    refuse(final_settle_refusals(basis))
    preview = settlement_preview(basis)
    documents = []
    to_invoice: dict[str, list[dict]] = defaultdict(list)
    for code, s in preview.items():
        if s.difference == 0:
            continue
        vc = VatCode.objects.get(code=code)
        with customer_language(basis.customer):
            text = _("Sluttoppgjør: etterberegnet %(r)s (tak %(c)s), tidligere fakturert %(i)s") % {
                "r": nok(s.recalculated), "c": nok(s.cap), "i": nok(s.already_invoiced)}
            label = _("Sluttoppgjør")
        row = {"cost_line": None, "category_code": CONTRIBUTION_CATEGORY if code == "O" else "service",
               "category_label": label, "description": text, "quantity": Decimal("1"), "unit": "stk",
               "unit_price": abs(s.difference), "amount": abs(s.difference), "vat_code": code, "vat_rate": vc.rate,
               "customer_caused": False}
        if s.difference > 0:
            to_invoice[regime_of(code)].append(row)
        else:
            documents.extend(_settlement_credit(basis, by, code, -s.difference, row))
    with customer_language(basis.customer):
        final_note = _("Sluttfaktura etter kontrollforskriften § 16-11.")
    for regime, rows in sorted(to_invoice.items()):
        documents.append(invoice_create(basis=basis, by=by, kind=Invoice.Kind.FINAL, regime=regime, rows=rows,
                                         issue_date=today(), note=final_note))
    basis.settled_at = timezone.now()
    if basis.status != Status.INVOICED and any(d.kind == Invoice.Kind.FINAL for d in documents):
        old, new = transition(basis, "invoice")
    else:
        old = new = basis.status
    basis.save(update_fields=["status", "settled_at", "updated_at"])
    audit(action="billing.basis.final_settled", by=by, basis=basis, from_status=old, to_status=new,
          data={"settlement": {code: {k: str(v) for k, v in vars(s).items()} for code, s in preview.items()},
                "documents": [d.pk for d in documents]})
    for d in documents:
        if d.kind != Invoice.Kind.CREDIT_NOTE:
            payment_state_refresh(d, by=by)
    return documents


def _settlement_credit(basis, by, code, amount, row) -> list[Invoice]:
    """Credit `amount` of VAT code `code` against the newest invoices holding that code."""
    credits = []
    candidates = (basis.invoices.filter(number__isnull=False).exclude(kind=Invoice.Kind.CREDIT_NOTE)
                  .filter(lines__vat_code=code).distinct().order_by("-issue_date", "-number"))
    for inv in candidates:
        if amount <= 0:
            break
        room = sum((ln.amount for ln in inv.lines.all() if ln.vat_code == code), ZERO) - sum(
            (ln.amount for cn in inv.credit_notes.filter(number__isnull=False) for ln in cn.lines.all()
             if ln.vat_code == code), ZERO)
        take = min(room, amount)
        if take <= 0:
            continue
        credit_row = dict(row, unit_price=take, amount=take)
        with customer_language(basis.customer):
            note = _("Sluttoppgjør: tilbakebetaling av for mye innbetalt "
                     "(kontrollforskriften § 16-11). Krediterer faktura %s.") % inv.number
        credit = invoice_create(basis=basis, by=by, kind=Invoice.Kind.CREDIT_NOTE, regime=inv.vat_regime,
                                 rows=[credit_row], issue_date=today(), credited=inv, note=note)
        credits.append(credit)
        amount -= take
        payment_state_refresh(inv, by=by)
    if amount > 0:
        raise BillingError(_("Det er ikke nok fakturert å kreditere (mangler %s).") % amount)
    return credits

