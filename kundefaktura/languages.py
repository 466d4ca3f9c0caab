"""Which language a request is answered in.

Before login Django's LocaleMiddleware decides: the language cookie (set by the language switch), else
the browser's Accept-Language, else bokmål. After login the user's own preference wins: a customer's
`Customer.language` (what their documents and e-mails are written in), a case worker's or installer's
`User.language` (empty: follow the browser). The session's user is loaded with their customer row
(kundefaktura/accounts/backends.py), so reading the preference costs no query.
"""

from __future__ import annotations

from django.conf import settings
from django.utils import translation


def language_choices() -> list[tuple[str, str]]:
    """Every complete language (settings.LANGUAGES): a customer may choose any of them."""
    return list(settings.LANGUAGES)


def staff_language_choices() -> list[tuple[str, str]]:
    """The languages the case worker's pages are offered in."""
    return [(code, name) for code, name in settings.LANGUAGES if code in settings.STAFF_LANGUAGES]


def supported(code: str | None) -> str | None:
    """`code` if it is a complete language, else None."""
    return code if code and code in dict(settings.LANGUAGES) else None


def user_preference(user) -> str | None:
    """The stored preference of a logged-in user (None: follow the browser)."""
    if user is None or not user.is_authenticated:
        return None
    customer = getattr(user, "customer", None)  # the reverse one-to-one; None for staff
    if customer is not None:
        return supported(customer.language)
    return supported(getattr(user, "language", ""))


def choices_for(user) -> list[tuple[str, str]]:
    """What the language switch offers this user: every language to customers and before login, the
    staff languages to everybody else."""
    if user is not None and user.is_authenticated and getattr(user, "customer", None) is None:
        return staff_language_choices()
    return language_choices()


class UserLanguageMiddleware:
    """After authentication: a logged-in user with a preference gets it, whatever the browser says.
    Runs after Django's LocaleMiddleware, which handles everyone else (and sets Content-Language)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            code = user_preference(user)
            if code:
                translation.activate(code)
                request.LANGUAGE_CODE = code
        return self.get_response(request)


def language_switch(request) -> dict:
    """Context processor: the languages the header's switch offers this visitor (customers and visitors
    before login: all; case workers and installers: the staff languages). No query: the customer row
    comes with the user."""
    user = getattr(request, "user", None)
    everything = user is None or not user.is_authenticated or getattr(user, "customer", None) is not None
    return {"switch_languages": language_choices() if everything else staff_language_choices()}
