"""Why an action is refused now: each `*_refusals` guard returns a list of `billing.errors.Refusal`
(empty: the action may run). The service raises them with `refuse`; the pages offer an action only
when its list is empty, so the button and the service agree."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext as _

from billing.clock import today
from billing.errors import ConflictError, InvalidInput, Refusal, TransitionError
from billing.models import ChangeNotice, CompanyProfile, CostCategory, CostLine, Invoice, Offer, VatCode
from billing.selectors.overviews import change_lines_pending
from billing.selectors.owed import invoice_credited_amount
from billing.selectors.reference import company_profile
from billing.selectors.totals import accepted_offer, change_line_accepted, current_offer, offer_outdated
from billing.status import AFTER_ACCEPTANCE, can, target


def status_refusals(basis, action: str) -> list[Refusal]:
    if can(basis.status, action):
        return []
    try:
        target(basis.status, action)
    except TransitionError as exc:
        return [Refusal(exc.message)]
    return []  # pragma: no cover - can() and target() read the same table


def vat_registration_error(profile: CompanyProfile, vat_codes) -> str | None:
    """A company that is not VAT-registered may not charge VAT: every line must be outside VAT (O).
    (An EHF with S, E or Z needs the seller's VAT number, BR-S-02/BR-E-02/BR-Z-02.)"""
    if profile.vat_registered:
        return None
    taxable = sorted({code for code in vat_codes if code != "O"})
    if not taxable:
        return None
    return _("Selskapet er ikke MVA-registrert og kan ikke fakturere MVA: linjer med MVA-kode %(codes)s må "
             "ha kode O, eller selskapet må registreres som MVA-registrert under Selskap.") % {
        "codes": ", ".join(taxable)}


# "Not passed": the guard looks it up itself (None is a real value for some arguments).
UNSET = object()


def _profile(profile=UNSET) -> CompanyProfile | None:
    return company_profile() if profile is UNSET else profile


def offer_guard_errors(basis, valid_until: dt.date | None = None, *, lines=None, profile=UNSET) -> list[str]:
    """What in the basis' content stops an offer from being sent (empty when it may be sent). `lines`
    (every line of the basis, with VAT codes) and `profile` may be passed when the caller has them."""
    errors = []
    if lines is None:
        codes = set(basis.lines.filter(phase=CostLine.Phase.ESTIMATE).values_list("vat_code__code", flat=True))
    else:
        codes = {ln.vat_code.code for ln in lines if ln.phase == CostLine.Phase.ESTIMATE}
    if not codes:
        errors.append(_("Tilbudet må ha minst én kostnadslinje."))
    profile = _profile(profile)
    if profile and (vat_error := vat_registration_error(profile, codes)):
        errors.append(vat_error)
    if not basis.customer_id:
        errors.append(_("Grunnlaget mangler kunde."))
    elif not basis.customer.email:
        errors.append(_("Kunden mangler e-postadresse."))
    if valid_until is not None and valid_until < today():
        errors.append(_("Gyldighetsdatoen er passert."))
    return errors


def offer_send_refusals(basis, valid_until: dt.date | None = None, **known) -> list[Refusal]:
    """Why the offer cannot be sent now (empty: it may be sent). `known`: see `offer_guard_errors`."""
    status = status_refusals(basis, "send_offer")
    if status:
        return status
    return [Refusal(e, code="offer_not_ready", error=InvalidInput)
            for e in offer_guard_errors(basis, valid_until, **known)]


def offer_accept_refusals(basis, offer: Offer | None = None, *, newest=UNSET, lines=None) -> list[Refusal]:
    """Why `offer` (default: the newest) cannot be accepted now (empty: it may be). The newest offer
    (`newest`, may be None) and every line of the basis (`lines`) may be passed when the caller has them."""
    newest = current_offer(basis) if newest is UNSET else newest
    offer = offer or newest
    if offer is None:
        return [Refusal(_("Det finnes ikke noe tilbud å akseptere."), code="no_offer")]
    answer = offer.acceptances.first()
    if answer is not None:
        if answer.decision == "accepted":
            return [Refusal(_("Tilbudet er allerede akseptert."), code="already_accepted")]
        return [Refusal(_("Tilbudet er allerede avslått."), code="already_declined")]
    if newest and offer.pk != newest.pk:
        return [Refusal(_("Dette tilbudet er erstattet av en nyere versjon (versjon %d). "
                          "Åpne det nyeste tilbudet.") % newest.version, code="superseded")]
    status = status_refusals(basis, "accept")
    if status:
        return status
    if offer.valid_until < today():
        return [Refusal(_("Tilbudet utløp %s og kan ikke lenger aksepteres.")
                        % offer.valid_until.strftime("%d.%m.%Y"), code="expired")]
    if offer_outdated(offer, basis, lines):
        return [Refusal(_("Tilbudet (versjon %d) er endret etter at det ble sendt og kan ikke aksepteres. "
                          "Nettselskapet sender en ny versjon.") % offer.version, code="offer_outdated",
                        error=ConflictError)]
    return []


def buyer_refusals(customer) -> list[Refusal]:
    """A sales document names its buyer with a postal address or an organisation number
    (bokføringsforskriften § 5-1-1): the refusal when the customer has neither."""
    if customer is None:
        return [Refusal(_("Grunnlaget har ingen kunde – velg eller opprett kunden under «Endre kunde og anlegg»."),
                        code="buyer_missing", error=InvalidInput)]
    has_address = all((getattr(customer, f) or "").strip() for f in ("street", "postal_code", "city"))
    if has_address or customer.orgnr:
        return []
    return [Refusal(_("Kunden mangler postadresse (gate, postnummer og sted) eller organisasjonsnummer – "
                      "fyll inn under «Endre kunde og anlegg»."), code="buyer_address_missing", error=InvalidInput)]


def _row(line: CostLine, sign=1) -> dict:
    return {"cost_line": line, "category_code": line.category.code, "category_label": line.category.label,
            "description": line.description, "quantity": line.quantity, "unit": line.unit,
            "unit_price": line.unit_price * sign, "amount": line.amount * sign, "vat_code": line.vat_code.code,
            "vat_rate": line.vat_code.rate, "customer_caused": line.customer_caused}


def _offer_row(line: CostLine, entry: dict, categories: dict, vat_codes: dict) -> dict:
    """An invoice row for an offer line, from the accepted offer's snapshot (the agreement), not from
    the live line: what is invoiced as the estimate is what the customer accepted, to the øre."""
    category = categories.get(entry["category"]) or line.category
    vat = vat_codes.get(entry["vat_code"]) or line.vat_code
    return {"cost_line": line, "category_code": entry["category"], "category_label": category.label,
            "description": entry["description"], "quantity": Decimal(entry["quantity"]), "unit": entry["unit"],
            "unit_price": Decimal(entry["unit_price"]), "amount": Decimal(entry["amount"]),
            "vat_code": entry["vat_code"], "vat_rate": vat.rate, "customer_caused": entry["customer_caused"]}


def invoice_plan(basis, *, lock: bool = False, lines=None, categories=None, vat_codes=None,
                 profile=UNSET) -> tuple[list[tuple[CostLine, dict]], Offer | None, list[Refusal]]:
    """What `invoices_issue` would invoice now: (line, row) pairs, the accepted offer, and the reasons it
    is refused (empty when it may run). Offer lines are priced from the accepted offer's snapshot,
    accepted change lines from the line itself (their notice's snapshot is checked when answered).
    A page that only asks (no `lock`) may pass what it has loaded already: every line of the basis with
    category, VAT code and change notice (`lines`), the categories, the VAT codes and the profile."""
    refusals = status_refusals(basis, "invoice") if basis.status not in AFTER_ACCEPTANCE else []
    if refusals:
        return [], None, refusals
    if basis.settled_at:
        return [], None, [Refusal(_("Sluttoppgjøret er utført %s: det kan ikke utstedes flere fakturaer på "
                                    "grunnlaget, bare kreditnotaer.") % timezone.localtime(basis.settled_at)
                                  .strftime("%d.%m.%Y"), code="settled")]
    if lines is not None and not lock:
        query = sorted((ln for ln in lines if ln.invoice_id is None and ln.phase == CostLine.Phase.ESTIMATE),
                       key=lambda ln: (ln.position, ln.pk))
    else:
        query = (CostLine.objects.filter(basis=basis, invoice__isnull=True, phase=CostLine.Phase.ESTIMATE)
                 .select_related("category", "vat_code", "change_notice").order_by("position", "id"))
        if lock:
            query = query.select_for_update(of=("self",))
    pending = [ln for ln in query if change_line_accepted(ln)]
    if not pending:
        return [], None, [Refusal(_("Det er ingen nye kostnadslinjer å fakturere."), code="nothing_to_invoice")]
    offer = accepted_offer(basis)
    agreed = {entry["id"]: entry for entry in ((offer.snapshot or {}).get("lines", []) if offer else [])}
    categories = {c.code: c for c in (CostCategory.objects.all() if categories is None else categories)}
    vat_codes = {v.code: v for v in (VatCode.objects.all() if vat_codes is None else vat_codes)}
    plan, strays = [], []
    for ln in pending:
        if ln.is_change:
            plan.append((ln, _row(ln)))
        elif ln.pk in agreed:
            plan.append((ln, _offer_row(ln, agreed[ln.pk], categories, vat_codes)))
        else:
            strays.append(ln.description)
    if strays:
        refusals.append(Refusal(_("Linjene %s er ikke med i tilbudet kunden aksepterte og kan ikke faktureres. "
                                  "Send dem som endring med endringsvarsel.") % ", ".join(f"«{d}»" for d in strays),
                                code="not_in_offer", error=ConflictError))
    refusals.extend(buyer_refusals(basis.customer))
    profile = _profile(profile)
    if profile and (vat_error := vat_registration_error(profile, {row["vat_code"] for _ln, row in plan})):
        refusals.append(Refusal(vat_error, code="not_vat_registered", error=InvalidInput))
    return plan, offer, refusals


def invoices_issue_refusals(basis, **known) -> list[Refusal]:
    """Why «Utsted faktura» is refused now (empty: it may be issued). `known`: see `invoice_plan`."""
    return invoice_plan(basis, **known)[2]


def invoice_credit_refusals(invoice, credited: Decimal | None = None, basis=None) -> list[Refusal]:
    """Why `invoice` cannot be credited now (empty: it may be). `credited` and the invoice's `basis` may
    be passed when the caller has them already (the basis page annotates and loads them)."""
    if invoice.number is None or invoice.kind == Invoice.Kind.CREDIT_NOTE:
        return [Refusal(_("Bare utstedte fakturaer kan krediteres."), code="not_issued", error=InvalidInput)]
    credited = invoice_credited_amount(invoice) if credited is None else credited
    if invoice.gross_total - credited <= 0:
        return [Refusal(_("Fakturaen er allerede kreditert i sin helhet."), code="already_credited")]
    return buyer_refusals((basis or invoice.basis).customer)


def final_settle_refusals(basis) -> list[Refusal]:
    """Why the final settlement cannot be issued now (empty: it may be). Everything pending must be
    decided first, so the settlement accounts for it: a change notice awaiting the customer's answer,
    or change lines not yet sent to the customer."""
    if basis.status not in AFTER_ACCEPTANCE:
        return [Refusal(_("Sluttoppgjør krever et akseptert tilbud."))]
    if basis.settled_at:
        return [Refusal(_("Sluttoppgjøret er allerede utført %s.")
                        % timezone.localtime(basis.settled_at).strftime("%d.%m.%Y"), code="already_settled")]
    refusals = []
    if not basis.lines.filter(phase=CostLine.Phase.ACTUAL).exists():
        refusals.append(Refusal(_("Registrer faktiske kostnader før sluttoppgjøret."), code="no_actuals",
                                error=InvalidInput))
    if basis.change_notices.filter(status=ChangeNotice.Status.SENT).exists():
        refusals.append(Refusal(_("Et endringsvarsel venter på svar fra kunden. Vent på svaret (eller at "
                                  "svarfristen går ut) før sluttoppgjøret."), code="change_pending"))
    if basis.lines.filter(is_change=True, phase=CostLine.Phase.ESTIMATE, invoice__isnull=True,
                          change_notice__isnull=True).exists():
        refusals.append(Refusal(_("Endringslinjer er ikke varslet kunden. Send endringsvarsel eller fjern "
                                  "linjene før sluttoppgjøret."), code="change_unnotified"))
    return refusals


def change_notice_send_refusals(basis, lines: list[CostLine] | None = None) -> list[Refusal]:
    """Why a change notice cannot be sent now (empty: it may be)."""
    if basis.status not in AFTER_ACCEPTANCE:
        return [Refusal(_("Endringsvarsel sendes etter at kunden har akseptert tilbudet."), code="not_accepted")]
    if basis.settled_at:
        return [Refusal(_("Sluttoppgjøret er utført; endringer varsles ikke lenger."), code="settled")]
    refusals = []
    if not (change_lines_pending(basis) if lines is None else lines):
        refusals.append(Refusal(_("Det er ingen nye endringer å varsle kunden om."), code="no_changes",
                                error=InvalidInput))
    if not basis.customer or not basis.customer.email:
        refusals.append(Refusal(_("Kunden mangler e-postadresse."), code="no_email", error=InvalidInput))
    return refusals

