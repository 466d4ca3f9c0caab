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


def stripe_checkout_completed(page, base_url: str, stripe_fake) -> None:
    """Stripe's webhook for the checkout session the page was sent back from (its `session_id`), signed
    and posted to the portal as Stripe would; the portal answers 200."""
    import re
    import urllib.request

    from tests.support.stripe_fake import signed

    session_id = re.search(r"session_id=(\w+)", page.url)[1]
    payload = stripe_fake.event("checkout.session.completed", stripe_fake.sessions[session_id])
    request = urllib.request.Request(f"{base_url}/portal/stripe/webhook/", data=payload, method="POST",
                                     headers={"Content-Type": "application/json",
                                              "Stripe-Signature": signed(payload)["HTTP_STRIPE_SIGNATURE"]})
    with urllib.request.urlopen(request) as response:  # noqa: S310 - the test's own live server
        assert response.status == 200
