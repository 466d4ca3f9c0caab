"""The status machine of an invoice basis — the only place that knows which moves are allowed.

No code outside `transition()` assigns `basis.status`.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from .errors import TransitionError


class Status(models.TextChoices):
    DRAFT = "draft", _("Under arbeid")
    OFFER_SENT = "offer_sent", _("Tilbud sendt")
    ACCEPTED = "accepted", _("Akseptert")
    DECLINED = "declined", _("Avslått")
    EXPIRED = "expired", _("Utløpt")
    INVOICED = "invoiced", _("Faktura sendt")
    PAID = "paid", _("Faktura betalt")
    CANCELLED = "cancelled", _("Kansellert")


STATUS_CHOICES = Status.choices

# action → {from status: to status}
TRANSITIONS: dict[str, dict[str, str]] = {
    "send_offer": {Status.DRAFT: Status.OFFER_SENT, Status.OFFER_SENT: Status.OFFER_SENT,
                   Status.EXPIRED: Status.OFFER_SENT, Status.DECLINED: Status.OFFER_SENT},
    "accept": {Status.OFFER_SENT: Status.ACCEPTED},
    "decline": {Status.OFFER_SENT: Status.DECLINED},
    "expire": {Status.OFFER_SENT: Status.EXPIRED},
    "cancel": {Status.DRAFT: Status.CANCELLED, Status.OFFER_SENT: Status.CANCELLED,
               Status.ACCEPTED: Status.CANCELLED, Status.DECLINED: Status.CANCELLED,
               Status.EXPIRED: Status.CANCELLED},
    "invoice": {Status.ACCEPTED: Status.INVOICED, Status.INVOICED: Status.INVOICED, Status.PAID: Status.INVOICED},
    "paid": {Status.INVOICED: Status.PAID},
    "unpaid": {Status.PAID: Status.INVOICED},
}

ACTION_LABELS = {
    "send_offer": _("Send tilbud"),
    "accept": _("Registrer aksept"),
    "decline": _("Registrer avslag"),
    "expire": _("Marker som utløpt"),
    "cancel": _("Kanseller"),
    "invoice": _("Utsted faktura"),
}

# Statuses in which the basis' ordinary (estimate) lines may still be edited.
EDITABLE = {Status.DRAFT, Status.OFFER_SENT, Status.DECLINED, Status.EXPIRED}
# Statuses after the customer's acceptance: new lines become change lines.
AFTER_ACCEPTANCE = {Status.ACCEPTED, Status.INVOICED, Status.PAID}





def can(status: str, action: str) -> bool:
    return status in TRANSITIONS.get(action, {})


def target(status: str, action: str) -> str:
    try:
        return TRANSITIONS[action][status]
    except KeyError:
        raise TransitionError(
            _("Kan ikke %(action)s når status er «%(status)s».")
            % {"action": str(ACTION_LABELS.get(action, action)).lower(), "status": Status(status).label}
        ) from None


def transition(basis, action: str) -> tuple[str, str]:
    """Apply `action` to the (locked) basis in memory; returns (from, to). The caller saves and audits."""
    old = basis.status
    new = target(old, action)
    basis.status = new
    return old, new


def allowed_actions(status: str) -> list[str]:
    return [a for a, moves in TRANSITIONS.items() if status in moves]


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
