"""Settings, read from the environment (and an optional `.env`) with django-environ.

Embedded defaults make `make run` work on a bare machine: SQLite under var/, Celery tasks eager,
e-mail written to files under var/mail/, the local test payment provider. Every variable is
documented in docs/configuration.md.
"""

from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
TESTING = env.bool("KF_TESTING", default=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if DEBUG or TESTING:
        SECRET_KEY = "insecure-development-key-only-for-debug-and-tests-" + "x" * 20
    else:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[SITE_URL])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "axes",
    "csp",
    "kundefaktura.accounts",
    "billing",
    "offers",
    "portal",
    "integrations",
    "integrations.erp",
]

MIDDLEWARE = [
    "kundefaktura.errorpages.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "kundefaktura.languages.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "csp.middleware.CSPMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "kundefaktura.urls"
WSGI_APPLICATION = "kundefaktura.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "csp.context_processors.nonce",
                "kundefaktura.accounts.context_processors.roles",
                "kundefaktura.languages.language_switch",
                "billing.context_processors.company_admin",
            ],
            # `{% load i18n %}` is Django's, with constant `{% translate %}` kept per language.
            "libraries": {"i18n": "kundefaktura.i18ntags"},
        },
    },
]
# That label is taken over on purpose; tests/kundefaktura/test_i18ntags.py runs the check itself and
# allows no other label used twice.
SILENCED_SYSTEM_CHECKS = ["templates.W003"]

# --- Database -----------------------------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
DATABASES["default"].setdefault("ATOMIC_REQUESTS", False)
if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # No JIT compilation: our queries are short web queries, and on the overdue filter over 13 000
    # invoices PostgreSQL spent 30 of 89 ms compiling (measured, bench/load.py data). An explicit
    # `options` in DATABASE_URL wins.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("options", "-c jit=off")
    # Parameters bound by the server, and a query text a connection has run 5 times kept prepared:
    # PostgreSQL then skips parsing and planning it again. On the bench data this cut the database's
    # CPU per request by a quarter to three quarters (docs/performance.md). Off (DB_SERVER_SIDE_BINDING=false) behind
    # a pooler in transaction mode (PgBouncer before 1.21), which cannot keep prepared statements.
    if env.bool("DB_SERVER_SIDE_BINDING", default=True):
        from kundefaktura.pgcursor import Cursor

        DATABASES["default"]["OPTIONS"].setdefault("server_side_binding", True)
        DATABASES["default"]["OPTIONS"].setdefault("cursor_factory", Cursor)
        DATABASES["default"]["OPTIONS"].setdefault("prepare_threshold", env.int("DB_PREPARE_THRESHOLD", default=5))
elif DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Wait for a writer instead of failing at once; SQLite is for `make run` only.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "kundefaktura.accounts.backends.ModelBackend",  # one permission query per request
    "django.contrib.auth.backends.ModelBackend",  # sessions logged in through it (backends.py)
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# --- Caches ---------------------------------------------------------------------------------------
# "pages" holds page parts keyed by the database snapshot they were rendered under
# (kundefaktura.pagecache); few entries, short-lived: a write anywhere makes every entry unreachable.
CACHES = {
    # The default cache holds the login-link rate limit: give several processes one Redis with
    # CACHE_URL=redis://host:6379/2 so the limit is global (memory per process otherwise).
    "default": env.cache_url("CACHE_URL", default="locmemcache://default"),
    "pages": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "pages",
              "TIMEOUT": 300, "OPTIONS": {"MAX_ENTRIES": 300}},
}
# Serve the work list's rendered filters, chips and table again while the database snapshot stands
# (PostgreSQL only; see kundefaktura/pagecache.py). Off: every request renders them.
PAGE_CACHE_ENABLED = env.bool("PAGE_CACHE_ENABLED", default=True)

# --- Internationalisation -----------------------------------------------------------------------
LANGUAGE_CODE = env.str("LANGUAGE_CODE", default="nb")
# The languages the whole interface, every document and every e-mail is complete in
# (tests/kundefaktura/test_translations.py fails on a listed language with an untranslated string).
# Bokmål is the source language: its msgids are the text. Adding a language: docs/languages.md.
LANGUAGES = [("nb", "Norsk bokmål"), ("nn", "Norsk nynorsk"), ("en", "English")]
# The case worker's pages are offered in these (a setting on the staff user).
STAFF_LANGUAGES = ["nb", "en"]
# Dates and numbers stay Norwegian in every language ("18.12.2026", "1 234,50"): kundefaktura/formats/.
FORMAT_MODULE_PATH = ["kundefaktura.formats"]
LANGUAGE_COOKIE_NAME = "kf_language"
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LANGUAGE_COOKIE_SAMESITE = "Lax"
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="Europe/Oslo")
USE_I18N = True
USE_TZ = True

# --- Static and media ---------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=VAR_DIR / "staticfiles")  # collectstatic target
STATICFILES_DIRS = [BASE_DIR / "static"]
# --- Stored files (documents, ERP export batches, bank files, uploads) ---------------------------
# Written once through Django's storage API (kundefaktura/storage.py). On the file system under
# MEDIA_ROOT by default; in an S3-compatible object store (AWS, MinIO, Ceph) when STORAGE_URL is set,
# e.g. s3://kundefaktura/prod?endpoint_url=http://minio:9000&region=eu-north-1, or, equivalently, the
# AWS_STORAGE_BUCKET_NAME / AWS_S3_ENDPOINT_URL / AWS_S3_REGION_NAME variables. Credentials come from
# boto3's own chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, a profile, an instance role).
STORAGE_URL = env.str("STORAGE_URL", default="")
_s3_bucket = env.str("AWS_STORAGE_BUCKET_NAME", default="")
if STORAGE_URL or _s3_bucket:
    from urllib.parse import parse_qs, urlsplit

    _url = urlsplit(STORAGE_URL) if STORAGE_URL else None
    if _url is not None and (_url.scheme != "s3" or not _url.netloc):
        raise ImproperlyConfigured("STORAGE_URL must look like s3://bucket[/prefix]?endpoint_url=…&region=…")
    _query = {k: v[-1] for k, v in parse_qs(_url.query).items()} if _url else {}
    _unknown = set(_query) - {"endpoint_url", "region", "addressing_style"}
    if _unknown:
        raise ImproperlyConfigured(f"STORAGE_URL: unknown option(s) {', '.join(sorted(_unknown))}")
    _endpoint = _query.get("endpoint_url") or env.str("AWS_S3_ENDPOINT_URL", default="") or None
    STORAGE_DEFAULT = {"BACKEND": "kundefaktura.s3storage.WriteOnceS3Storage", "OPTIONS": {
        "bucket_name": _url.netloc if _url else _s3_bucket,
        "location": _url.path.strip("/") if _url else "",
        "endpoint_url": _endpoint,
        "region_name": _query.get("region") or env.str("AWS_S3_REGION_NAME", default="") or None,
        # Path-style for a self-hosted store (MinIO, Ceph: one host name), AWS's own choice otherwise.
        "addressing_style": _query.get("addressing_style") or ("path" if _endpoint else "auto"),
    }}
else:
    STORAGE_DEFAULT = {"BACKEND": "kundefaktura.storage.WriteOnceFileSystemStorage"}
# --- end of stored files --------------------------------------------------------------------------
STORAGES = {
    "default": STORAGE_DEFAULT,
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG or TESTING
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG or TESTING
MEDIA_ROOT = env.path("MEDIA_ROOT", default=VAR_DIR / "media")
# Media is never served by URL: documents go through permission-checked views.

# --- E-mail -------------------------------------------------------------------------------------
if env.str("EMAIL_URL", default=""):
    vars().update(env.email_url("EMAIL_URL"))
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = VAR_DIR / "mail"
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Kundefaktura <noreply@kundefaktura.local>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=20)

# --- Celery -------------------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = env.bool("CELERY_TASK_EAGER_PROPAGATES", default=False)
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=CELERY_BROKER_URL or None) or None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A worker keeps its database connection from task to task, under Django's own rules (CONN_MAX_AGE, the
# health check, a connection left in a failed or open transaction is dropped): kundefaktura/celery.py
# applies them around every task. Celery's Django fix-up would otherwise close the connection before
# and after every task, so each task paid a new PostgreSQL connection and a backend with cold caches
# (three per document of a bulk offer job). The fix-up still closes it after this many tasks.
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=500)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A dead broker must not hang a web request: publishing gives up quickly and the outbox sweeper
# delivers the row later.
CELERY_BROKER_TRANSPORT_OPTIONS = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2,
                                   "socket_timeout": 2, "socket_connect_timeout": 2}
# Celery's own publish retry (default 3 retries, 0.2 s apart) would add ~0.6 s per task to a request while
# Redis is down; one immediate retry covers a stale pooled connection, the outbox covers the rest.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0, "interval_max": 0}
CELERY_TIMEZONE = TIME_ZONE
ERP_EXPORT_HOUR = env.int("ERP_EXPORT_HOUR", default=2)
ERP_EXPORT_MINUTE = env.int("ERP_EXPORT_MINUTE", default=15)
CELERY_BEAT_SCHEDULE = {
    "outbox-sweep": {"task": "kundefaktura.outbox_sweep", "schedule": 60.0},
    "offers-expire": {"task": "billing.offers_expire", "schedule": crontab(hour=0, minute=30)},
    "change-notices-expire": {"task": "billing.change_notices_expire", "schedule": crontab(hour=0, minute=35)},
    "reminders-send": {"task": "billing.reminders_send", "schedule": crontab(hour=7, minute=0)},
    "erp-export": {"task": "integrations.erp_export",
                   "schedule": crontab(hour=ERP_EXPORT_HOUR, minute=ERP_EXPORT_MINUTE)},
}

# --- Payments -----------------------------------------------------------------------------------
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="")
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="")
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="")
PAYMENT_PROVIDER = env.str("PAYMENT_PROVIDER", default="stripe" if STRIPE_SECRET_KEY else "local")

# --- Portal access links ----------------------------------------------------------------------
# How long the set-password link (offer e-mail) and the one-time login link stay valid, in seconds.
PASSWORD_RESET_TIMEOUT = env.int("PORTAL_SET_PASSWORD_MAX_AGE", default=7 * 24 * 3600)
PORTAL_LOGIN_LINK_MAX_AGE = env.int("PORTAL_LOGIN_LINK_MAX_AGE", default=30 * 60)
# After logging in with a login link the customer may choose a new password without the current one
# for this many seconds; later the current password is needed.
PORTAL_PASSWORD_CHANGE_WINDOW = env.int("PORTAL_PASSWORD_CHANGE_WINDOW", default=10 * 60)

# --- ERP ----------------------------------------------------------------------------------------
ERP_ADAPTER = env.str("ERP_ADAPTER", default="demo")  # demo | http | filedrop
ERP_BASE_URL = env.str("ERP_BASE_URL", default="")
ERP_TOKEN = env.str("ERP_TOKEN", default="")
ERP_DROP_DIR = env.path("ERP_DROP_DIR", default=VAR_DIR / "erp-drop")

# --- Security -----------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG and not TESTING:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "form-action": ["'self'", "https://checkout.stripe.com"] if not DEBUG else ["'self'", "*"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
}

AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = 0.25  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)
# How many proxies that append to X-Forwarded-For sit in front of the app (the TLS proxy: 1). The
# client IP is the entry that many places from the right; 0 uses REMOTE_ADDR and ignores the header.
# The lockout, the rate limits and recorded evidence IPs all use kundefaktura.clientip.client_ip.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
AXES_CLIENT_IP_CALLABLE = "kundefaktura.clientip.client_ip"

# LOGGING: see the Operations block at the end (LOG_FORMAT, LOG_LEVEL).

# --- Portal ----------------------------------------------------------------------------------
# Login-link requests per e-mail address per hour (more are answered the same way but not sent).
PORTAL_LOGIN_LINK_PER_HOUR = env.int("PORTAL_LOGIN_LINK_PER_HOUR", default=5)
# A webhook waiting longer than this for a row lock answers 503 so Stripe retries.
PORTAL_WEBHOOK_LOCK_TIMEOUT_MS = env.int("PORTAL_WEBHOOK_LOCK_TIMEOUT_MS", default=3000)
PORTAL_STRIPE_MAX_NETWORK_RETRIES = env.int("PORTAL_STRIPE_MAX_NETWORK_RETRIES", default=2)

# --- ERP ----------------------------------------------------------------------------------
ERP_HTTP_TIMEOUT = env.float("ERP_HTTP_TIMEOUT", default=10.0)
ERP_DEMO_CUSTOMERS = env.str("ERP_DEMO_CUSTOMERS", default="")  # JSON list; default: the shipped fixture
ERP_BANK_DROP_DIR = env.path("ERP_BANK_DROP_DIR", default=VAR_DIR / "bank-drop")
# Beat books the files in the drop folder every ERP_BANK_DROP_INTERVAL seconds (0: never; then run
# `manage.py bank_import --dir` from the host's scheduler). A file changed less than ERP_BANK_DROP_SETTLE
# seconds ago waits for the next round: the bank may still be writing it.
ERP_BANK_DROP_INTERVAL = env.int("ERP_BANK_DROP_INTERVAL", default=300)
ERP_BANK_DROP_SETTLE = env.int("ERP_BANK_DROP_SETTLE", default=60)
if ERP_BANK_DROP_INTERVAL < 0 or ERP_BANK_DROP_SETTLE < 0:
    raise ImproperlyConfigured("ERP_BANK_DROP_INTERVAL and ERP_BANK_DROP_SETTLE are seconds, 0 or more.")
if ERP_BANK_DROP_INTERVAL:
    CELERY_BEAT_SCHEDULE["bank-drop"] = {"task": "integrations.bank_drop_sweep",
                                         "schedule": float(ERP_BANK_DROP_INTERVAL)}
# A bank file with more credits than this is booked by a Celery task; the import page shows progress.
ERP_BANK_BACKGROUND_CREDITS = env.int("ERP_BANK_BACKGROUND_CREDITS", default=500)
ERP_EXPORT_ZIP_COMPRESSION = env.str("ERP_EXPORT_ZIP_COMPRESSION", default="deflate")  # deflate | stored

# --- Integrations ----------------------------------------------------------------------------------
INSTALLER_LINK_MAX_AGE = env.int("INSTALLER_LINK_MAX_AGE", default=30 * 24 * 3600)  # signed read-only link
NOTIFY_BACKOFF_BASE = env.int("NOTIFY_BACKOFF_BASE", default=30)  # seconds, doubled per failed attempt
NOTIFY_BACKOFF_MAX = env.int("NOTIFY_BACKOFF_MAX", default=3600)
NOTIFY_TIMEOUT = env.float("NOTIFY_TIMEOUT", default=10.0)  # seconds per outbound POST

# --- Documents ----------------------------------------------------------------------------------
# Outbox e-mail delivery: attempts before an e-mail is marked failed, and the exponential backoff
# (base · 2^(attempt-1) seconds, capped) between attempts.
EMAIL_MAX_ATTEMPTS = env.int("EMAIL_MAX_ATTEMPTS", default=5)
EMAIL_RETRY_BASE_SECONDS = env.int("EMAIL_RETRY_BASE_SECONDS", default=60)
EMAIL_RETRY_MAX_SECONDS = env.int("EMAIL_RETRY_MAX_SECONDS", default=6 * 3600)
EMAIL_SEND_LEASE_SECONDS = 600  # a row stuck in "sending" this long is re-queued by the sweeper
EMAIL_SWEEP_GRACE_SECONDS = 30  # a queued row never tried is picked up by the sweeper after this

# --- Performance --------------------------------------------------------------------------------
# Widgets, labels and error lists written in Python rather than through Django's form templates: the
# same HTML, a fraction of the cost (kundefaktura/formrender.py).
FORM_RENDERER = "kundefaktura.formrender.FastRenderer"
# Sessions in Redis instead of the database when SESSION_REDIS_URL is set (e.g. redis://host:6379/3):
# one Redis GET instead of an SQL query on every signed-in request. The same random server-side session
# key in the same cookie; logout and password change end the session as before. A Redis restart
# without persistence signs everyone out. Unset: sessions in the database.
SESSION_REDIS_URL = env.str("SESSION_REDIS_URL", default="")
if SESSION_REDIS_URL:
    CACHES["sessions"] = {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                          "LOCATION": SESSION_REDIS_URL, "KEY_PREFIX": "kf-session", "TIMEOUT": None}
    SESSION_ENGINE = "django.contrib.sessions.backends.cache"
    SESSION_CACHE_ALIAS = "sessions"

# --- BankID login (OpenID Connect) ---------------------------------------------------------------
# Customers may log in with BankID through an OpenID Connect provider (BankID's own, Signicat,
# Criipto, ID-porten …) when all three are set; otherwise nothing of it is offered or reachable.
OIDC_ISSUER = env.str("OIDC_ISSUER", default="").rstrip("/")
OIDC_CLIENT_ID = env.str("OIDC_CLIENT_ID", default="")
OIDC_CLIENT_SECRET = env.str("OIDC_CLIENT_SECRET", default="")
OIDC_SCOPE = env.str("OIDC_SCOPE", default="openid")
# Space-separated acr values to ask for; when set, an ID token with another acr is refused.
OIDC_ACR_VALUES = env.str("OIDC_ACR_VALUES", default="")
OIDC_CLOCK_SKEW = env.int("OIDC_CLOCK_SKEW", default=60)  # seconds allowed on exp/iat
OIDC_HTTP_TIMEOUT = env.float("OIDC_HTTP_TIMEOUT", default=10.0)
# Accepting an offer (or a change notice) whose gross amount in kr is above this needs a BankID
# authentication in the same session no older than ACCEPTANCE_BANKID_MAX_AGE seconds. Unset: never.
ACCEPTANCE_BANKID_ABOVE = env.str("ACCEPTANCE_BANKID_ABOVE", default="").strip() or None
if ACCEPTANCE_BANKID_ABOVE is not None:
    from decimal import Decimal as _Decimal
    from decimal import InvalidOperation as _InvalidOperation

    try:
        ACCEPTANCE_BANKID_ABOVE = _Decimal(ACCEPTANCE_BANKID_ABOVE.replace(" ", "").replace(",", "."))
    except _InvalidOperation as exc:
        raise ImproperlyConfigured("ACCEPTANCE_BANKID_ABOVE must be an amount in kr, e.g. 100000") from exc
ACCEPTANCE_BANKID_MAX_AGE = env.int("ACCEPTANCE_BANKID_MAX_AGE", default=15 * 60)
if OIDC_ISSUER and OIDC_CLIENT_ID and OIDC_CLIENT_SECRET:
    from urllib.parse import urlsplit as _urlsplit

    _oidc_origin = "{0.scheme}://{0.netloc}".format(_urlsplit(OIDC_ISSUER))
    # The connect and log-in buttons are forms whose answer redirects to the provider.
    if _oidc_origin not in CONTENT_SECURITY_POLICY["DIRECTIVES"]["form-action"]:
        CONTENT_SECURITY_POLICY["DIRECTIVES"]["form-action"].append(_oidc_origin)
# --- end BankID login -----------------------------------------------------------------------------

# --- Operations: task queues, structured logs, /metrics ----------------------------------------------
# Three queues so a slow PDF render never delays an e-mail: `render`, `email`, `default` (the router in
# kundefaktura/celery.py names which task goes where). CELERY_QUEUE_PREFIX lets several installations
# share one Redis. Run one worker per queue in production (docs/operations.md); `make worker` consumes all.
CELERY_QUEUE_PREFIX = env.str("CELERY_QUEUE_PREFIX", default="")
CELERY_QUEUE_NAMES = {role: f"{CELERY_QUEUE_PREFIX}{role}" for role in ("default", "render", "email")}
CELERY_TASK_DEFAULT_QUEUE = CELERY_QUEUE_NAMES["default"]
CELERY_TASK_ROUTES = ("kundefaktura.celery.route_task",)
# Redis redelivers a task that was taken but never acknowledged (acks_late, the worker was killed) once
# this many seconds have passed since it was taken; longer than the slowest task (an ERP export of a
# busy night, a large bank file), or the task would run twice while it still runs (harmless — every task
# is idempotent — but wasted work).
_visibility = env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)
# A worker looks for such tasks every restore interval (kombu's default: a scan every ~100 s).
CELERY_BROKER_TRANSPORT_OPTIONS.update(visibility_timeout=_visibility,
                                       unacked_restore_interval=max(1, min(10, _visibility // 5)),
                                       unacked_restore_throttle=1 if _visibility < 600 else 10)
# The worker keeps Django's logging (one format for web and worker, with the task's context).
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# LOG_FORMAT=json: one JSON object per line with request id, user id, basis, task (kundefaktura/logs.py).
LOG_FORMAT = env.str("LOG_FORMAT", default="plain")
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured("LOG_FORMAT must be 'plain' or 'json'.")
from kundefaktura.logs import logging_config  # noqa: E402 - a pure module, no Django import

LOGGING = logging_config(fmt=LOG_FORMAT, level=env.str("LOG_LEVEL", default="INFO"))
MIDDLEWARE.insert(MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
                  "kundefaktura.logs.LogContextMiddleware")

# /metrics: Prometheus text format, only with METRICS_TOKEN (sent as `Authorization: Bearer …`);
# without it the URL answers 404. HTTP and database figures come from django-prometheus; with several
# gunicorn processes set PROMETHEUS_MULTIPROC_DIR (kundefaktura/metrics.py, docs/operations.md).
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
INSTALLED_APPS.append("django_prometheus")
MIDDLEWARE.insert(0, "django_prometheus.middleware.PrometheusBeforeMiddleware")
MIDDLEWARE.append("django_prometheus.middleware.PrometheusAfterMiddleware")
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":  # production; SQLite stays plain
    DATABASES["default"]["ENGINE"] = "django_prometheus.db.backends.postgresql"
# How PDFs are made: "weasyprint" (the documents as the customer sees them) or "text" (a one-page text
# PDF in milliseconds, for load tests and the topology test only — never in production).
DOCUMENT_RENDERER = env.str("DOCUMENT_RENDERER", default="weasyprint")
if DOCUMENT_RENDERER not in ("weasyprint", "text"):
    raise ImproperlyConfigured("DOCUMENT_RENDERER must be 'weasyprint' or 'text'.")
if DOCUMENT_RENDERER == "text" and not (TESTING or DEBUG):
    # A stored PDF is evidence the customer answered: never a test stand-in outside tests.
    raise ImproperlyConfigured("DOCUMENT_RENDERER=text is for tests only (KF_TESTING=1 or DEBUG).")
# --- end of Operations -------------------------------------------------------------------------------
# --- Receipts: the company's seal (PAdES) ---------------------------------------------------------
# Receipts of customers' answers are sealed with the key and certificate of this PKCS#12 file; without
# it they are issued unsealed and say so. With a TSA address the seal carries a trusted timestamp.
RECEIPT_SEAL_P12 = env.str("RECEIPT_SEAL_P12", default="")
RECEIPT_SEAL_P12_PASSWORD = env.str("RECEIPT_SEAL_P12_PASSWORD", default="")
RECEIPT_TSA_URL = env.str("RECEIPT_TSA_URL", default="")
RECEIPT_TSA_TIMEOUT = env.int("RECEIPT_TSA_TIMEOUT", default=10)
# --- end of receipts ---------------------------------------------------------------------------------
