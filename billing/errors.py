"""Errors the billing services raise. Messages are for people (Norwegian); codes are for machines."""

from dataclasses import dataclass


class BillingError(Exception):
    status_code = 422
    default_code = "invalid"

    def __init__(self, message, *, code=None, fields=None):
        super().__init__(str(message))
        self.message = str(message)
        self.code = code or self.default_code
        self.fields = fields or {}


class TransitionError(BillingError):
    """The status machine does not allow this now."""

    status_code = 409
    default_code = "invalid_transition"


class ConflictError(BillingError):
    """The same reference was sent before with other content."""

    status_code = 409
    default_code = "conflict"


class LockedError(BillingError):
    """The row is on an issued document (or otherwise frozen)."""

    status_code = 409
    default_code = "locked"


class StrongerLoginRequired(BillingError):
    """The answer needs a recent BankID authentication (ACCEPTANCE_BANKID_ABOVE)."""

    status_code = 403
    default_code = "bankid_required"


class InvalidInput(BillingError):
    status_code = 422
    default_code = "invalid"


@dataclass(frozen=True)
class Refusal:
    """One reason an action is refused now. The `*_refusals` guards (billing/selectors/guards.py) return
    these; the service raises them (`refuse`) and the case worker's page offers the action only when the
    list is empty."""

    message: str
    code: str = "invalid_transition"
    error: type[BillingError] = TransitionError

    def __str__(self):
        return self.message


def refuse(refusals: list[Refusal]) -> None:
    """Raise the first refusal's error with every reason in the message (nothing when the list is empty)."""
    if refusals:
        first = refusals[0]
        raise first.error(" ".join(r.message for r in refusals), code=first.code)
