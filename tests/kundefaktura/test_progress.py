"""The shared progress partial on the three job pages: counts from the job's own rows, polling while it
runs and not after, the outcome at the end, and only case workers may poll."""

import pytest
from django.urls import reverse

from billing.models import BulkJob, BulkJobItem
from integrations.erp.models import BankImport, ExportBatch
from tests.support.factories import make_basis

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def _partial(client, url):
    response = client.get(url, **HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" not in body and "<progress" in body
    return response, body


def test_bulk_partial_counts_items_and_stops_polling_when_done(caseworker_client, caseworker, company):
    job = BulkJob.objects.create(created_by=caseworker, total=3)
    items = [BulkJobItem.objects.create(job=job, basis=make_basis(by=caseworker, title=f"B{i}")) for i in range(3)]
    BulkJobItem.objects.filter(pk=items[0].pk).update(status="done")
    url = reverse("billing:bulk_detail", args=[job.pk])
    _, body = _partial(caseworker_client, url)
    assert 'value="1"' in body and 'max="3"' in body and "1 av 3 ferdig" in body
    assert f'hx-get="{url}"' in body and 'hx-trigger="every 1s"' in body and 'role="status"' in body
    BulkJobItem.objects.filter(pk=items[1].pk).update(status="done")
    BulkJobItem.objects.filter(pk=items[2].pk).update(status="failed", message="Grunnlaget mangler kunde.")
    _, body = _partial(caseworker_client, url)
    assert "3 av 3 ferdig" in body and "Fullført" in body and "1 feilet" in body
    assert "hx-trigger" not in body and "Grunnlaget mangler kunde." in body


def test_bank_import_partial_counts_booked_credits_and_reloads_at_the_end(caseworker_client, caseworker, company):
    imp = BankImport.objects.create(format="camt054", filename="a.xml", sha256="0" * 64, credit_count=40,
                                    transaction_count=10, status=BankImport.Status.RUNNING)
    url = reverse("erp:bank_import_detail", args=[imp.pk])
    response, body = _partial(caseworker_client, url)
    assert 'value="10"' in body and 'max="40"' in body and "10 av 40 innbetalinger behandlet" in body
    assert "hx-trigger" in body and "HX-Refresh" not in response
    BankImport.objects.filter(pk=imp.pk).update(status=BankImport.Status.DONE, transaction_count=40,
                                                matched_count=40)
    response, body = _partial(caseworker_client, url)
    assert "40 av 40" in body and "40 avstemt" in body and "hx-trigger" not in body
    assert response["HX-Refresh"] == "true"  # once, to show the booked credits
    page = caseworker_client.get(url).content.decode()  # without JavaScript: the same state on reload
    assert "<html" in page and 'value="40"' in page


def test_export_progress_follows_the_batch_row(caseworker_client, company):
    url = reverse("erp:export_progress") + "?etter=0"
    _, body = _partial(caseworker_client, url)
    assert 'value="0"' in body and "Venter på at eksporten starter" in body and "hx-trigger" in body
    batch = ExportBatch.objects.create(status=ExportBatch.Status.PENDING, document_count=7)
    _, body = _partial(caseworker_client, url)
    assert 'value="2"' in body and 'max="4"' in body and "venter på levering" in body
    ExportBatch.objects.filter(pk=batch.pk).update(status=ExportBatch.Status.DELIVERED)
    response, body = _partial(caseworker_client, url)
    assert 'value="4"' in body and f"Bunt {batch.pk} med 7 dokumenter er levert." in body
    assert "hx-trigger" not in body and response["HX-Refresh"] == "true"
    log = caseworker_client.get(reverse("erp:export_log") + "?etter=0").content.decode()
    assert 'id="export-progress"' in log and "er levert" in log
    assert 'id="export-progress"' not in caseworker_client.get(reverse("erp:export_log")).content.decode()


def test_only_case_workers_may_poll(customer_client, installer_client, client, caseworker, company):
    job = BulkJob.objects.create(created_by=caseworker, total=0)
    imp = BankImport.objects.create(format="ocr", filename="o.txt", sha256="1" * 64)
    urls = [reverse("billing:bulk_detail", args=[job.pk]), reverse("erp:bank_import_detail", args=[imp.pk]),
            reverse("erp:export_progress") + "?etter=0"]
    for url in urls:
        assert customer_client.get(url, **HTMX).status_code == 403
        assert installer_client.get(url, **HTMX).status_code == 403
        assert client.get(url, **HTMX).status_code in (302, 401, 403)
