"""Rate limits start from nothing: a module that imports `fresh_rate_limits` gets it for every test."""

import pytest


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    """The login-link request limit lives in the default cache: start and leave it empty."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
