"""Request ids and the error pages: every response carries `X-Request-ID`; the 500 page shows the id
that is in the log next to the traceback, and a body over the size limit is a 413, not a 500."""

from __future__ import annotations

import logging
import re
import uuid

from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponse, JsonResponse
from django.template import loader
from django.views import defaults

from . import logs

log = logging.getLogger("kundefaktura.errors")

_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")


def request_id(request) -> str:
    """The request's id: one a trusted proxy passed in `X-Request-ID` (if well-formed), else a new one."""
    rid = getattr(request, "request_id", None)
    if rid is None:
        given = request.META.get("HTTP_X_REQUEST_ID", "")
        rid = given if _ID.fullmatch(given) else uuid.uuid4().hex[:16]
        request.request_id = rid
    return rid


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        rid = request_id(request)
        token = logs.bind(request_id=rid)
        try:
            response = self.get_response(request)
        finally:
            logs.reset(token)
        response.setdefault("X-Request-ID", rid)
        return response

    def process_exception(self, request, exception):
        log.error("unhandled %s on %s %s, reference %s", type(exception).__name__, request.method,
                  request.path, request_id(request))


def error_body(code: str, message: str, fields: dict | None = None) -> dict:
    """The JSON API's error shape: `{"error": {"code", "message", "fields"?}}`."""
    body = {"code": code, "message": message}
    if fields:
        body["fields"] = {str(k): [str(m) for m in (v if isinstance(v, list | tuple) else [v])]
                          for k, v in fields.items()}
    return {"error": body}


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def too_large(request):
    """413 for a body over DATA_UPLOAD_MAX_MEMORY_SIZE: the API's JSON error shape or a plain page."""
    message = "Forespørselen er for stor."
    if _is_api(request):
        return JsonResponse(error_body("payload_too_large", message), status=413)
    return HttpResponse(loader.render_to_string("413.html", {"request_id": request_id(request)}), status=413)


def bad_request(request, exception, template_name="400.html"):
    if isinstance(exception, RequestDataTooBig):
        return too_large(request)
    return defaults.bad_request(request, exception, template_name=template_name)


def server_error(request, template_name="500.html"):
    rid = request_id(request)
    if _is_api(request):
        return JsonResponse(error_body("server_error", f"Intern feil (referanse {rid}). Prøv igjen senere."),
                            status=500)
    # No request context: the error may lie in what context processors need (session, database).
    return HttpResponse(loader.render_to_string(template_name, {"request_id": rid}), status=500)
