"""The case worker logs in with a real browser (Debian's chromium, headless) and sees the workspace."""

import re

import pytest
from playwright.sync_api import expect

from tests.support.browser import fill_login

pytestmark = pytest.mark.browser


def test_caseworker_logs_in_through_the_form_and_sees_the_worklist(live_server, page, caseworker,
                                                                   artifacts_dir):
    page.goto(f"{live_server.url}/arbeid/")
    # Anonymous: sent to the login page, which is in Norwegian and labelled.
    expect(page).to_have_url(re.compile(r"/login/\?next=/arbeid/$"))
    expect(page.get_by_role("heading", name="Logg inn")).to_be_visible()

    fill_login(page, caseworker.username)

    expect(page).to_have_url(f"{live_server.url}/arbeid/")
    expect(page.get_by_role("heading", name="Arbeidsliste", level=1)).to_be_visible()
    expect(page.get_by_role("navigation", name="Hovedmeny")).to_contain_text("Arbeidsliste")
    expect(page.locator(".userbox")).to_contain_text("Sara Saksbehandler")
    # Static files (stylesheet, htmx) are served: the page is styled, not bare HTML.
    assert page.evaluate("() => document.styleSheets.length") >= 1
    assert page.evaluate("() => typeof window.htmx") == "object"
    page.screenshot(path=str(artifacts_dir / "caseworker-worklist.png"), full_page=True)

    page.get_by_role("button", name="Logg ut").click()
    expect(page).to_have_url(re.compile(r"/login/$"))
