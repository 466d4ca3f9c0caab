"""Change notices (endringsvarsel): changes after acceptance are sent to the customer, who accepts
or declines them; unanswered notices expire at their answer deadline.

A change line (added after acceptance) is invoiced only once the customer accepted the change notice
that carried it (`billing.selectors.change_line_accepted`). Declined lines stay on the basis, marked
declined; so do the lines of a notice that expired unanswered (silence is not acceptance).
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from billing import money
from billing.clock import today
from billing.errors import (
    BillingError,
    ConflictError,
    InvalidInput,
    StrongerLoginRequired,
    TransitionError,
    refuse,
)
from billing.evidence import STAFF_EVIDENCE, LoginEvidence, bankid_refusal
from billing.models import ChangeNotice, CompanyProfile, CostLine
from billing.selectors import (
    accepted_estimate,
    change_lines_pending,
    change_notice_send_refusals,
)
from billing.services.audit import actor, audit
from billing.services.locking import lock_basis
from billing.status import AFTER_ACCEPTANCE, Status, transition

log = logging.getLogger(__name__)


def _change_snapshot(lines) -> dict:
    return {"lines": [{"id": ln.pk, "category": ln.category.code, "category_label": ln.category.label,
                       "description": ln.description, "quantity": str(ln.quantity), "unit": ln.unit,
                       "unit_price": str(ln.unit_price), "amount": str(ln.amount), "vat_code": ln.vat_code.code,
                       "vat_rate": str(ln.vat_code.rate), "customer_caused": ln.customer_caused}
                      for ln in sorted(lines, key=lambda x: (x.position, x.pk))]}


@transaction.atomic
def change_notice_send(*, basis, by, valid_until: dt.date | None = None) -> ChangeNotice:
    """Send the pending change to the customer as a change notice (its PDF and e-mail follow the audit
    event). A newer send supersedes an unanswered older version; the same content and validity again
    returns the same notice."""
    basis = lock_basis(basis)
    lines = change_lines_pending(basis) if basis.status in AFTER_ACCEPTANCE else []
    refuse(change_notice_send_refusals(basis, lines))
    profile = CompanyProfile.load()
    valid_until = valid_until or (today() + dt.timedelta(days=profile.offer_validity_days))
    if valid_until < today():
        raise InvalidInput(_("Svarfristen er passert."), fields={"valid_until": ["past"]})
    snapshot = _change_snapshot(lines)
    current = basis.change_notices.filter(status=ChangeNotice.Status.SENT).order_by("-version").first()
    if current and current.snapshot == snapshot and current.valid_until == valid_until:
        return current
    if current:
        transition(current, "supersede")
        current.save(update_fields=["status"])
    change = money.totals((ln.vat_code.code, ln.vat_code.rate, ln.amount) for ln in lines)
    before = accepted_estimate(basis)
    after = accepted_estimate(basis, extra_lines=lines)
    version = (basis.change_notices.aggregate(m=Max("version"))["m"] or 0) + 1
    notice = ChangeNotice.objects.create(
        basis=basis, version=version, valid_until=valid_until, snapshot=snapshot, net=change.net,
        vat=change.vat, gross=change.gross, new_estimate_gross=after.gross, sent_by=actor(by)[0])
    CostLine.objects.filter(pk__in=[ln.pk for ln in lines]).update(change_notice=notice)
    # The notice's PDF and its e-mail follow this event (offers/receivers.py); the event carries what
    # the document shows besides the notice row (the accepted estimate before the change).
    audit(action="billing.change_notice.sent", by=by, basis=basis,
          data={"change_notice": notice.pk, "version": version, "gross": str(change.gross),
                "estimate_before_gross": str(before.gross), "new_estimate_gross": str(after.gross),
                "valid_until": valid_until.isoformat(), "lines": [ln.pk for ln in lines],
                "superseded": current.version if current else None})
    return notice


@transaction.atomic
def change_notice_answer(*, notice, by, decision: str, channel: str = "portal", ip_address: str | None = None,
                         user_agent: str = "", pdf_sha256: str = "", note: str = "",
                         evidence: LoginEvidence | None = None) -> ChangeNotice:
    """The customer accepts or declines a change notice (bound to its version and PDF hash).
    The same answer twice returns the notice unchanged; the other answer after one is refused.

    Accepting in the portal a notice whose own gross (the added amount the customer commits to) is
    above ACCEPTANCE_BANKID_ABOVE needs a recent BankID authentication, as an offer does; declining
    commits the customer to nothing and never does."""
    if decision not in ("accepted", "declined"):
        raise InvalidInput(_("Ukjent svar."), fields={"decision": ["invalid"]})
    # Lock order basis → notice, as in change_notice_send and change_notice_expire.
    basis = lock_basis(ChangeNotice.objects.values_list("basis_id", flat=True).get(pk=notice.pk))
    notice = ChangeNotice.objects.select_for_update().get(pk=notice.pk)
    target = ChangeNotice.Status.ACCEPTED if decision == "accepted" else ChangeNotice.Status.DECLINED
    if notice.status == target:
        return notice
    if notice.status in (ChangeNotice.Status.ACCEPTED, ChangeNotice.Status.DECLINED):
        raise TransitionError(_("Endringsvarselet er allerede besvart (%s).") % notice.get_status_display(),
                              code="already_answered")
    if notice.status == ChangeNotice.Status.EXPIRED:
        raise TransitionError(_("Svarfristen for endringsvarselet gikk ut %s. Be nettselskapet om et nytt varsel.")
                              % notice.valid_until.strftime("%d.%m.%Y"), code="expired")
    if notice.status == ChangeNotice.Status.SUPERSEDED:
        newest = basis.change_notices.order_by("-version").first()
        raise TransitionError(_("Dette endringsvarselet er erstattet av en nyere versjon (versjon %d). "
                                "Åpne det nyeste varselet.") % newest.version, code="superseded")
    if basis.status == Status.CANCELLED:
        raise TransitionError(_("Saken er kansellert."), code="cancelled")
    if decision == "accepted" and notice.valid_until < today():
        raise TransitionError(_("Svarfristen for endringsvarselet gikk ut %s. Be nettselskapet om et nytt varsel.")
                              % notice.valid_until.strftime("%d.%m.%Y"), code="expired")
    if pdf_sha256 and notice.pdf_sha256 and pdf_sha256 != notice.pdf_sha256:
        raise ConflictError(_("Dokumentet du svarte på er ikke det gjeldende endringsvarselet."),
                            code="document_mismatch")
    current = _change_snapshot(notice.lines.select_related("category", "vat_code"))
    if current != notice.snapshot:
        raise ConflictError(_("Endringene er justert etter at varselet ble sendt; nettselskapet må sende et "
                              "nytt endringsvarsel."), code="stale")
    if channel != "portal" and not (note or "").strip():
        raise InvalidInput(_("Skriv et notat om hvordan kunden svarte (papir eller telefon)."),
                           fields={"note": ["required"]})
    if channel != "portal":
        evidence = STAFF_EVIDENCE
    elif decision == "accepted":
        problem = bankid_refusal(notice.gross, evidence)
        if problem:
            raise StrongerLoginRequired(problem)
    transition(notice, "accept" if decision == "accepted" else "decline")
    notice.answered_by = actor(by)[0]
    notice.answered_at = timezone.now()
    notice.answer_channel = channel
    notice.ip_address = ip_address or None
    notice.user_agent = (user_agent or "")[:500]
    notice.answer_pdf_sha256 = pdf_sha256 or notice.pdf_sha256
    notice.answer_note = note or ""
    for field, value in (evidence or LoginEvidence(method="")).as_fields(prefix="answer_").items():
        setattr(notice, field, value)
    notice.save()
    audit(action=f"billing.change_notice.{decision}", by=by, basis=basis, note=note,
          data={"change_notice": notice.pk, "version": notice.version, "gross": str(notice.gross),
                "channel": channel, "pdf_sha256": notice.answer_pdf_sha256, "ip": ip_address or "",
                "login_method": notice.answer_login_method, "acr": notice.answer_auth_acr})
    return notice


@transaction.atomic
def change_notice_expire(*, notice, by=None, on: dt.date | None = None) -> bool:
    """Mark an unanswered change notice past its answer deadline as expired (Utløpt). True if it moved;
    False when it was answered, superseded or expired already, or is still within its deadline (so the
    job may run any number of times). Its lines are then handled like a declined notice's: they stay on
    the basis, shown as expired, and are neither invoiced nor part of the accepted estimate."""
    on = on or today()
    pk = getattr(notice, "pk", notice)
    basis = lock_basis(ChangeNotice.objects.values_list("basis_id", flat=True).get(pk=pk))
    notice = ChangeNotice.objects.select_for_update().get(pk=pk)
    if notice.status != ChangeNotice.Status.SENT or notice.valid_until >= on:
        return False
    transition(notice, "expire")
    notice.save(update_fields=["status"])
    audit(action="billing.change_notice.expired", by=by, basis=basis,
          data={"change_notice": notice.pk, "version": notice.version, "gross": str(notice.gross),
                "valid_until": notice.valid_until.isoformat(),
                "lines": list(notice.lines.order_by("pk").values_list("pk", flat=True))})
    return True


def change_notices_expire_due(*, on: dt.date | None = None) -> list[tuple[str, int]]:
    """The daily job: every unanswered change notice past its deadline → Utløpt, each in its own
    transaction. Returns (basis number, version) of each notice that expired now."""
    on = on or today()
    expired = []
    for pk in ChangeNotice.objects.filter(status=ChangeNotice.Status.SENT, valid_until__lt=on) \
            .values_list("pk", flat=True).order_by("pk"):
        try:
            if change_notice_expire(notice=pk, on=on):
                expired.append(pk)
        except ChangeNotice.DoesNotExist:
            continue  # its basis was deleted meanwhile
        except BillingError:
            log.exception("change notice expiry failed for notice %s", pk)
    return [(n.basis.number, n.version) for n in
            ChangeNotice.objects.filter(pk__in=expired).select_related("basis").order_by("pk")]

