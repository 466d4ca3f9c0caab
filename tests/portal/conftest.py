import json

import pytest

from kundefaktura.accounts.roles import CUSTOMER


@pytest.fixture
def other_customer_user(make_user):
    return make_user(CUSTOMER, username="ola", first_name="Ola", last_name="Annen", email="ola@example.com")


def as_json(response):
    return json.loads(response.content)
