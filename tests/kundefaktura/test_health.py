"""/healthz: what a load balancer and an operator see."""

import pytest
from django.db import OperationalError

from kundefaktura import health
from tests.conftest import free_port, redis_ping, require_service

pytestmark = pytest.mark.django_db


def test_healthy_without_broker_reports_database_ok_and_eager_tasks(client, settings):
    settings.CELERY_BROKER_URL = ""
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"status": "ok", "database": "ok", "broker": "eager", "storage": "ok"}
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]


def test_healthy_with_a_reachable_redis_broker(client, settings, redis_url):
    require_service("Redis", lambda: redis_ping(redis_url))
    settings.CELERY_BROKER_URL = redis_url
    response = client.get("/healthz")
    assert response.status_code == 200, response.content
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok", "storage": "ok"}


def test_unhealthy_when_the_broker_port_is_closed(client, settings):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{free_port()}/0"
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unhealthy"
    assert body["database"] == "ok"
    assert body["broker"] != "ok"


class _DeadConnection:
    def cursor(self):
        raise OperationalError("connection refused")


def test_unhealthy_when_the_database_check_fails(client, settings, monkeypatch):
    settings.CELERY_BROKER_URL = ""
    monkeypatch.setattr(health, "connection", _DeadConnection())
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "unhealthy", "database": "OperationalError", "broker": "eager",
                               "storage": "ok"}


def test_the_object_store_is_checked(client, settings, s3_storage, s3_server):
    settings.CELERY_BROKER_URL = ""
    assert client.get("/healthz").json()["storage"] == "ok"
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "kundefaktura.s3storage.WriteOnceS3Storage",
        "OPTIONS": s3_server.storage_options("kf-no-such-bucket")}}
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "unhealthy", "database": "ok", "broker": "eager",
                               "storage": "ClientError 404"}


def test_healthz_needs_no_login_and_only_answers_get(client):
    assert client.get("/healthz").status_code in (200, 503)
    assert client.post("/healthz").status_code == 405
