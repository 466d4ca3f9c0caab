"""/healthz: database, broker and file storage reachability as JSON (200 healthy, 503 not)."""

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


def check_database() -> tuple[bool, str]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return True, "ok"
    except Exception as exc:  # noqa: BLE001 — any failure means unhealthy
        return False, type(exc).__name__


def check_broker() -> tuple[bool, str]:
    url = settings.CELERY_BROKER_URL
    if not url:
        return True, "eager"  # no broker configured: tasks run in-process
    from kombu import Connection

    try:
        with Connection(url, connect_timeout=2, transport_options={"socket_timeout": 2}) as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=2)
        return True, "ok"
    except Exception as exc:  # noqa: BLE001
        return False, type(exc).__name__


def check_storage() -> tuple[bool, str]:
    """Stored files can be written: MEDIA_ROOT is writable, or the object store's bucket answers."""
    from django.core.files.storage import default_storage

    try:
        default_storage.check_reachable()
        return True, "ok"
    except Exception as exc:  # noqa: BLE001
        response = getattr(exc, "response", None)  # botocore's ClientError: the S3 error code
        code = response.get("Error", {}).get("Code") if isinstance(response, dict) else None
        return False, f"{type(exc).__name__} {code}" if code else type(exc).__name__


@never_cache
@require_GET
def healthz(request):
    db_ok, db_detail = check_database()
    broker_ok, broker_detail = check_broker()
    storage_ok, storage_detail = check_storage()
    healthy = db_ok and broker_ok and storage_ok
    return JsonResponse(
        {"status": "ok" if healthy else "unhealthy", "database": db_detail, "broker": broker_detail,
         "storage": storage_detail},
        status=200 if healthy else 503,
    )


healthz.public = True
