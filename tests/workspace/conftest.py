import pytest

from tests.factories import make_company


@pytest.fixture
def company(db):
    return make_company()
