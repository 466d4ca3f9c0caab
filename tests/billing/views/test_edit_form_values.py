"""The inline edit form shows stored numbers the Norwegian way (the acceptance walk found quantity 2 shown as
"2.000" — two thousand to a Norwegian reader — price "1234.50" and VAT choices "S (25.00 %)")."""

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from billing.models import VatCode
from tests.support.factories import add_line, make_basis

NBSP = "\u00a0"
HX = {"HTTP_HX_REQUEST": "true"}
pytestmark = pytest.mark.django_db


def _value(form_html: str, name: str) -> str:
    match = re.search(rf'name="{re.escape(name)}"[^>]*value="([^"]*)"', form_html) or \
        re.search(rf'value="([^"]*)"[^>]*name="{re.escape(name)}"', form_html)
    assert match, name
    return match.group(1)


def test_edit_form_shows_quantity_and_price_in_norwegian_and_saves_them_back_unchanged(caseworker_client, caseworker,
                                                                                      company):
    basis = make_basis(by=caseworker)
    line = add_line(basis, caseworker, description="Arbeid", quantity="12.5", unit_price="1234.5")
    whole = add_line(basis, caseworker, description="Kabel", quantity="2", unit_price="80")
    url = reverse("billing:line_edit", args=[basis.pk, line.pk])
    form = caseworker_client.get(url, **HX).content.decode()
    p = f"l{line.pk}"
    assert _value(form, f"{p}-quantity") == "12,5"
    assert _value(form, f"{p}-unit_price") == f"1{NBSP}234,50"
    whole_form = caseworker_client.get(reverse("billing:line_edit", args=[basis.pk, whole.pk]), **HX).content.decode()
    assert _value(whole_form, f"l{whole.pk}-quantity") == "2"
    assert _value(whole_form, f"l{whole.pk}-unit_price") == "80,00"
    # VAT choices in words: "25 % mva", never "S (25.00 %)"
    assert ">25 % mva</option>" in form and ">Utenfor mva – anleggsbidrag</option>" in form and ".00 %" not in form

    # Saving the form as shown changes nothing.
    data = {f"{p}-{k}": _value(form, f"{p}-{k}") for k in ("description", "quantity", "unit", "unit_price")}
    data[f"{p}-category"] = "connection_contribution"
    data[f"{p}-vat_code"] = line.vat_code.code
    response = caseworker_client.post(url, data, **HX)
    assert response.status_code == 200
    line.refresh_from_db()
    assert (line.quantity, line.unit_price, line.amount) == (Decimal("12.5"), Decimal("1234.50"), Decimal("15431.25"))


def test_vat_code_str_is_norwegian():
    assert str(VatCode(code="S", rate=Decimal("25.00"))) == "25 % mva"
    assert str(VatCode(code="X", rate=Decimal("12.50"))) == "X (12,5 %)"
    assert str(VatCode(code="O", rate=Decimal("0.00"))) == "Utenfor mva – anleggsbidrag"
    assert str(VatCode(code="E", rate=Decimal("0.00"))) == "Fritatt for mva"
    assert str(VatCode(code="Z", rate=Decimal("0.00"))) == "Nullsats (0 % mva)"


def test_line_table_and_add_form_name_vat_codes_in_words(caseworker_client, caseworker, company):
    basis = make_basis(by=caseworker)
    add_line(basis, caseworker, description="Arbeid", quantity="1", unit_price="100")
    page = caseworker_client.get(reverse("billing:basis_detail", args=[basis.pk])).content.decode()
    assert re.search(r"<td[^>]*>Utenfor mva – anleggsbidrag</td>", page)
    assert ">Fritatt for mva</option>" in page and ">Nullsats (0 % mva)</option>" in page
    assert not re.search(r"<td[^>]*>\s*[OSEZ]\s*</td>", page)
    assert "E (0 %)" not in page
