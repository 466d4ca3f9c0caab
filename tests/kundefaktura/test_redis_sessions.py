"""Sessions in Redis (SESSION_REDIS_URL): sign in, use a page, sign out — no session row in the database."""

import pytest
from django.contrib.sessions.models import Session
from django.core.cache import caches
from django.urls import reverse

from tests.conftest import redis_ping, require_service

pytestmark = pytest.mark.django_db


def test_a_session_lives_in_redis_and_ends_at_logout(client, settings, redis_url, caseworker, password):
    require_service("Redis", lambda: redis_ping(redis_url))
    settings.CACHES = {**settings.CACHES, "sessions": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_url,
        "KEY_PREFIX": "kf-session-test", "TIMEOUT": None}}
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cache"
    settings.SESSION_CACHE_ALIAS = "sessions"
    caches["sessions"].clear()
    response = client.post(reverse("login"), {"username": caseworker.username, "password": password})
    assert response.status_code == 302
    key = client.cookies["sessionid"].value
    assert caches["sessions"].get(f"django.contrib.sessions.cache{key}")["_auth_user_id"] == str(caseworker.pk)
    assert not Session.objects.exists()
    assert client.get(reverse("billing:worklist")).status_code == 200
    client.post(reverse("logout"))
    assert caches["sessions"].get(f"django.contrib.sessions.cache{key}") is None
    client.cookies["sessionid"] = key  # the old cookie no longer signs anyone in
    assert client.get(reverse("billing:worklist")).status_code == 302



def test_a_signed_in_page_reads_no_session_row(caseworker, settings, redis_url):
    """With sessions in Redis a signed-in page asks the database nothing about the session."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    require_service("Redis", lambda: redis_ping(redis_url))
    settings.CACHES = {**settings.CACHES, "sessions": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_url,
        "KEY_PREFIX": "kf-session-test", "TIMEOUT": None}}
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cache"
    settings.SESSION_CACHE_ALIAS = "sessions"
    client = Client()
    client.force_login(caseworker, backend="django.contrib.auth.backends.ModelBackend")
    url = reverse("billing:worklist") + "?q=ingen"
    client.get(url)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    assert not any("django_session" in q["sql"] for q in queries.captured_queries)
