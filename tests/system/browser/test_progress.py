"""The progress bar in a real browser: the ERP export page follows its batch through its steps while
htmx polls, then shows the outcome; axe finds nothing on the running bar or on the outcome."""

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from integrations.erp.models import ExportBatch
from tests.conftest import console_error_recorder
from tests.support.browser import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

AXE_OPTIONS = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]},
               "resultTypes": ["violations"]}


def _axe_violations(page) -> list[str]:
    results = Axe().run(page, options=AXE_OPTIONS)
    return [f"{v['id']}: {v['help']}" for v in results.response["violations"]
            if v["impact"] in ("serious", "critical") or any(t.startswith("wcag") for t in v["tags"])]


def test_the_export_progress_bar_moves_and_ends_with_the_outcome(live_server, page, caseworker, company,
                                                                 artifacts_dir):
    problems: list[str] = []
    console_error_recorder(page, problems)
    log_in(page, live_server.url, caseworker.username)
    page.goto(f"{live_server.url}/erp/eksport/?etter=0")  # as after *Eksporter nå*, before a worker took it
    card = page.locator("#export-progress")
    bar = card.locator("progress")
    expect(card).to_contain_text("Venter på at eksporten starter")
    expect(bar).to_have_attribute("value", "0")
    assert _axe_violations(page) == []

    batch = ExportBatch.objects.create(status=ExportBatch.Status.PENDING, document_count=3)  # the worker writes
    expect(bar).to_have_attribute("value", "2", timeout=10_000)  # htmx polled and swapped the partial
    expect(card).to_contain_text("Steg 2 av 4")
    expect(card.get_by_role("status")).to_contain_text("venter på levering")

    ExportBatch.objects.filter(pk=batch.pk).update(status=ExportBatch.Status.DELIVERED, invoice_count=3)
    expect(card).to_contain_text(f"Bunt {batch.pk} med 3 dokumenter er levert.", timeout=10_000)
    expect(bar).to_have_attribute("value", "4")
    expect(page.locator("table")).to_contain_text(f"#{batch.pk}")  # reloaded once: the log lists the batch
    expect(card).not_to_have_attribute("hx-trigger", "every 1s")  # polling has stopped
    page.screenshot(path=str(artifacts_dir / "export-progress.png"), full_page=True)
    assert _axe_violations(page) == []
    assert problems == []
