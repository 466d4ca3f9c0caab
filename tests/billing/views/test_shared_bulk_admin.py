"""Shared costs pages, bulk offer sending with progress, and the admin."""

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib import admin
from django.urls import reverse

from billing import services
from billing.models import BulkJob, BulkJobItem, Invoice, InvoiceLine, SharedCost, TenYearRefund
from billing.status import Status
from tests.support.factories import NO_CUSTOMER, add_line, make_basis

D = Decimal
NBSP = "\u00a0"
pytestmark = pytest.mark.django_db


def html(response) -> str:
    return response.content.decode()


# --- shared costs -------------------------------------------------------------------------------------


def test_create_shared_cost_add_participants_and_see_the_allocation(caseworker_client, caseworker, company):
    response = caseworker_client.post(reverse("billing:shared_create"), {
        "description": "Nettstasjon Lia", "capacity": "400", "capacity_unit": "kVA",
        "allocation": "component_capacity", "expected_count": "", "energised_on": "2026-01-10",
        "line-category": "transformer_delivery", "line-description": "Transformator", "line-quantity": "1",
        "line-unit": "stk", "line-unit_price": "480000"})
    assert response.status_code == 302
    shared = SharedCost.objects.get(description="Nettstasjon Lia")
    a = make_basis(by=caseworker, title="Tomt A")
    b = make_basis(by=caseworker, title="Tomt B")
    search = html(caseworker_client.get(reverse("billing:shared_basis_search", args=[shared.pk]),
                                        {"basis_q": a.number}))
    assert a.number in search and b.number not in search
    for basis, cap in ((a, "60"), (b, "90")):
        r = caseworker_client.post(reverse("billing:shared_participant_add", args=[shared.pk]),
                                   {"basis": basis.pk, "capacity": cap})
        assert r.status_code == 302
    page = html(caseworker_client.get(reverse("billing:shared_detail", args=[shared.pk])))
    assert f"72{NBSP}000,00{NBSP}kr" in page and f"108{NBSP}000,00{NBSP}kr" in page  # docs/billing-rules.md example 2
    assert f'id="carried">300{NBSP}000,00{NBSP}kr' in page
    # the share is a read-only line on the participant's basis
    basis_page = html(caseworker_client.get(reverse("billing:basis_detail", args=[a.pk])))
    assert "Felles anlegg" in basis_page and f"72{NBSP}000,00" in basis_page


def test_shared_cost_validation_errors(caseworker_client, caseworker, company):
    r = caseworker_client.post(reverse("billing:shared_create"), {
        "description": "Boligfelt", "capacity": "1000", "capacity_unit": "kVA", "allocation": "equal_per_expected"})
    assert r.status_code == 422 and "krever forventet antall" in html(r)
    shared, _ = services.shared_cost_create(by=caseworker, description="X", capacity=D("100"))
    r = caseworker_client.post(reverse("billing:shared_participant_add", args=[shared.pk]), {"capacity": "10"})
    assert r.status_code == 422


def test_ten_year_refund_is_proposed_and_issued_as_credit_note(caseworker_client, caseworker, company):
    shared, _ = services.shared_cost_create(
        by=caseworker, description="Kabel", capacity=D("40"), allocation="ordered_capacity",
        energised_on=dt.date.today() - dt.timedelta(days=400),
        lines=[{"description": "Kabel", "unit_price": D("200000.00")}])
    first = make_basis(by=caseworker)
    services.shared_cost_add_participant(shared_cost=shared, basis=first, capacity=D("25"), by=caseworker)
    services.offer_send(basis=first, by=caseworker)
    services.offer_accept(basis=first, by=None)
    services.invoices_issue(basis=first, by=caseworker)
    second = make_basis(by=caseworker)
    services.shared_cost_add_participant(shared_cost=shared, basis=second, capacity=D("15"), by=caseworker)
    refund = TenYearRefund.objects.get()
    page = html(caseworker_client.get(reverse("billing:shared_detail", args=[shared.pk])))
    assert "Utsted kreditnota" in page and f"75{NBSP}000,00{NBSP}kr" in page
    r = caseworker_client.post(reverse("billing:shared_refund_issue", args=[shared.pk, refund.pk]), follow=True)
    assert "Kreditnota" in html(r) and "er utstedt" in html(r)
    refund.refresh_from_db()
    assert refund.status == TenYearRefund.Status.CREDITED and refund.credit_note.number is not None
    assert "Utsted kreditnota" not in html(caseworker_client.get(reverse("billing:shared_detail", args=[shared.pk])))


def test_shared_pages_refused_for_customer(customer_client, caseworker, company):
    shared, _ = services.shared_cost_create(by=caseworker, description="X", capacity=D("100"))
    assert customer_client.get(reverse("billing:shared_detail", args=[shared.pk])).status_code == 403
    assert customer_client.post(reverse("billing:shared_participant_add", args=[shared.pk])).status_code == 403


# --- bulk --------------------------------------------------------------------------------------------


def test_bulk_send_offers_runs_a_task_per_basis_and_shows_the_result_per_basis(
        caseworker_client, caseworker, company, django_capture_on_commit_callbacks):
    ready = [make_basis(by=caseworker, title=f"Klar {i}") for i in range(3)]
    for basis in ready:
        add_line(basis, caseworker)
    not_ready = make_basis(by=caseworker, title="Uten kunde", customer=NO_CUSTOMER)
    ids = [b.pk for b in ready] + [not_ready.pk]
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = caseworker_client.post(reverse("billing:bulk_send_offers"), {"ids": ids})
    assert response.status_code == 302
    job = BulkJob.objects.get()
    assert job.total == 4 and len(callbacks) >= 1
    assert response["Location"] == reverse("billing:bulk_detail", args=[job.pk])
    # Celery runs eagerly in tests (after commit): every item has its result.
    statuses = dict(job.items.values_list("basis_id", "status"))
    assert [statuses[b.pk] for b in ready] == ["done"] * 3 and statuses[not_ready.pk] == "failed"
    for basis in ready:
        basis.refresh_from_db()
        assert basis.status == Status.OFFER_SENT
    page = html(caseworker_client.get(response["Location"]))
    assert "4 av 4 ferdig" in page and "1 feilet" in page and "Grunnlaget mangler kunde." in page
    assert "hx-trigger" not in page  # finished: no more polling
    partial = html(caseworker_client.get(response["Location"], HTTP_HX_REQUEST="true"))
    assert "<html" not in partial and "Fullført" in partial


def test_bulk_progress_polls_while_items_are_pending(caseworker_client, caseworker, company):
    basis = make_basis(by=caseworker)
    job = BulkJob.objects.create(created_by=caseworker, total=1)
    BulkJobItem.objects.create(job=job, basis=basis)
    page = html(caseworker_client.get(reverse("billing:bulk_detail", args=[job.pk])))
    assert 'hx-trigger="every 1s"' in page and "0 av 1 ferdig" in page
    # a redelivered task for a finished item does nothing
    item = job.items.get()
    assert services.bulk_offer_send_item(item_id=item.pk) == "failed"
    assert services.bulk_offer_send_item(item_id=item.pk) == "skipped"


def test_bulk_with_nothing_selected_says_so(caseworker_client, company):
    r = caseworker_client.post(reverse("billing:bulk_send_offers"), {}, follow=True)
    assert "Velg minst ett fakturagrunnlag." in html(r)
    assert not BulkJob.objects.exists()


def test_bulk_refused_for_installer(installer_client, company):
    assert installer_client.post(reverse("billing:bulk_send_offers"), {"ids": [1]}).status_code == 403


# --- admin ----------------------------------------------------------------------------------------------


@pytest.fixture
def admin_client_(make_user):
    from django.contrib.auth import get_user_model
    from django.test import Client

    user = get_user_model().objects.create_superuser("admin", "admin@example.com", "x")
    client = Client()
    client.force_login(user)
    return client


def test_every_registered_model_lists_with_search_and_filters(admin_client_, caseworker, company):
    basis = make_basis(by=caseworker)
    add_line(basis, caseworker)
    failures = []
    for model, model_admin in admin.site._registry.items():
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        params = {"q": "test"} if model_admin.search_fields else {}
        response = admin_client_.get(url, params)
        if response.status_code != 200:
            failures.append((url, response.status_code))
        if model._meta.app_label == "billing":
            assert model_admin.search_fields, f"{model.__name__} has no search"
            assert model_admin.list_filter or model.__name__ == "NumberSeries", f"{model.__name__} has no filters"
    assert not failures


def test_issued_invoice_cannot_be_changed_or_deleted_in_the_admin(admin_client_, caseworker, company):
    from tests.support.factories import accepted_basis

    basis = accepted_basis(by=caseworker)
    invoice = services.invoices_issue(basis=basis, by=caseworker)[0]
    line = invoice.lines.first()
    url = reverse("admin:billing_invoice_change", args=[invoice.pk])
    page = admin_client_.get(url)
    assert page.status_code == 200 and 'name="note"' not in page.content.decode()  # view only
    response = admin_client_.post(url, {"note": "endret", "kid": "123", "gross_total": "1"})
    assert response.status_code == 403
    assert admin_client_.post(reverse("admin:billing_invoice_delete", args=[invoice.pk]), {"post": "yes"}) \
        .status_code == 403
    line_url = reverse("admin:billing_invoiceline_change", args=[line.pk])
    assert admin_client_.post(line_url, {"description": "endret", "amount": "1"}).status_code == 403
    assert admin_client_.post(reverse("admin:billing_invoiceline_delete", args=[line.pk]), {"post": "yes"}) \
        .status_code == 403
    r = admin_client_.post(reverse("admin:billing_invoice_changelist"),
                           {"action": "delete_selected", "_selected_action": [invoice.pk], "post": "yes"})
    assert r.status_code in (200, 302)
    invoice = Invoice.objects.get(pk=invoice.pk)
    assert invoice.note == "" and invoice.gross_total == basis.invoices.get(pk=invoice.pk).gross_total
    assert InvoiceLine.objects.filter(pk=line.pk, description=line.description).exists()


def _bulk_statements(caseworker, count: int, django_capture_on_commit_callbacks) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.support.factories import make_customer

    bases = []
    for i in range(count):
        customer = make_customer(name=f"Kunde {count}-{i}", email=f"kunde{count}-{i}@example.com")
        bases.append(make_basis(by=caseworker, customer=customer, title=f"Grunnlag {count}-{i}"))
        add_line(bases[-1], caseworker)
    with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks(execute=True):
        job = services.bulk_offer_send_start(bases=bases, by=caseworker)
    assert set(job.items.values_list("status", flat=True)) == {"done"}
    return len(queries)


def test_a_bulk_document_costs_a_fixed_number_of_statements(caseworker, company,
                                                             django_capture_on_commit_callbacks):
    """Claim, send, portal user, e-mail, render, store, deliver: the same statements for every document
    of a job (a new customer each), and no more than counted when they were cut."""
    one = _bulk_statements(caseworker, 1, django_capture_on_commit_callbacks)
    three = _bulk_statements(caseworker, 3, django_capture_on_commit_callbacks)
    per_document = (three - one) / 2
    assert per_document == int(per_document), "every document costs the same"
    assert per_document <= 53, "53 statements a document in the test database (about 55 in production's)"
