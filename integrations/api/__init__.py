"""The JSON API for other systems (Nettmelding, work orders, product purchase orders): /api/v1/.

Every answer that is not 2xx is `{"error": {"code", "message", "fields"?}}` — ninja's own validation
errors, malformed JSON, auth failures and the billing services' errors included. Bad input never
gives a 500, and a failed write leaves nothing behind (each write is one transaction).
"""

# Importing the endpoint modules registers their operations on `api`, in this order (the order of the
# paths in the OpenAPI document and of the URL patterns).
# isort: off
from . import bases, lines, shared_costs, related_cases  # noqa: F401
# isort: on
from .base import ApiError, BearerAuth, api, need

__all__ = ["ApiError", "BearerAuth", "api", "need"]
