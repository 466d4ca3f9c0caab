"""Settings as a fresh interpreter reads them from its environment, with none of the caller's
settings variables leaking in."""

import os
import secrets
import subprocess
import sys

from tests.conftest import REPO_ROOT

# Variables the settings read; cleared so the developer's shell (or CI's) cannot leak in.
SETTINGS_VARS = (
    "DEBUG", "SECRET_KEY", "KF_TESTING", "ALLOWED_HOSTS", "SITE_URL", "DATABASE_URL",
    "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "EMAIL_URL", "STRIPE_SECRET_KEY",
    "STRIPE_WEBHOOK_SECRET", "STRIPE_API_BASE", "PAYMENT_PROVIDER", "TIME_ZONE", "LANGUAGE_CODE",
    "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "CSRF_TRUSTED_ORIGINS", "MEDIA_ROOT",
    "DJANGO_ALLOW_ASYNC_UNSAFE", "CACHE_URL", "PAGE_CACHE_ENABLED",
    "STORAGE_URL", "AWS_STORAGE_BUCKET_NAME", "AWS_S3_ENDPOINT_URL", "AWS_S3_REGION_NAME",
    "ERP_BANK_DROP_INTERVAL", "ERP_BANK_DROP_SETTLE",
)


def run_python(code: str, **env_vars) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS_VARS}
    env.update({"DJANGO_SETTINGS_MODULE": "kundefaktura.settings", **env_vars})
    return subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, env=env, capture_output=True,
                          text=True, timeout=60)


def production_env() -> dict:
    return {
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(48)[:50],
        "ALLOWED_HOSTS": "kf.example.no",
        "SITE_URL": "https://kf.example.no",
    }
