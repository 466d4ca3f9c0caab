"""Errors the billing services raise. Messages are for people (Norwegian); codes are for machines."""


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


class InvalidInput(BillingError):
    status_code = 422
    default_code = "invalid"
