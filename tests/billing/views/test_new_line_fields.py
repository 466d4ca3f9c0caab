"""The empty new-line form on the basis page is rendered once per language and set of categories and VAT
codes (`new_line_fields` in billing/views/basis_page.py): the same markup as rendering the form, and a
category or VAT code changed by an administrator shows at once."""

from decimal import Decimal

import pytest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from billing.forms import LineForm
from billing.models import CostCategory, VatCode
from billing.selectors import reference
from billing.views import basis_page
from billing.views.basis_page import NEW_LINE_FIELDS, new_line_fields
from tests.support.factories import make_basis

# Outside a transaction, as a request runs: only there does reference() keep its rows between calls.
pytestmark = pytest.mark.django_db(transaction=True)


def _page(client, basis) -> str:
    response = client.get(reverse("billing:basis_detail", args=[basis.pk]))
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize("language", ["nb", "nn", "en"])
def test_kept_markup_is_the_forms_own(company, language):
    catalog = reference()
    with translation.override(language):
        form = LineForm(categories=catalog.categories, vat_codes=catalog.vat_codes, prefix="new",
                        initial={"unit": "stk"})
        expected = render_to_string(NEW_LINE_FIELDS, {"f": form})
        assert new_line_fields(catalog.categories, catalog.vat_codes) == expected
        assert new_line_fields(catalog.categories, catalog.vat_codes) is new_line_fields(
            catalog.categories, catalog.vat_codes)  # kept, not rendered again
    assert 'name="new-category"' in expected and 'name="new-vat_code"' in expected


def test_an_administrators_change_shows_on_the_next_page(caseworker_client, caseworker, company, monkeypatch):
    basis = make_basis(by=caseworker)
    rendered = []
    real = basis_page.render_to_string
    monkeypatch.setattr(basis_page, "render_to_string",
                        lambda name, *a, **k: rendered.append(name) or real(name, *a, **k))
    first = _page(caseworker_client, basis)
    _page(caseworker_client, basis)
    assert rendered.count(NEW_LINE_FIELDS) <= 1  # the second page used the kept markup

    category = CostCategory.objects.get(code="connection_contribution")
    CostCategory.objects.filter(pk=category.pk).update(label="Tilknytning <ny>")  # not through save()
    VatCode.objects.create(code="X9", name="Prøvesats", rate=Decimal("12.00"))
    page = _page(caseworker_client, basis)
    assert "Tilknytning &lt;ny&gt;" in page and 'value="X9"' in page
    assert "Tilknytning" not in first and 'value="X9"' not in first

    caseworker_client.post(reverse("portal:language"), {"language": "en", "next": "/"})
    english = _page(caseworker_client, basis)
    assert "Add line" in english and "Legg til linje" not in english


def test_a_refused_line_keeps_what_was_typed(caseworker_client, caseworker, company):
    basis = make_basis(by=caseworker)
    _page(caseworker_client, basis)  # the empty form is kept
    response = caseworker_client.post(reverse("billing:line_add", args=[basis.pk]),
                                      {"new-category": "connection_contribution", "new-description": "Kabel <x>",
                                       "new-quantity": "0", "new-unit": "m", "new-unit_price": "10"},
                                      HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 422 and "Antall må være større enn null." in body
    assert 'value="Kabel &lt;x&gt;"' in body and 'value="m"' in body
    assert 'value="Kabel' not in _page(caseworker_client, basis)  # the next page's form is empty again
