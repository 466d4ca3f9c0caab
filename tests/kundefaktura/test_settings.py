"""Settings read from the environment: each case runs in a fresh interpreter with its own env."""

import json
import os
import subprocess
import sys

from tests.conftest import REPO_ROOT
from tests.support.settings_env import SETTINGS_VARS, production_env, run_python

PRINT_SETTINGS = """
import json
from django.conf import settings
import django
django.setup()
db = settings.DATABASES["default"]
print(json.dumps({
    "engine": db["ENGINE"], "name": str(db["NAME"]), "host": db.get("HOST", ""),
    "port": str(db.get("PORT", "")), "user": db.get("USER", ""),
    "debug": settings.DEBUG, "eager": settings.CELERY_TASK_ALWAYS_EAGER,
    "broker": settings.CELERY_BROKER_URL, "email_backend": settings.EMAIL_BACKEND,
    "time_zone": settings.TIME_ZONE, "language": settings.LANGUAGE_CODE,
    "session_cookie_secure": settings.SESSION_COOKIE_SECURE,
    "payment_provider": settings.PAYMENT_PROVIDER,
    "cache": settings.CACHES["default"]["BACKEND"], "cache_location": settings.CACHES["default"].get("LOCATION"),
    "page_cache": settings.PAGE_CACHE_ENABLED,
    "bank_drop": settings.CELERY_BEAT_SCHEDULE.get("bank-drop"),
}))
"""


def read_settings(**env_vars) -> dict:
    proc = run_python(PRINT_SETTINGS, **env_vars)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_defaults_run_on_a_bare_machine_with_sqlite_eager_celery_and_file_mail():
    s = read_settings(DEBUG="true")
    assert s["engine"] == "django.db.backends.sqlite3"
    assert s["name"].endswith("var/db.sqlite3")
    assert s["broker"] == "" and s["eager"] is True
    assert s["email_backend"] == "django.core.mail.backends.filebased.EmailBackend"
    assert s["time_zone"] == "Europe/Oslo"
    assert s["language"] == "nb"
    assert s["payment_provider"] == "local"
    assert s["cache"] == "django.core.cache.backends.locmem.LocMemCache" and s["page_cache"] is True


def test_postgresql_url_and_redis_broker_switch_to_real_services():
    s = read_settings(DEBUG="true", DATABASE_URL="postgres://kf:hemmelig@db.example.no:5433/kundefaktura",
                      CELERY_BROKER_URL="redis://127.0.0.1:6379/3")
    # PostgreSQL through django-prometheus's wrapper of Django's own backend (query counts on /metrics).
    assert s["engine"] == "django_prometheus.db.backends.postgresql"
    assert (s["name"], s["host"], s["port"], s["user"]) == ("kundefaktura", "db.example.no", "5433", "kf")
    assert s["broker"] == "redis://127.0.0.1:6379/3" and s["eager"] is False


def test_cache_url_shares_the_default_cache_and_the_page_cache_can_be_switched_off():
    s = read_settings(DEBUG="true", CACHE_URL="redis://127.0.0.1:6379/2", PAGE_CACHE_ENABLED="false")
    assert s["cache"] == "django.core.cache.backends.redis.RedisCache"
    assert s["cache_location"] == "redis://127.0.0.1:6379/2"
    assert s["page_cache"] is False


def test_smtp_email_url_switches_backend():
    s = read_settings(DEBUG="true", EMAIL_URL="smtp://mailpit:1025")
    assert s["email_backend"] == "django.core.mail.backends.smtp.EmailBackend"


def test_secret_key_is_required_when_debug_is_off():
    proc = run_python(PRINT_SETTINGS, DEBUG="false")
    assert proc.returncode != 0
    assert "ImproperlyConfigured" in proc.stderr
    assert "SECRET_KEY" in proc.stderr


def test_production_settings_are_secure():
    s = read_settings(**production_env())
    assert s["debug"] is False
    assert s["session_cookie_secure"] is True


def test_check_deploy_reports_nothing_in_production():
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS_VARS}
    env.update(production_env(), DJANGO_SETTINGS_MODULE="kundefaktura.settings")
    proc = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "no issues" in proc.stdout


def test_manage_py_on_a_bare_checkout_uses_the_development_defaults():
    """No DEBUG, SECRET_KEY or DATABASE_URL: a developer's checkout — commands run on the embedded defaults."""
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS_VARS and k != "KF_TESTING"}
    proc = subprocess.run([sys.executable, "manage.py", "makemigrations", "--check", "--dry-run"], cwd=REPO_ROOT,
                          env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "No changes detected" in proc.stdout


def test_manage_py_in_production_still_requires_a_secret_key():
    """DATABASE_URL set but no SECRET_KEY: production-like, so the settings refuse to start."""
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS_VARS and k != "KF_TESTING"}
    env["DATABASE_URL"] = "postgres://root@127.0.0.1:5432/kundefaktura"
    proc = subprocess.run([sys.executable, "manage.py", "check"], cwd=REPO_ROOT, env=env, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode != 0 and "SECRET_KEY must be set" in proc.stderr


def test_the_text_document_renderer_is_refused_outside_tests_and_development():
    # A stored PDF is the evidence a customer answered: production never stores a test stand-in.
    proc = run_python(PRINT_SETTINGS, **production_env(), DOCUMENT_RENDERER="text")
    assert proc.returncode != 0 and "DOCUMENT_RENDERER=text is for tests only" in proc.stderr
    proc = run_python(PRINT_SETTINGS, **production_env(), DOCUMENT_RENDERER="fast")
    assert proc.returncode != 0 and "DOCUMENT_RENDERER must be" in proc.stderr
    assert read_settings(DEBUG="true", DOCUMENT_RENDERER="text")["debug"] is True


def test_the_bank_drop_folder_is_read_every_five_minutes_unless_switched_off():
    assert read_settings(DEBUG="true")["bank_drop"] == {"task": "integrations.bank_drop_sweep", "schedule": 300.0}
    assert read_settings(DEBUG="true", ERP_BANK_DROP_INTERVAL="60")["bank_drop"]["schedule"] == 60.0
    assert read_settings(DEBUG="true", ERP_BANK_DROP_INTERVAL="0")["bank_drop"] is None
    proc = run_python(PRINT_SETTINGS, DEBUG="true", ERP_BANK_DROP_SETTLE="-5")
    assert proc.returncode != 0 and "ERP_BANK_DROP_SETTLE" in proc.stderr
