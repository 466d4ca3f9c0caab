"""/metrics: 404 without METRICS_TOKEN or without the right bearer token; with it, Prometheus text with
django-prometheus's HTTP/DB figures and the business figures read from the database at scrape time."""

import re

import pytest
from django.urls import reverse

from kundefaktura import metrics
from offers.models import OutboundEmail

pytestmark = pytest.mark.django_db
TOKEN = "m" * 40


def _value(text: str, name: str) -> float:
    match = re.search(rf"^{name} ([0-9.e+-]+)$", text, re.M)
    assert match, f"{name} not in the scrape"
    return float(match.group(1))


def test_without_a_configured_token_the_url_does_not_exist(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404


def test_only_the_right_bearer_token_is_answered(client, settings):
    settings.METRICS_TOKEN = TOKEN
    assert reverse("metrics") == "/metrics"
    for header in ({}, {"HTTP_AUTHORIZATION": "Bearer nope"}, {"HTTP_AUTHORIZATION": f"Basic {TOKEN}"},
                   {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}x"}):
        assert client.get("/metrics", **header).status_code == 404
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/plain")
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]


def test_business_figures_come_from_the_database(client, settings, company, caseworker,
                                                 django_capture_on_commit_callbacks):
    from billing import services
    from tests.support.factories import add_line, make_basis

    settings.METRICS_TOKEN = TOKEN
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    basis = make_basis(by=caseworker)
    add_line(basis, caseworker)
    services.offer_send(basis=basis, by=caseworker)  # on_commit not run: its e-mail stays queued
    OutboundEmail.objects.create(to="x@example.com", subject="Feilet", status=OutboundEmail.Status.FAILED)
    client.get("/login/")
    text = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content.decode()
    assert _value(text, "kf_outbox_emails_pending") == 1
    assert _value(text, "kf_outbox_emails_failed") == 1
    assert _value(text, "kf_outbox_oldest_pending_age_seconds") >= 0
    assert _value(text, "kf_offers_sent_total") == 1 and _value(text, "kf_offers_sent_today") == 1
    assert _value(text, "kf_offers_accepted_today") == 0
    assert _value(text, "kf_notifications_pending") == 0
    assert _value(text, "kf_bank_files_waiting") == 0
    assert _value(text, "kf_erp_export_last_success_timestamp_seconds") == 0
    assert _value(text, "kf_metrics_errors") == 0
    assert "# TYPE kf_offers_sent_total counter" in text or "# TYPE kf_offers_sent counter" in text
    # django-prometheus: requests by view and database queries of this process.
    assert "django_http_requests_total_by_view_transport_method_total" in text
    assert 'django_db_execute_total{alias="default",vendor="postgresql"}' in text


def test_one_failing_figure_does_not_hide_the_others(client, settings, monkeypatch):
    settings.METRICS_TOKEN = TOKEN

    def broken():
        raise RuntimeError("database gone")

    monkeypatch.setattr(metrics, "FIGURES", [broken, *metrics.FIGURES])
    text = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content.decode()
    assert _value(text, "kf_metrics_errors") == 1 and "kf_outbox_emails_pending" in text
