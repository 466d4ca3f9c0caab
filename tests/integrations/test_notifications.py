"""Outbound status notifications: received by a local HTTP server that verifies the HMAC signature;
a receiver that is down, or a broker that is down, loses nothing and order per basis is kept."""

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from billing import services as billing
from billing.models import Invoice
from integrations import services, tasks
from integrations.models import DeliveryAttempt, Notification
from kundefaktura.outbox import sweep_all
from tests.support.api import api_basis
from tests.support.webhooks import FLOW, SECRET, Receiver, events

pytestmark = pytest.mark.django_db


@pytest.fixture
def receiver():
    r = Receiver(SECRET)
    r.start()
    yield r
    r.stop()


@pytest.fixture
def subscribed(api, api_client_row, receiver):
    return services.subscription_create(client=api_client_row, url=receiver.url, secret=SECRET)


def send_and_accept(basis, commit):
    with commit(execute=True):
        billing.offer_send(basis=basis, by=None)
    with commit(execute=True):
        billing.offer_accept(basis=basis, by=None)



def test_status_changes_are_posted_signed_and_in_order(api, subscribed, receiver,
                                                       django_capture_on_commit_callbacks):
    basis = api_basis(api)
    send_and_accept(basis, django_capture_on_commit_callbacks)
    assert receiver.rejected == 0
    assert events(receiver) == FLOW
    payload = receiver.received[-1]
    assert payload["invoice_basis"]["number"] == basis.number
    assert payload["invoice_basis"]["work_release"] == "released"
    assert payload["invoice_basis"]["status_label"] == "Akseptert"
    assert payload["related_cases"][0]["external_id"] == "NM-9"
    assert "/installator/lenke/" in payload["related_cases"][0]["status_url"]
    assert Notification.objects.filter(status="delivered").count() == 3


def test_a_wrong_secret_is_refused_by_the_receiver(api, api_client_row, receiver,
                                                   django_capture_on_commit_callbacks):
    services.subscription_create(client=api_client_row, url=receiver.url, secret="feil")
    basis = api_basis(api)
    with django_capture_on_commit_callbacks(execute=True):
        billing.offer_send(basis=basis, by=None)
    assert receiver.rejected == 1 and receiver.received == []
    row = Notification.objects.get()
    assert row.status == "pending" and row.last_status_code == 401


def test_receiver_down_then_delivered_later_in_order(api, subscribed, receiver,
                                                     django_capture_on_commit_callbacks):
    basis = api_basis(api)
    receiver.stop()
    send_and_accept(basis, django_capture_on_commit_callbacks)
    assert receiver.received == []
    rows = list(Notification.objects.order_by("id"))
    assert [r.status for r in rows] == ["pending"] * 3
    # Only the head of the queue was tried: event n+1 never goes before event n.
    assert [r.attempts for r in rows] == [1, 0, 0]
    assert rows[0].next_attempt_at > timezone.now()
    assert "ConnectionError" in rows[0].last_error

    # Still down, after the backoff: tried again, backoff grows.
    first_wait = rows[0].next_attempt_at - timezone.now()
    with time_machine.travel(timezone.now() + dt.timedelta(hours=1), tick=False):
        assert services.sweep_notifications() == 1
        head = Notification.objects.order_by("id").first()
        assert head.attempts == 2
        assert head.next_attempt_at - timezone.now() > first_wait

    # Receiver back; the periodic outbox sweep delivers everything, in order.
    receiver.start()
    with time_machine.travel(timezone.now() + dt.timedelta(hours=3), tick=False):
        sweep_all()
    assert events(receiver) == FLOW
    assert Notification.objects.filter(status="pending").count() == 0
    assert DeliveryAttempt.objects.filter(ok=False).count() == 2


def test_receiver_error_status_is_retried(api, subscribed, receiver, django_capture_on_commit_callbacks):
    basis = api_basis(api)
    receiver.mode = "error"
    with django_capture_on_commit_callbacks(execute=True):
        billing.offer_send(basis=basis, by=None)
    row = Notification.objects.get()
    assert row.status == "pending" and row.last_status_code == 503
    receiver.mode = "ok"
    with time_machine.travel(timezone.now() + dt.timedelta(hours=1), tick=False):
        services.sweep_notifications()
    assert events(receiver) == [FLOW[0]]


def test_broker_down_loses_nothing(api, subscribed, receiver, django_capture_on_commit_callbacks, monkeypatch):
    from kombu.exceptions import OperationalError

    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6399. Connection refused.")

    basis = api_basis(api)
    monkeypatch.setattr(tasks.deliver_notifications, "apply_async", broker_down)
    send_and_accept(basis, django_capture_on_commit_callbacks)  # the change itself succeeds
    basis.refresh_from_db()
    assert basis.status == "accepted" and basis.work_release == "released"
    assert receiver.received == []
    assert Notification.objects.filter(status="pending", attempts=0).count() == 3

    monkeypatch.undo()
    sweep_all()  # broker back: the periodic sweep re-queues the rows
    assert events(receiver) == FLOW


def test_prepayment_release_is_notified_when_paid(api, subscribed, receiver, django_capture_on_commit_callbacks):
    basis = api_basis(api, reference="PRE-1", prepayment_required=True)
    send_and_accept(basis, django_capture_on_commit_callbacks)
    assert ("invoice_basis.work_release_changed", "released") not in events(receiver)
    assert ("invoice_basis.status_changed", "invoiced") in events(receiver)
    with django_capture_on_commit_callbacks(execute=True):
        for inv in Invoice.objects.filter(basis=basis):
            billing.payment_register(invoice=inv, by=None, amount=inv.gross_total, method="bank_transfer")
    assert events(receiver)[-2:] == [("invoice_basis.status_changed", "paid"),
                                     ("invoice_basis.work_release_changed", "released")]


def test_only_related_clients_are_notified_unless_subscribed_to_all(company, receiver,
                                                                     django_capture_on_commit_callbacks):
    from tests.support.api import ApiClientWrapper

    owner, owner_token = services.api_client_create(name="Eier")
    other, _t = services.api_client_create(name="Annen")
    erp, _t = services.api_client_create(name="ERP")
    services.subscription_create(client=other, url=receiver.url + "/other", secret=SECRET)
    services.subscription_create(client=erp, url=receiver.url + "/erp", secret=SECRET, all_bases=True)
    basis = api_basis(ApiClientWrapper(owner_token))
    with django_capture_on_commit_callbacks(execute=True):
        billing.offer_send(basis=basis, by=None)
    assert [n.subscription.client.name for n in Notification.objects.all()] == ["ERP"]


def test_backoff_is_exponential_and_capped(settings):
    settings.NOTIFY_BACKOFF_BASE = 30
    settings.NOTIFY_BACKOFF_MAX = 3600
    assert [services.backoff_seconds(n) for n in (1, 2, 3, 4, 10)] == [30, 60, 120, 240, 3600]


def test_delivery_log_page_for_case_workers(api, subscribed, receiver, caseworker_client, installer_client,
                                            django_capture_on_commit_callbacks):
    basis = api_basis(api)
    receiver.mode = "error"
    with django_capture_on_commit_callbacks(execute=True):
        billing.offer_send(basis=basis, by=None)
    page = caseworker_client.get("/integrasjoner/varsler/")
    assert page.status_code == 200
    html = page.content.decode()
    assert basis.number in html and "Nettmelding" in html and "HTTP 503" in html and "Venter" in html
    assert caseworker_client.get("/integrasjoner/varsler/?status=delivered").content.decode().count(
        basis.number) == 0
    assert installer_client.get("/integrasjoner/varsler/").status_code == 403
