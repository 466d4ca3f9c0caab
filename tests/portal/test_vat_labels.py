"""VAT codes read in words on the customer's offer page, never as a bare "O" or "S"."""

import re

import pytest
from django.urls import reverse

from tests.support.factories import customer_basis

pytestmark = pytest.mark.django_db


def test_offer_page_names_vat_codes_in_words(company, customer_client, customer_user):
    basis = customer_basis(customer_user)
    page = customer_client.get(reverse("portal:basis", args=[basis.pk])).content.decode()
    assert "Utenfor mva – anleggsbidrag" in page
    assert "25 % mva" in page
    assert not re.search(r"<td[^>]*>\s*[OSEZ]\s*</td>", page)
