"""The work list shows a change at once: nothing rendered earlier is served stale."""


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


def test_rows_are_written_without_the_row_template(caseworker_client, caseworker, company):
    """Rows are written in Python (byte for byte as the template: test_worklist_rows.py), never through
    the template engine, so a page of 200 rows costs no 200 template renders."""
    for i in range(3):
        make_basis(by=caseworker, title=f"Grunnlag {i}")
    response = caseworker_client.get(reverse("billing:worklist"))
    page = response.content.decode()
    assert all(f"Grunnlag {i}" in page for i in range(3))
    assert page.count('name="ids"') == 3
    assert "workspace/_worklist_row.html" not in [t.name for t in response.templates]
