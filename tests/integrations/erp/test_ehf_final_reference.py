"""A final invoice (sluttfaktura) refers to the prepayment invoice it settles against (BT-25/BT-26,
cac:BillingReference), in the EHF the customer's system reads."""

import pytest
from lxml import etree

from integrations.erp import ehf
from tests.support.factories import make_customer

from .conftest import issue_prepaid_settlement

pytestmark = pytest.mark.django_db
NS = {"cac": ehf.CAC, "cbc": ehf.CBC}


def test_final_invoice_ehf_refers_to_the_prepayment(company, caseworker):
    org = make_customer(name="Bergen Boligbygg AS", kind="organisation", orgnr="914500001",
                        email="post@bergenboligbygg.example")
    prepay, final = issue_prepaid_settlement(caseworker, org, estimate="80000.00", actual="97350.00")
    assert final.kind == "final"
    root = etree.fromstring(ehf.build(final))
    refs = root.findall("cac:BillingReference/cac:InvoiceDocumentReference", NS)
    assert [(r.findtext("cbc:ID", namespaces=NS), r.findtext("cbc:IssueDate", namespaces=NS)) for r in refs] == [
        (str(prepay.number), prepay.issue_date.isoformat())]
    # The same reference through the export's light rows (preceding passed in) gives the same XML.
    assert ehf.build(final, preceding=[(prepay.number, prepay.issue_date)]) == ehf.build(final)
    # An ordinary invoice carries no billing reference.
    assert etree.fromstring(ehf.build(prepay)).find("cac:BillingReference", NS) is None


def test_final_invoice_line_text_carries_norwegian_amounts(company, caseworker):
    """The settlement line's text goes to the PDF, the EHF item name and the ERP alike: its figures are
    written the Norwegian way once, where the line is made ("92 000,00 kr", never "92000.00")."""
    org = make_customer(name="Bergen Boligbygg AS", kind="organisation", orgnr="914500001",
                        email="post@bergenboligbygg.example")
    _prepay, final = issue_prepaid_settlement(caseworker, org, estimate="80000.00", actual="97350.00")
    names = etree.fromstring(ehf.build(final)).findall(".//cac:Item/cbc:Name", NS)
    text = " ".join(n.text for n in names).replace("\u00a0", " ")
    assert "92 000,00 kr" in text and "92000.00" not in text
