import pytest


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    """The users' browsers speak Norwegian (Django's own messages follow Accept-Language)."""
    return {**browser_context_args, "locale": "nb-NO"}
