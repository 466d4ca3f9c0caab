"""The API object: its docs page, bearer-token auth, the scope check and the error shape of every
answer that is not 2xx."""

from __future__ import annotations

import json
import logging

from django.core.exceptions import ObjectDoesNotExist, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, IntegrityError
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from ninja import NinjaAPI, Swagger
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import HttpBearer

from billing.errors import BillingError
from kundefaktura.errorpages import error_body, request_id
from kundefaktura.errorpages import too_large as _too_large

from .. import services
from ..models import ApiClient

log = logging.getLogger("integrations.api")


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, fields: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.fields = status, code, message, fields or {}


class BearerAuth(HttpBearer):
    openapi_description = "`Authorization: Bearer <token>` (create with `manage.py create_api_client NAME`)."

    def authenticate(self, request, token):
        client = services.api_client_authenticate(token)
        if client is not None:
            request.api_client = client
        return client


class LocalSwagger(Swagger):
    """Swagger UI from django-ninja's bundled files (no CDN, no inline script: fits the CSP)."""

    def render_page(self, request, api, **kwargs):
        settings = {**self.settings, "url": self.get_openapi_url(api, kwargs)}
        return render(request, "integrations/api_docs.html", {
            "title": api.title, "assets": reverse("api_docs_asset", args=["x"])[:-1],
            "swagger_settings": json.dumps(settings).replace("<", "\\u003c")})


class Api(NinjaAPI):
    def get_openapi_operation_id(self, operation) -> str:
        """The operation ids are part of the published schema: `integrations_api_<function>`, whichever
        module of this package the function lives in."""
        return f"integrations_api_{operation.view_func.__name__}"


api = Api(
    title="Kundefaktura API", version="1.0.0", urls_namespace="api", auth=BearerAuth(),
    docs_url="/docs", openapi_url="/openapi.json", docs=LocalSwagger(),
    description="Fakturagrunnlag, kostnadslinjer, felles anlegg og relaterte saker for Nettmelding, "
                "arbeidsordre og produktkjøpsordre. Beløp og antall er desimalstrenger (\"57392.90\"), "
                "datoer ISO 8601. Feil: `{\"error\": {\"code\", \"message\", \"fields\"?}}`.",
)


def _respond(request, status, code, message, fields=None, headers=None):
    response = api.create_response(request, error_body(code, message, fields), status=status)
    for k, v in (headers or {}).items():
        response[k] = v
    return response


def _loc_key(loc) -> str:
    parts = list(loc)
    if parts and parts[0] in ("body", "path", "query", "header"):
        parts = parts[1:]
    if parts and parts[0] == "payload":
        parts = parts[1:]
    return ".".join(str(p) for p in parts) or "body"


@api.exception_handler(NinjaValidationError)
def _validation_error(request, exc):
    fields: dict[str, list[str]] = {}
    for err in exc.errors:
        msg = str(err.get("msg", "ugyldig verdi"))
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, "):]
        fields.setdefault(_loc_key(err.get("loc", ())), []).append(msg)
    first = next(iter(fields.items()), ("body", ["ugyldig"]))
    return _respond(request, 422, "validation_error", f"Ugyldig inndata: {first[0]}: {first[1][0]}", fields)


@api.exception_handler(AuthenticationError)
def _auth_error(request, exc):
    return _respond(request, 401, "unauthorized", "Mangler eller ugyldig API-nøkkel (Authorization: Bearer).",
                    headers={"WWW-Authenticate": "Bearer"})


@api.exception_handler(HttpError)
def _http_error(request, exc):
    code = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
            409: "conflict", 429: "throttled"}.get(exc.status_code, "error")
    message = str(exc)
    if exc.status_code == 400 and "parse" in message.lower():
        code, message = "malformed_json", "Forespørselen er ikke gyldig JSON."
    return _respond(request, exc.status_code, code, message)


@api.exception_handler(ApiError)
def _api_error(request, exc):
    return _respond(request, exc.status, exc.code, exc.message, exc.fields)


@api.exception_handler(BillingError)
def _billing_error(request, exc):
    return _respond(request, exc.status_code, exc.code, exc.message, exc.fields)


@api.exception_handler(Http404)
def _not_found(request, exc):
    return _respond(request, 404, "not_found", "Fant ikke ressursen.")


@api.exception_handler(ObjectDoesNotExist)
def _does_not_exist(request, exc):
    return _respond(request, 404, "not_found", "Fant ikke ressursen.")


@api.exception_handler(DjangoValidationError)
def _django_validation(request, exc):
    fields = exc.message_dict if hasattr(exc, "error_dict") else {"body": exc.messages}
    return _respond(request, 422, "invalid", exc.messages[0] if exc.messages else "Ugyldig inndata.", fields)


@api.exception_handler(IntegrityError)
def _integrity(request, exc):
    return _respond(request, 409, "conflict", "Konflikt med eksisterende data.")


@api.exception_handler(DataError)
def _data_error(request, exc):
    return _respond(request, 422, "invalid", "Verdien passer ikke (for lang eller utenfor gyldig område).")


@api.exception_handler(RequestDataTooBig)
def _body_too_big(request, exc):
    return _too_large(request)


@api.exception_handler(Exception)
def _unexpected(request, exc):
    rid = request_id(request)
    log.exception("unexpected API error, reference %s", rid)
    return _respond(request, 500, "server_error", f"Intern feil (referanse {rid}). Prøv igjen senere.")


def need(request, scope: str) -> ApiClient:
    client = getattr(request, "auth", None) or getattr(request, "api_client", None)
    if client is None:
        raise AuthenticationError()
    if not client.has_scope(scope):
        raise ApiError(403, "forbidden", f"API-klienten mangler tilgangen «{scope}».")
    return client


def once_more_on_race(fn):
    """Two identical requests at the same moment: the loser of the unique-constraint race runs again
    and then finds the winner's row (200, or 409 if the content differs)."""
    try:
        return fn()
    except IntegrityError:
        return fn()
