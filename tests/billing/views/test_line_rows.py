"""The basis page writes its line rows in Python (billing/views/basis_page.py, `write_line_rows`); the row
template (workspace/_line_row.html) is the reference, and both must give the same bytes for every kind
of row, in every language."""

from decimal import Decimal

import pytest
from django.template.loader import get_template
from django.utils import translation

from billing.models import ChangeNotice, CostCategory, CostLine, Invoice, VatCode
from billing.views.basis_page import basis_context, get_basis, write_line_rows
from tests.support.factories import add_line, make_basis

HOSTILE = "<b>\"Ærlig\" & 'åpen'</b> %(n)s {{ x }} «»"


def _line(pk=101, **fields):
    category = CostCategory(code="connection_contribution", label=fields.pop("category_label", "Anleggsbidrag"))
    vat = VatCode(code=fields.pop("vat", "O"), rate=Decimal("0"))
    line = CostLine(pk=pk, category=category, vat_code=vat, description="Kabel <TFXP> 4x240", quantity=Decimal("12.5"),
                    unit="m", unit_price=Decimal("1234.5"), amount=Decimal("15431.25"))
    notice = fields.pop("notice", None)
    if notice:
        line.change_notice = ChangeNotice(pk=7, status=notice)
    invoice = fields.pop("invoice", None)
    if invoice:
        line.invoice = Invoice(pk=9, number=invoice)
    for name, value in fields.items():
        setattr(line, name, value)
    return line


def _row(line, **flags):
    row = {"line": line, "locked": False, "accepted_offer": False, "external": False, "editable": False,
           "form": None, "credited_by": []}
    row.update(flags)
    if row["editable"]:
        row.update(edit_url=f"/arbeid/grunnlag/5/linjer/{line.pk}/endre/", delete_url=f"/arbeid/grunnlag/5/linjer/{line.pk}/slett/",
                   edit_label=f"Endre «{line.description}»", delete_label=f"Slett «{line.description}»",
                   delete_confirm=f"Slette linjen «{line.description}»?")
    return row


def rows():
    return [
        _row(_line(), editable=True),
        _row(_line(description=HOSTILE, unit=HOSTILE, category_label=HOSTILE, vat="X"), editable=True),
        _row(_line(invoice=20260042, phase="actual"), locked=True, credited_by=[20260050, 20260051]),
        _row(_line(), accepted_offer=True),
        _row(_line(is_change=True, notice="accepted", customer_caused=True), editable=True),
        _row(_line(is_change=True, notice="sent"), editable=True),
        _row(_line(is_change=True, notice="declined")),
        _row(_line(is_change=True, notice="expired", invoice=77), locked=True),
        _row(_line(source="nettmelding", source_reference=HOSTILE, quantity=Decimal("-3")), external=True),
        _row(_line(amount=Decimal("-1234567.05"), unit_price=Decimal("0"))),
    ]


@pytest.mark.parametrize("language", ["nb", "nn", "en"])
def test_python_rows_are_the_template_rows_byte_for_byte(language):
    template = get_template("workspace/_line_row.html")
    with translation.override(language):
        written = rows()
        write_line_rows(written)
        for row in written:
            assert row["html"] == template.render({"row": row}), row["line"].description


def test_a_row_being_edited_is_left_to_the_template():
    row = _row(_line(), form=object())
    write_line_rows([row])
    assert "html" not in row


@pytest.mark.django_db
def test_the_basis_page_rows_match_the_template(caseworker, company, rf):
    basis = make_basis(by=caseworker)
    add_line(basis, caseworker, description=HOSTILE, unit_price="1234.50")
    add_line(basis, caseworker, description="Montasje", quantity="2.5")
    request = rf.get("/")
    request.user = caseworker
    context = basis_context(request, get_basis(basis.pk))
    template = get_template("workspace/_line_row.html")
    assert len(context["line_rows"]) == 2
    for row in context["line_rows"]:
        assert row["html"] == template.render({"row": row})
    assert "&lt;b&gt;&quot;Ærlig&quot; &amp; &#x27;åpen&#x27;&lt;/b&gt;" in context["line_rows"][0]["html"]


@pytest.mark.django_db
def test_each_editable_row_has_its_own_addresses_and_names(caseworker, company, rf):
    """The edit and delete addresses are reversed once per page and completed with each line's id."""
    from django.urls import reverse

    basis = make_basis(by=caseworker)
    lines = [add_line(basis, caseworker, description=d) for d in (HOSTILE, "Montasje", "Kabel 1")]
    request = rf.get("/")
    request.user = caseworker
    with translation.override("en"):
        rows = basis_context(request, get_basis(basis.pk))["line_rows"]
    assert [r["line"].pk for r in rows] == [ln.pk for ln in lines]
    for row, line in zip(rows, lines, strict=True):
        assert row["editable"]
        assert row["edit_url"] == reverse("billing:line_edit", args=[basis.pk, line.pk])
        assert row["delete_url"] == reverse("billing:line_delete", args=[basis.pk, line.pk])
        assert row["edit_label"] == f"Change “{line.description}”" and line.description in row["delete_confirm"]
