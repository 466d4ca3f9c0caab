"""A case worker, in a real browser, types in the ERP search of the basis form, picks a hit and sees
the customer fields and the ERP customer number filled in."""

import pytest
from playwright.sync_api import expect

from tests.support.browser import fill_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_picking_an_erp_hit_fills_the_customer(live_server, page, caseworker, company, settings):
    settings.ERP_ADAPTER = "demo"
    page.goto(f"{live_server.url}/arbeid/grunnlag/ny/")
    fill_login(page, caseworker.username)
    expect(page.get_by_role("heading", name="Nytt fakturagrunnlag")).to_be_visible()
    # The heading can be painted before the deferred scripts ran; typed before htmx listens, the search
    # would never be sent (as for a person typing that fast).
    page.wait_for_load_state("load")

    page.get_by_label("Hent kunde fra ERP").fill("fjellheim")
    hit = page.locator("#erp-customer-hits button.erp-hit")
    expect(hit).to_have_count(1)
    expect(hit).to_contain_text("Fjellheim Hytteforening")
    hit.click()

    expect(page.get_by_label("Navn på ny kunde")).to_have_value("Fjellheim Hytteforening")
    expect(page.get_by_label("E-post")).to_have_value("styret@fjellheim.example")
    expect(page.get_by_label("Telefon")).to_have_value("55 12 34 02")
    expect(page.get_by_label("Organisasjonsnummer")).to_have_value("921000006")
    expect(page.locator("input[name='new_customer_erp_number']")).to_have_value("10002")
    expect(page.locator("[data-erp-picked]")).to_contain_text("kundenr. 10002")
    expect(page.locator("#erp-customer-hits button.erp-hit")).to_have_count(0)
