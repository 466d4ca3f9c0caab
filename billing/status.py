"""The status machines of billing — the only place that knows which moves are allowed.

One table per row whose status carries a rule: invoice basis, invoice, payment, change notice and
ten-year refund. A table maps an event to its moves `{from status: to status}`.

- `transition(obj, event)` checks the move against the table and sets `obj.status` in memory (the
  caller saves and audits); `transition_to(obj, status)` does the same when the caller derives the
  target, as an invoice's paid state is derived from its payments and credits.
- `claim(Model, event)` gives the filter and the update of a conditional UPDATE that moves only the
  rows the event may move (`Model.objects.filter(pk=…, **lookup).update(**change)`).
- `initial(Model, status)` checks the status a new row is created with (a payment recorded as already
  confirmed, an invoice issued at once).

No code outside this module assigns a status of these rows (tests/billing/test_status.py scans for it).

Not here, by decision: delivery and job rows — outbound e-mail (offers), notifications (integrations),
ERP export batches, bank imports and bank transactions, bulk-job items. Their status records the
progress of one delivery attempt (queued → sending → sent, or back to queued for a retry), claimed and
set by the one function that delivers them; no rule of the domain reads it. A card checkout attempt
(portal) has no status of its own: its Payment row is the state.

Pure: no ORM queries, no model imports; models import their status choices from here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import models
from django.utils.translation import gettext_lazy as _

from .errors import TransitionError

# --- status choices -------------------------------------------------------------------------------


class Status(models.TextChoices):
    """The invoice basis (`InvoiceBasis.Status`)."""

    DRAFT = "draft", _("Under arbeid")
    OFFER_SENT = "offer_sent", _("Tilbud sendt")
    ACCEPTED = "accepted", _("Akseptert")
    DECLINED = "declined", _("Avslått")
    EXPIRED = "expired", _("Utløpt")
    INVOICED = "invoiced", _("Faktura sendt")
    PAID = "paid", _("Faktura betalt")
    CANCELLED = "cancelled", _("Kansellert")


BasisStatus = Status
STATUS_CHOICES = Status.choices


class InvoiceStatus(models.TextChoices):
    DRAFT = "draft", _("Utkast")
    ISSUED = "issued", _("Utstedt")
    SENT = "sent", _("Sendt")
    PAID = "paid", _("Betalt")
    CREDITED = "credited", _("Kreditert")
    VOID = "void", _("Annullert")


class PaymentStatus(models.TextChoices):
    PENDING = "pending", _("Venter")
    CONFIRMED = "confirmed", _("Bekreftet")
    FAILED = "failed", _("Feilet")
    REFUNDED = "refunded", _("Tilbakebetalt")


class ChangeNoticeStatus(models.TextChoices):
    SENT = "sent", _("Sendt, venter på svar")
    ACCEPTED = "accepted", _("Akseptert")
    DECLINED = "declined", _("Avslått")
    SUPERSEDED = "superseded", _("Erstattet av nyere versjon")
    EXPIRED = "expired", _("Utløpt")


class TenYearRefundStatus(models.TextChoices):
    PROPOSED = "proposed", _("Foreslått")
    CREDITED = "credited", _("Kreditert")
    REJECTED = "rejected", _("Avvist")


# --- the machines ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Machine:
    """One status machine: the statuses, those a new row may start in, and event → {from: to}."""

    name: str
    statuses: type[models.TextChoices]
    initial: frozenset[str]
    moves: dict[str, dict[str, str]]
    labels: dict[str, str] = field(default_factory=dict)

    def can(self, status: str, event: str) -> bool:
        return status in self.moves.get(event, {})

    def target(self, status: str, event: str) -> str:
        try:
            return self.moves[event][status]
        except KeyError:
            raise TransitionError(
                _("Kan ikke %(action)s når status er «%(status)s».")
                % {"action": str(self.labels.get(event, event)).lower(), "status": self.label(status)}
            ) from None

    def events(self, status: str) -> list[str]:
        """The events allowed from `status`, in table order."""
        return [event for event, moves in self.moves.items() if status in moves]

    def event_for(self, old: str, new: str) -> str | None:
        """The event that moves `old` to `new` (None: no event does)."""
        return next((event for event, moves in self.moves.items() if moves.get(old) == new), None)

    def label(self, status: str) -> str:
        try:
            return str(self.statuses(status).label)
        except ValueError:
            return status


BASIS = Machine(
    name="invoice basis",
    statuses=Status,
    initial=frozenset({Status.DRAFT}),
    moves={
        "send_offer": {Status.DRAFT: Status.OFFER_SENT, Status.OFFER_SENT: Status.OFFER_SENT,
                       Status.EXPIRED: Status.OFFER_SENT, Status.DECLINED: Status.OFFER_SENT},
        "accept": {Status.OFFER_SENT: Status.ACCEPTED},
        "decline": {Status.OFFER_SENT: Status.DECLINED},
        "expire": {Status.OFFER_SENT: Status.EXPIRED},
        "cancel": {Status.DRAFT: Status.CANCELLED, Status.OFFER_SENT: Status.CANCELLED,
                   Status.ACCEPTED: Status.CANCELLED, Status.DECLINED: Status.CANCELLED,
                   Status.EXPIRED: Status.CANCELLED},
        "invoice": {Status.ACCEPTED: Status.INVOICED, Status.INVOICED: Status.INVOICED,
                    Status.PAID: Status.INVOICED},
        "paid": {Status.INVOICED: Status.PAID},
        "unpaid": {Status.PAID: Status.INVOICED},
    },
    labels={
        "send_offer": _("Send tilbud"),
        "accept": _("Registrer aksept"),
        "decline": _("Registrer avslag"),
        "expire": _("Marker som utløpt"),
        "cancel": _("Kanseller"),
        "invoice": _("Utsted faktura"),
    },
)

_I = InvoiceStatus
INVOICE = Machine(
    name="invoice",
    statuses=InvoiceStatus,
    # Issued at once when invoiced; a credit note proposed by the ten-year rule starts as a draft.
    initial=frozenset({_I.ISSUED, _I.DRAFT}),
    moves={
        "issue": {_I.DRAFT: _I.ISSUED},
        "send": {_I.ISSUED: _I.SENT},  # the invoice e-mail went out (offers/outbox.py)
        # The paid state follows payments, credits and refunds (billing/services/payments.py):
        "pay": {_I.ISSUED: _I.PAID, _I.SENT: _I.PAID},
        "credit": {_I.ISSUED: _I.CREDITED, _I.SENT: _I.CREDITED, _I.PAID: _I.CREDITED},
        "reopen": {_I.PAID: _I.ISSUED},  # something is owed again (a refund); not e-mailed yet
        "reopen_sent": {_I.PAID: _I.SENT},  # … and it had been e-mailed
    },
    labels={"issue": _("utstede"), "send": _("sende"), "pay": _("registrere som betalt"),
            "credit": _("kreditere"), "reopen": _("gjenåpne"), "reopen_sent": _("gjenåpne")},
)

_P = PaymentStatus
PAYMENT = Machine(
    name="payment",
    statuses=PaymentStatus,
    # A card checkout starts pending; a bank, manual or provider-reported payment is recorded confirmed.
    initial=frozenset({_P.PENDING, _P.CONFIRMED}),
    moves={
        # The provider's confirmation counts even after the attempt was marked failed.
        "confirm": {_P.PENDING: _P.CONFIRMED, _P.FAILED: _P.CONFIRMED},
        "fail": {_P.PENDING: _P.FAILED},
    },
    labels={"confirm": _("bekrefte"), "fail": _("markere som feilet")},
)

_C = ChangeNoticeStatus
CHANGE_NOTICE = Machine(
    name="change notice",
    statuses=ChangeNoticeStatus,
    initial=frozenset({_C.SENT}),
    moves={
        "accept": {_C.SENT: _C.ACCEPTED},
        "decline": {_C.SENT: _C.DECLINED},
        "expire": {_C.SENT: _C.EXPIRED},
        "supersede": {_C.SENT: _C.SUPERSEDED},
    },
    labels={"accept": _("akseptere"), "decline": _("avslå"), "expire": _("markere som utløpt"),
            "supersede": _("erstatte")},
)

TEN_YEAR_REFUND = Machine(
    name="ten-year refund",
    statuses=TenYearRefundStatus,
    initial=frozenset({TenYearRefundStatus.PROPOSED}),
    moves={"credit": {TenYearRefundStatus.PROPOSED: TenYearRefundStatus.CREDITED}},
    labels={"credit": _("kreditere")},
)

MACHINES: dict[type, Machine] = {m.statuses: m for m in (BASIS, INVOICE, PAYMENT, CHANGE_NOTICE, TEN_YEAR_REFUND)}


def machine(obj_or_model) -> Machine:
    """The machine of a row or model class (found through its `Status` choices)."""
    try:
        return MACHINES[obj_or_model.Status]
    except (AttributeError, KeyError):
        raise TypeError(f"{obj_or_model!r} has no status machine in billing/status.py") from None


# --- moves ----------------------------------------------------------------------------------------


def transition(obj, event: str) -> tuple[str, str]:
    """Apply `event` to the (locked) row in memory; returns (from, to). The caller saves and audits."""
    old = obj.status
    new = machine(obj).target(old, event)
    obj.status = new
    return old, new


def transition_to(obj, status: str) -> tuple[str, str]:
    """Move the (locked) row to a derived `status` through the event that allows it; returns (from, to).
    Moving to the status it has is no move and always allowed."""
    m = machine(obj)
    old = obj.status
    if old != status and m.event_for(old, status) is None:
        raise TransitionError(_("Status kan ikke endres fra «%(old)s» til «%(new)s».")
                              % {"old": m.label(old), "new": m.label(status)})
    obj.status = status
    return old, status


def claim(model, event: str) -> tuple[dict, dict]:
    """(lookup, change) for a conditional UPDATE: the rows in a status `event` may leave, and the status
    it moves them to. Only for events with one target."""
    moves = machine(model).moves[event]
    targets = set(moves.values())
    if len(targets) != 1:
        raise ValueError(f"{event!r} has more than one target; claim rows per source status")
    return {"status__in": sorted(moves)}, {"status": targets.pop()}


def initial(model, status: str | None = None) -> str:
    """The status a new row starts in: `status` when the table allows starting there, else refused.
    Without `status`: the model's only initial status."""
    m = machine(model)
    if status is None:
        if len(m.initial) != 1:
            raise ValueError(f"a new {m.name} needs an explicit initial status")
        return next(iter(m.initial))
    if status not in m.initial:
        raise TransitionError(_("En ny rad kan ikke starte med status «%s».") % m.label(status))
    return status


# --- the invoice basis ----------------------------------------------------------------------------

TRANSITIONS = BASIS.moves
ACTION_LABELS = BASIS.labels

# Statuses in which the basis' ordinary (estimate) lines may still be edited.
EDITABLE = {Status.DRAFT, Status.OFFER_SENT, Status.DECLINED, Status.EXPIRED}
# Statuses after the customer's acceptance: new lines become change lines.
AFTER_ACCEPTANCE = {Status.ACCEPTED, Status.INVOICED, Status.PAID}


def can(status: str, action: str) -> bool:
    return BASIS.can(status, action)


def target(status: str, action: str) -> str:
    return BASIS.target(status, action)


def allowed_actions(status: str) -> list[str]:
    return BASIS.events(status)


NEXT_STEP = {
    Status.DRAFT: _("Nettselskapet forbereder tilbudet."),
    Status.OFFER_SENT: _("Les tilbudet og aksepter det for å sette arbeidet i gang."),
    Status.ACCEPTED: _("Tilbudet er akseptert. Arbeidet kan starte."),
    Status.DECLINED: _("Du har avslått tilbudet."),
    Status.EXPIRED: _("Tilbudet er utløpt. Kontakt nettselskapet for et nytt tilbud."),
    Status.INVOICED: _("Betal fakturaen innen forfallsdato."),
    Status.PAID: _("Alt er betalt. Takk!"),
    Status.CANCELLED: _("Saken er kansellert."),
}


def next_step(status: str) -> str:
    return str(NEXT_STEP[Status(status)])
