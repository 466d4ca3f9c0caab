"""The work list caches rendered rows by their content: a change shows at once, nothing is stale."""


import pytest
from django.urls import reverse

from billing import services
from tests.support.factories import add_line, make_basis

pytestmark = pytest.mark.django_db


def test_changed_basis_is_shown_at_once_although_rows_are_cached(caseworker_client, caseworker, company):
    basis = make_basis(by=caseworker, title="Gammel tittel")
    add_line(basis, caseworker, unit_price="100.00")
    page = caseworker_client.get(reverse("billing:worklist")).content.decode()
    assert "Gammel tittel" in page and "100,00" in page
    services.basis_update(basis=basis, by=caseworker, title="Ny tittel")
    add_line(basis, caseworker, unit_price="23.45")
    page = caseworker_client.get(reverse("billing:worklist")).content.decode()
    assert "Ny tittel" in page and "Gammel tittel" not in page
    assert "123,45" in page
    services.basis_cancel(basis=basis, by=caseworker, reason="Test")
    page = caseworker_client.get(reverse("billing:worklist")).content.decode()
    assert 'class="chip status-cancelled">Kansellert' in page


def test_rows_are_rendered_once_and_then_served_from_the_cache(caseworker_client, caseworker, company):
    from django.core.cache import caches

    caches["fragments"].clear()
    for i in range(3):
        make_basis(by=caseworker, title=f"Grunnlag {i}")
    caseworker_client.get(reverse("billing:worklist"))
    keys = [k for k in caches["fragments"]._cache if "wl-row" in k]
    assert len(keys) == 3
    page = caseworker_client.get(reverse("billing:worklist")).content.decode()
    assert all(f"Grunnlag {i}" in page for i in range(3))
    assert len([k for k in caches["fragments"]._cache if "wl-row" in k]) == 3, "no new rows rendered"
