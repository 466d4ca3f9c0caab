"""The ERP pages speak plainly: a second export with nothing new says so and creates nothing, counts
take the right plural, and the basis page names its source the way the work-list filter does."""

import pytest
from django.urls import reverse

from integrations.erp.models import ExportBatch
from tests.integrations.erp.conftest import issue_settlement_credit_note
from tests.support.factories import make_basis

pytestmark = pytest.mark.django_db


def test_second_export_with_nothing_new_says_so_and_creates_nothing(every_kind, caseworker_client,
                                                                    django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = caseworker_client.post(reverse("erp:export_start"), follow=True)
    assert "Eksporten er startet" in first.content.decode()
    assert ExportBatch.objects.count() == 1
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        second = caseworker_client.post(reverse("erp:export_start"), follow=True)
    page = second.content.decode()
    assert "Ingen nye dokumenter å eksportere" in page
    assert "Eksporten er startet" not in page
    assert callbacks == [] and ExportBatch.objects.count() == 1


def test_export_detail_counts_use_singular_and_plural(company, caseworker, caseworker_client,
                                                      django_capture_on_commit_callbacks):
    issue_settlement_credit_note(caseworker)
    with django_capture_on_commit_callbacks(execute=True):
        caseworker_client.post(reverse("erp:export_start"))
    batch = ExportBatch.objects.get()
    assert batch.credit_note_count == 1
    page = caseworker_client.get(reverse("erp:export_detail", args=[batch.pk])).content.decode()
    assert "1 kreditnota)" in page and "1 kreditnotaer" not in page
    assert f"{batch.invoice_count} fakturaer" in page or (batch.invoice_count == 1 and "1 faktura," in page)


def test_basis_page_shows_source_label_not_code(company, caseworker, caseworker_client):
    basis = make_basis(by=caseworker)
    assert basis.source == "manual"
    page = caseworker_client.get(reverse("billing:basis_detail", args=[basis.pk])).content.decode()
    assert "<dd>Manuell" in page
    assert "<dd>manual" not in page
