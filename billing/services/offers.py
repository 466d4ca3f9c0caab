"""The offer: send (a new version when the content changed), accept, decline, expire, cancel the
basis. The customer's e-mails about them follow the audit events (offers/receivers.py)."""

from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.clock import today
from billing.errors import BillingError, InvalidInput, StrongerLoginRequired, TransitionError, refuse
from billing.evidence import STAFF_EVIDENCE, LoginEvidence, bankid_refusal
from billing.models import Acceptance, CompanyProfile, InvoiceBasis, Offer
from billing.selectors import (
    basis_totals,
    current_offer,
    offer_accept_refusals,
    offer_lines,
    offer_send_refusals,
    offer_snapshot,
)
from billing.services.audit import actor, audit
from billing.services.invoices import invoices_issue
from billing.services.locking import lock_basis
from billing.services.work_release import work_release_refresh
from billing.status import Status, transition

log = logging.getLogger(__name__)


def offer_outdate_if_changed(basis, *, by) -> None:
    """After an edit of a basis whose offer is out: mark the sent version outdated (once, audited) when
    its content (lines, base deduction) no longer matches."""
    if basis.status != Status.OFFER_SENT:
        return
    offer = current_offer(basis)
    if offer is None or offer.outdated_at or offer_snapshot(basis, offer_lines(basis)) == offer.snapshot:
        return
    offer.outdated_at = timezone.now()
    offer.save(update_fields=["outdated_at"])
    audit(action="billing.offer.outdated", by=by, basis=basis,
          data={"offer": offer.pk, "version": offer.version, "gross": str(offer.gross)})


@transaction.atomic
def offer_send(*, basis, by, valid_until: dt.date | None = None) -> Offer:
    """Send (or re-send, making a new version) the offer. Same content twice: the same version."""
    basis = lock_basis(basis)
    profile = CompanyProfile.load()
    valid_until = valid_until or (today() + dt.timedelta(days=profile.offer_validity_days))
    refuse(offer_send_refusals(basis, valid_until, profile=profile))
    lines = offer_lines(basis)
    totals = basis_totals(basis, lines)
    snapshot = offer_snapshot(basis, lines)
    current = basis.offers.filter(kind="offer").order_by("-version").first()
    if (basis.status == Status.OFFER_SENT and current and current.snapshot == snapshot
            and current.valid_until == valid_until and not current.outdated_at):
        return current  # nothing changed: idempotent
    old, new = transition(basis, "send_offer")
    basis.offer_version = (current.version if current else 0) + 1
    basis.offer_valid_until = valid_until
    basis.save(update_fields=["status", "offer_version", "offer_valid_until", "updated_at"])
    offer = Offer.objects.create(basis=basis, version=basis.offer_version, valid_until=valid_until,
                                 net=totals.net, vat=totals.vat, gross=totals.gross, snapshot=snapshot,
                                 sent_by=actor(by)[0])
    audit(action="billing.basis.offer_sent", by=by, basis=basis, from_status=old, to_status=new,
          data={"offer": offer.pk, "version": offer.version, "valid_until": valid_until.isoformat(),
                "gross": str(totals.gross)})
    return offer


@transaction.atomic
def offer_accept(*, basis, by, offer: Offer | None = None, channel: str = Acceptance.Channel.PORTAL,
                 ip_address: str | None = None, user_agent: str = "", pdf_sha256: str = "",
                 note: str = "", evidence: LoginEvidence | None = None) -> Acceptance:
    """Accept the newest offer. Accepting the same offer twice gives the first acceptance back.

    `evidence` is how the customer had logged in (billing/evidence.py); above ACCEPTANCE_BANKID_ABOVE a
    portal acceptance needs a recent BankID authentication. A case worker registering a paper or phone
    acceptance is recorded as such (the note says how the customer answered)."""
    basis = lock_basis(basis)
    newest = current_offer(basis)
    offer = offer or newest
    if offer is None:
        raise TransitionError(_("Det finnes ikke noe tilbud å akseptere."))
    existing = Acceptance.objects.filter(offer=offer).first()
    if existing and existing.decision == "accepted":
        return existing
    refuse(offer_accept_refusals(basis, offer))
    if channel != Acceptance.Channel.PORTAL and not note:
        raise InvalidInput(_("Skriv et notat om hvordan kunden aksepterte (papir eller telefon)."),
                           fields={"note": ["required"]})
    if channel == Acceptance.Channel.PORTAL:
        problem = bankid_refusal(offer.gross, evidence)
        if problem:
            raise StrongerLoginRequired(problem)
    else:
        evidence = STAFF_EVIDENCE
    old, new = transition(basis, "accept")
    basis.accepted_at = timezone.now()
    basis.save(update_fields=["status", "accepted_at", "updated_at"])
    acceptance = Acceptance.objects.create(
        basis=basis, offer=offer, decision="accepted", channel=channel, user=actor(by)[0],
        ip_address=ip_address, user_agent=(user_agent or "")[:500], offer_version=offer.version,
        pdf_sha256=pdf_sha256 or offer.pdf_sha256, note=note, **(evidence.as_fields() if evidence else {}))
    audit(action="billing.basis.accepted", by=by, basis=basis, from_status=old, to_status=new, note=note,
          data={"offer_version": offer.version, "channel": channel, "pdf_sha256": acceptance.pdf_sha256,
                "login_method": acceptance.login_method, "acr": acceptance.auth_acr})
    if basis.prepayment_required:
        invoices_issue(basis=basis, by=by)
    work_release_refresh(basis, by=by)
    return acceptance


@transaction.atomic
def offer_decline(*, basis, by, reason: str = "", offer: Offer | None = None,
                  channel: str = Acceptance.Channel.PORTAL, ip_address=None, user_agent="",
                  evidence: LoginEvidence | None = None) -> Acceptance:
    basis = lock_basis(basis)
    offer = offer or current_offer(basis)
    if offer is None:
        raise TransitionError(_("Det finnes ikke noe tilbud å avslå."))
    existing = Acceptance.objects.filter(offer=offer).first()
    if existing:
        if existing.decision == "declined":
            return existing
        raise TransitionError(_("Tilbudet er allerede akseptert."))
    if channel != Acceptance.Channel.PORTAL:
        evidence = STAFF_EVIDENCE
    old, new = transition(basis, "decline")
    basis.save(update_fields=["status", "updated_at"])
    answer = Acceptance.objects.create(basis=basis, offer=offer, decision="declined", channel=channel,
                                       user=actor(by)[0], ip_address=ip_address,
                                       user_agent=(user_agent or "")[:500], offer_version=offer.version,
                                       pdf_sha256=offer.pdf_sha256, note=reason,
                                       **(evidence.as_fields() if evidence else {}))
    audit(action="billing.basis.declined", by=by, basis=basis, from_status=old, to_status=new, note=reason)
    return answer


@transaction.atomic
def offer_expire(*, basis, by=None, on: dt.date | None = None) -> bool:
    """Move an unanswered offer past its validity to Utløpt. Returns True if it moved."""
    basis = lock_basis(basis)
    on = on or today()
    if basis.status != Status.OFFER_SENT or not basis.offer_valid_until or basis.offer_valid_until >= on:
        return False
    old, new = transition(basis, "expire")
    basis.save(update_fields=["status", "updated_at"])
    audit(action="billing.basis.expired", by=by, basis=basis, from_status=old, to_status=new,
          data={"valid_until": basis.offer_valid_until.isoformat()})
    return True


@transaction.atomic
def basis_cancel(*, basis, by, reason: str) -> InvoiceBasis:
    basis = lock_basis(basis)
    if basis.status == Status.CANCELLED:
        return basis
    if not (reason or "").strip():
        raise InvalidInput(_("Oppgi en grunn for kanselleringen."), fields={"reason": ["required"]})
    old, new = transition(basis, "cancel")
    basis.save(update_fields=["status", "updated_at"])
    audit(action="billing.basis.cancelled", by=by, basis=basis, from_status=old, to_status=new, note=reason)
    work_release_refresh(basis, by=by)
    return basis


def offers_expire_due(*, on: dt.date | None = None) -> list[str]:
    """The daily job: every offer past its validity → Utløpt (each in its own transaction)."""
    on = on or today()
    expired = []
    for pk in InvoiceBasis.objects.filter(status=Status.OFFER_SENT, offer_valid_until__lt=on) \
            .values_list("pk", flat=True).order_by("pk"):
        try:
            if offer_expire(basis=pk, on=on):
                expired.append(pk)
        except BillingError:
            log.exception("offer expiry failed for basis %s", pk)
    return [b.number for b in InvoiceBasis.objects.filter(pk__in=expired)]

