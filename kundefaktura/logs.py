"""Structured logs: the context every log line carries, secret scrubbing, and the two formats.

The request (`RequestIdMiddleware`, `LogContextMiddleware`) and each Celery task bind their fields in
a context variable; `ContextFilter` copies them onto every record, so a line logged deep inside a
service carries the request id, the user id and — once a service has touched one — the basis number.

`LOG_FORMAT=json` writes one JSON object per line (`JsonFormatter`); otherwise readable lines
(`PlainFormatter`). Both scrub what must never reach a log: passwords, tokens, signatures, bearer
credentials, cookies, and the token segments of the links we mail out. E-mail bodies are never passed
to a logger in the first place.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import re
import time
from datetime import UTC, datetime

# Fields every line may carry, in output order.
CONTEXT_FIELDS = ("request_id", "user_id", "basis", "basis_id", "task", "task_id")

_context: contextvars.ContextVar[dict] = contextvars.ContextVar("kf_log_context", default={})  # noqa: B039


def bind(**fields) -> contextvars.Token:
    """Add fields to the current context (None removes one); returns a token for `reset`."""
    merged = {**_context.get(), **fields}
    return _context.set({k: v for k, v in merged.items() if v is not None})


def bind_in_scope(**fields) -> None:
    """Add fields for the rest of the current request or task; outside one (a shell, a management
    command) nothing, so a value never sticks to unrelated later lines."""
    ctx = _context.get()
    if "request_id" in ctx or "task_id" in ctx:
        bind(**fields)


def reset(token: contextvars.Token) -> None:
    _context.set(token.old_value if token.old_value is not contextvars.Token.MISSING else {})


def clear() -> None:
    _context.set({})


def current() -> dict:
    return dict(_context.get())


@contextlib.contextmanager
def bound(**fields):
    token = bind(**fields)
    try:
        yield
    finally:
        reset(token)


# --- Scrubbing ------------------------------------------------------------------------------------

_SECRET_KEYS = (r"password|passwd|pwd|token|secret|signature|authorization|cookie|sessionid|csrftoken|"  # nosec B105
                r"csrfmiddlewaretoken|api[_-]?key|access_token|refresh_token|id_token|client_secret|sig")
_SCRUBBERS = [
    # key=value and key: value pairs (query strings, form dumps, header dumps, repr of dicts)
    (re.compile(rf"(?i)(\b(?:{_SECRET_KEYS})\b['\"]?\s*[=:]\s*['\"]?)[^&\s'\",;}})]+"), r"\1[redacted]"),
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+"), r"\1 [redacted]"),
    # the token segments of the links we send (login link, set-password link, installer link)
    (re.compile(r"(/(?:innlogging|installator)/lenke/)[^/\s?#'\"]+"), r"\1[redacted]"),
    (re.compile(r"(/passord/)[^/\s?#'\"]+/[^/\s?#'\"]+"), r"\1[redacted]/[redacted]"),
    # Stripe-style signature headers
    (re.compile(r"\bv1=[0-9a-zA-Z-]+"), "v1=[redacted]"),
]


def scrub(text: str) -> str:
    """`text` with every secret we know the shape of replaced by `[redacted]`."""
    for pattern, repl in _SCRUBBERS:
        text = pattern.sub(repl, text)
    return text


def safe_path(request) -> str:
    """The request path for a log line: no query string, token segments of mailed links redacted."""
    return scrub(request.path)


# --- Filter and formatters ------------------------------------------------------------------------


class ContextFilter(logging.Filter):
    """Copies the bound context onto every record (attach it to the handlers)."""

    def filter(self, record: logging.LogRecord) -> bool:
        ctx = _context.get()
        if "_user" in ctx and getattr(record, "user_id", None) is None:
            record.user_id = _user_id(ctx["_user"])
        for key in CONTEXT_FIELDS:
            if getattr(record, key, None) is None and key in ctx:
                setattr(record, key, ctx[key])
        return True


def _user_id(user):
    """The id of the request's user if something has already loaded it (never a query of its own)."""
    from django.utils.functional import empty

    wrapped = getattr(user, "_wrapped", user)
    if wrapped is empty or wrapped is None or not getattr(wrapped, "is_authenticated", False):
        return None
    return wrapped.pk


# Celery passes a task's arguments and return value as `data`: they may hold e-mail addresses.
_CELERY_EXTRA = {"data"}
_STANDARD = set(vars(logging.LogRecord("x", 0, "x", 0, "x", None, None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, message, the context fields, `extra=` fields, exc."""

    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": scrub(record.getMessage()),
        }
        for key in CONTEXT_FIELDS:
            value = getattr(record, key, None)
            if value is not None:
                out[key] = value
        for key, value in vars(record).items():
            if key in _STANDARD or key in out or key.startswith("_") or key in _CELERY_EXTRA:
                continue
            out[key] = scrub(value) if isinstance(value, str) else _jsonable(value)
        if record.exc_info:
            out["exc"] = scrub(self.formatException(record.exc_info))
        elif record.exc_text:
            out["exc"] = scrub(record.exc_text)
        return json.dumps(out, ensure_ascii=False, default=str)


def _jsonable(value):
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return scrub(str(value))


class PlainFormatter(logging.Formatter):
    """Readable lines: `2026-12-04 17:00:00,123 INFO name message [request_id=… user_id=…]`."""

    def __init__(self):
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = scrub(super().format(record))
        ctx = " ".join(f"{k}={getattr(record, k)}" for k in CONTEXT_FIELDS if getattr(record, k, None) is not None)
        if ctx:
            first, sep, rest = line.partition("\n")
            line = f"{first} [{ctx}]{sep}{rest}"
        return line


def logging_config(*, fmt: str, level: str) -> dict:
    """The LOGGING dict for the settings: console handler, chosen format, context filter."""
    formatter = "json" if fmt == "json" else "plain"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": "kundefaktura.logs.ContextFilter"}},
        "formatters": {"plain": {"()": "kundefaktura.logs.PlainFormatter"},
                       "json": {"()": "kundefaktura.logs.JsonFormatter"}},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": formatter, "filters": ["context"]}},
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "django.db.backends": {"level": "WARNING"},
            "axes": {"level": "WARNING"},
            "weasyprint": {"level": "WARNING"},
            "fontTools": {"level": "WARNING"},
            # One line per request: the JSON format's access log (gunicorn's is then redundant).
            "kundefaktura.request": {"level": "INFO" if formatter == "json" else "WARNING"},
        },
    }


# --- Request side ---------------------------------------------------------------------------------

request_log = logging.getLogger("kundefaktura.request")
QUIET_PATHS = ("/healthz", "/metrics", "/static/")

# URL names whose `pk` is an invoice basis: the basis id goes into the context of their lines.
BASIS_URL_NAMES = {
    "billing:basis_detail", "billing:lines", "billing:line_add", "billing:line_edit", "billing:line_delete",
    "billing:basis_action", "billing:changes", "billing:settlement",
    "portal:basis", "portal:accept", "portal:accepted", "portal:decline",
}


class LogContextMiddleware:
    """After authentication: binds the user id (and the basis id of basis pages), then writes one
    request line (method, path without query string, status, duration) at the end."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.monotonic()
        # The lazy user object: its id is read only once the view (or a middleware) has loaded it.
        token = bind(_user=getattr(request, "user", None))
        try:
            response = self.get_response(request)
            level = logging.DEBUG if request.path.startswith(QUIET_PATHS) else logging.INFO
            if request_log.isEnabledFor(level):
                ms = round((time.monotonic() - started) * 1000, 1)
                path = safe_path(request)
                request_log.log(level, "%s %s %s %sms", request.method, path, response.status_code, ms,
                                extra={"user_id": _user_id(getattr(request, "user", None)),
                                       "method": request.method, "path": path, "status": response.status_code,
                                       "duration_ms": ms})
            return response
        finally:
            reset(token)

    def process_view(self, request, view_func, view_args, view_kwargs):
        match = request.resolver_match
        if match is not None and match.view_name in BASIS_URL_NAMES and "pk" in view_kwargs:
            bind(basis_id=view_kwargs["pk"])
        return None
