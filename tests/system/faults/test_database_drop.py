"""The database connection dies in the middle of a request, after the first writes: the user gets the
plain error page (no traceback), and nothing of the half-done change is stored — the writes were one
transaction, and PostgreSQL rolled it back with the connection."""

import json

import psycopg
import pytest
from django.db import connection
from django.db.models.signals import post_save
from django.test import Client
from django.urls import reverse

from billing.models import AuditEvent, Customer, InvoiceBasis, Offer
from billing.signals import audit_recorded
from integrations import services as integrations
from offers.models import OutboundEmail
from tests.support.api import basis_payload
from tests.support.factories import example1_lines, make_basis

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def terminate_this_connection():
    """pg_terminate_backend on the request's own connection, from a second connection."""
    pid = connection.connection.info.backend_pid
    db = connection.settings_dict
    with psycopg.connect(host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432, user=db["USER"],
                         dbname=db["NAME"], autocommit=True) as admin:
        assert admin.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone() == (True,)


@pytest.fixture
def postgres(company):
    if connection.vendor != "postgresql":
        pytest.skip("pg_terminate_backend is PostgreSQL's")


def test_connection_killed_while_sending_an_offer_shows_the_error_page_and_stores_nothing(
        postgres, caseworker):
    basis = make_basis()
    example1_lines(basis)
    killed = []

    def kill_after_first_audit(sender, event, **kwargs):
        # By now the offer row, the status change, the audit event and the e-mail row are written.
        if event.action == "billing.basis.offer_sent" and not killed:
            killed.append(event.pk)
            terminate_this_connection()

    audit_recorded.connect(kill_after_first_audit, dispatch_uid="test-kill")
    try:
        client = Client(raise_request_exception=False)
        client.force_login(caseworker, backend="django.contrib.auth.backends.ModelBackend")
        response = client.post(reverse("billing:basis_action", args=[basis.pk, "send_offer"]))
    finally:
        audit_recorded.disconnect(dispatch_uid="test-kill")
    assert killed, "the hook never ran"
    page = response.content.decode()
    assert response.status_code == 500
    assert "Noe gikk galt" in page and "Referanse:" in page and "Ingenting er lagret halvveis" not in page
    assert "Traceback" not in page and "OperationalError" not in page and "psycopg" not in page

    basis.refresh_from_db()  # a fresh connection
    assert basis.status == "draft"
    assert not Offer.objects.filter(basis=basis).exists()
    assert not AuditEvent.objects.filter(basis=basis, action="billing.basis.offer_sent").exists()
    assert not OutboundEmail.objects.filter(basis=basis).exists()
    # And the case worker can simply try again.
    again = client.post(reverse("billing:basis_action", args=[basis.pk, "send_offer"]))
    assert again.status_code == 302
    basis.refresh_from_db()
    assert basis.status == "offer_sent" and Offer.objects.filter(basis=basis).count() == 1


def test_connection_killed_while_the_api_creates_a_basis_answers_500_json_and_stores_nothing(postgres):
    _, token = integrations.api_client_create(name="Nettmelding")
    killed = []

    def kill_after_customer(sender, instance, created, **kwargs):
        if created and not killed:  # the customer is written; the basis is not yet
            killed.append(instance.pk)
            terminate_this_connection()

    post_save.connect(kill_after_customer, sender=Customer, dispatch_uid="test-kill")
    try:
        response = Client(raise_request_exception=False).post(
            "/api/v1/invoice-bases", json.dumps(basis_payload()), content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {token}")
    finally:
        post_save.disconnect(sender=Customer, dispatch_uid="test-kill")
    assert killed
    assert response.status_code == 500
    body = response.content.decode()
    assert json.loads(body)["error"]["code"] == "server_error"  # the API's error shape
    assert "Traceback" not in body and "psycopg" not in body
    assert not Customer.objects.exists() and not InvoiceBasis.objects.exists()
