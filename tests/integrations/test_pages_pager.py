"""The case worker's related-case list pages through many cases and keeps the search."""

import pytest
from django.urls import reverse

from integrations.models import RelatedCase
from tests.support.factories import make_basis

pytestmark = pytest.mark.django_db


def test_related_case_list_pages_and_keeps_the_search(caseworker_client, caseworker, company):
    basis = make_basis(by=caseworker)
    RelatedCase.objects.bulk_create([RelatedCase(basis=basis, source="nettmelding", external_id=f"NM-{i:03d}",
                                                 title="Forhåndsmelding") for i in range(60)])
    url = reverse("integrations:related_cases")
    first = caseworker_client.get(url, {"q": "NM-0"}).content.decode()
    assert "Side 1 av 2" in first and 'href="?q=NM-0&amp;side=2"' in first
    second = caseworker_client.get(url, {"q": "NM-0", "side": 2}).content.decode()
    assert "Side 2 av 2" in second and 'href="?q=NM-0&amp;side=1"' in second
