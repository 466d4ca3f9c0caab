"""Shared steps of the browser tests (tests/system/browser/)."""

from tests.conftest import TEST_PASSWORD


def fill_login(page, username: str, password: str = TEST_PASSWORD) -> None:
    """Fill and submit the login form the page shows (the login page, or a page that sent us there)."""
    page.get_by_label("Brukernavn").fill(username)
    page.get_by_label("Passord").fill(password)
    page.get_by_role("button", name="Logg inn", exact=True).click()  # not "Logg inn med BankID"


def log_in(page, base_url: str, username: str, password: str = TEST_PASSWORD) -> None:
    """Log in from the login page and wait until the site has let us in."""
    page.goto(f"{base_url}/login/")
    fill_login(page, username, password)
    page.wait_for_url(lambda url: "/login/" not in url)
