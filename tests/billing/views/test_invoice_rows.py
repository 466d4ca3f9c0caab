"""The basis page's invoice table rows are written in Python (`invoice_rows` in
billing/templatetags/workspace.py); the row template (workspace/_invoice_row.html) is the reference, and
both must give the same bytes for every kind of invoice and payment, in every language, on either side
of a daylight-saving change."""

import datetime as dt
from decimal import Decimal

import pytest
from django.template.loader import get_template
from django.utils import translation

from billing.models import Invoice, Payment
from billing.templatetags.workspace import invoice_rows
from kundefaktura.choices import display
from kundefaktura.related import set_loaded

HOSTILE = "<b>\"Ærlig\" & 'åpen'</b> %(n)s {{ x }} «»\nny linje"
UTC = dt.UTC


def _invoice(pk, payments=(), **fields):
    fields = {"basis_id": 5, "kind": "ordinary", "status": "issued", "number": 20260040 + pk,
              "issue_date": dt.date(2026, 3, 2), "due_date": dt.date(2026, 3, 16), "kid": "2026004101",
              "gross_total": Decimal("57392.9"), **fields}
    invoice = Invoice(pk=pk, **fields)
    invoice.outstanding = fields["gross_total"] - sum(p.amount for p in payments)
    set_loaded(invoice, "payments", payments)
    return invoice


def invoices():
    taxable = _invoice(1, payments=[
        Payment(pk=1, direction="payment", method="card", amount=Decimal("1000"), status="confirmed",
                provider_reference="pi_3Nx<&>", created_at=dt.datetime(2026, 3, 28, 23, 30, tzinfo=UTC)),
        Payment(pk=2, direction="refund", method="bank_transfer", amount=Decimal("0.5"), status="pending",
                provider_reference="", note=HOSTILE, created_at=dt.datetime(2026, 10, 25, 0, 59, tzinfo=UTC)),
        Payment(pk=3, direction="payment", method="manual", amount=Decimal("12345678.99"), status="failed",
                created_at=dt.datetime(2026, 12, 31, 23, 0, tzinfo=UTC)),
    ])
    return [
        taxable,
        _invoice(2, kind="prepayment", status="paid", kid=HOSTILE),
        _invoice(3, kind="credit_note", credited_invoice=taxable, gross_total=Decimal("-1234.56"), due_date=None),
        _invoice(4, kind="final", number=None, status="draft", issue_date=None, due_date=None, kid=""),
        _invoice(5, kind="change", status="unknown<status>", gross_total=Decimal("0")),
    ]


@pytest.mark.parametrize("language", ["nb", "nn", "en"])
def test_python_rows_are_the_templates_bytes(language):
    template = get_template("workspace/_invoice_row.html")
    with translation.override(language):
        expected = "".join(template.render({"inv": i}).removeprefix("\n") for i in invoices())
        assert str(invoice_rows(invoices())) == expected
    assert expected.count("<tr>") == 5 and expected.count('<tr class="payment-row">') == 3
    assert "&lt;b&gt;&quot;Ærlig&quot; &amp; &#x27;åpen&#x27;&lt;/b&gt;" in expected  # escaped, not markup
    assert "pi_3Nx&lt;&amp;&gt;" in expected and "unknown&lt;status&gt;" in expected
    assert ">29.03.2026</td>" in expected  # 23:30 UTC on 28 March is the 29th in Oslo
    assert ">25.10.2026</td>" in expected and ">01.01.2027</td>" in expected
    assert "−1\xa0234,56\xa0kr" in expected and "12\xa0345\xa0678,99\xa0kr" in expected


def test_no_rows_for_no_invoices():
    assert str(invoice_rows([])) == ""


@pytest.mark.parametrize("language", ["nb", "en"])
def test_display_is_djangos_choice_label(language):
    with translation.override(language):
        for invoice in invoices():
            assert display(invoice, "kind") == invoice.get_kind_display()
            assert display(invoice, "status") == invoice.get_status_display()
            for p in invoice.payments.all():
                assert display(p, "method") == p.get_method_display()
                assert display(p, "direction") == p.get_direction_display()


def test_a_draft_invoice_is_called_a_draft_in_the_reader_s_language():
    draft = Invoice(pk=9, basis_id=5, kind="ordinary", status="draft", number=None)
    names = {}
    for language in ("nb", "nn", "en"):
        with translation.override(language):
            names[language] = draft.display_number
    assert names == {"nb": "(utkast)", "nn": "(utkast)", "en": "(draft)"}
    assert _invoice(8).display_number == "20260048"
