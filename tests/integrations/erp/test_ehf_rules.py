"""EN 16931 / Peppol BIS Billing 3.0 / Norwegian rules that apply to our documents, as our own tests
(written from the published rule descriptions), over every document kind we issue."""

from decimal import Decimal

import pytest
from lxml import etree

from billing.money import round_ore
from integrations.erp import ehf

pytestmark = pytest.mark.django_db
NS = {"cac": ehf.CAC, "cbc": ehf.CBC}
D = Decimal

# UBL 2.1 sequence of the top-level elements we use (as in the official Peppol examples).
INVOICE_ORDER = ["CustomizationID", "ProfileID", "ID", "IssueDate", "DueDate", "InvoiceTypeCode", "Note",
                 "DocumentCurrencyCode", "BuyerReference", "BillingReference", "AccountingSupplierParty",
                 "AccountingCustomerParty", "Delivery", "PaymentMeans", "PaymentTerms", "TaxTotal",
                 "LegalMonetaryTotal", "InvoiceLine"]
CREDIT_ORDER = ["CustomizationID", "ProfileID", "ID", "IssueDate", "CreditNoteTypeCode", "Note",
                "DocumentCurrencyCode", "BuyerReference", "BillingReference", "AccountingSupplierParty",
                "AccountingCustomerParty", "Delivery", "PaymentMeans", "PaymentTerms", "TaxTotal",
                "LegalMonetaryTotal", "CreditNoteLine"]
PARTY_ORDER = ["EndpointID", "PartyIdentification", "PartyName", "PostalAddress", "PartyTaxScheme",
               "PartyLegalEntity", "Contact"]


def _docs(every_kind, deduction_invoice):
    return {**every_kind, "base_deduction": deduction_invoice}


def _x(doc):
    return etree.fromstring(ehf.build(doc))


def _local(el):
    return etree.QName(el).localname


def _in_order(children, order):
    idx = [order.index(_local(c)) for c in children]
    return idx == sorted(idx) and all(_local(c) in order for c in children)


def _d(root, path):
    return D(root.findtext(path, namespaces=NS))


def _lines(root):
    return root.findall("cac:InvoiceLine", NS) + root.findall("cac:CreditNoteLine", NS)


def test_every_kind_is_covered(every_kind, deduction_invoice):
    kinds = {d.kind for d in _docs(every_kind, deduction_invoice).values()}
    assert kinds == {"prepayment", "ordinary", "change", "final", "credit_note"}
    assert {d.vat_regime for d in every_kind.values()} == {"O", "taxable"}


def test_structure_and_mandatory_elements(every_kind, deduction_invoice):
    for name, doc in _docs(every_kind, deduction_invoice).items():
        root = _x(doc)
        credit = doc.kind == "credit_note"
        assert _local(root) == ("CreditNote" if credit else "Invoice"), name
        assert _in_order(list(root), CREDIT_ORDER if credit else INVOICE_ORDER), name
        for party in root.findall("cac:AccountingSupplierParty/cac:Party", NS) + \
                root.findall("cac:AccountingCustomerParty/cac:Party", NS):
            assert _in_order(list(party), PARTY_ORDER), name
        # BR-01 / PEPPOL-EN16931-R004, R001 / R007
        assert root.findtext("cbc:CustomizationID", namespaces=NS) == ehf.CUSTOMIZATION_ID
        assert root.findtext("cbc:ProfileID", namespaces=NS) == ehf.PROFILE_ID
        # BR-02, BR-03, BR-04, BR-05
        assert root.findtext("cbc:ID", namespaces=NS) == str(doc.number)
        assert root.findtext("cbc:IssueDate", namespaces=NS) == doc.issue_date.isoformat()
        code = root.findtext("cbc:CreditNoteTypeCode" if credit else "cbc:InvoiceTypeCode", namespaces=NS)
        assert code == ("381" if credit else "380")
        assert root.findtext("cbc:DocumentCurrencyCode", namespaces=NS) == "NOK"
        # BR-06/07 names, BR-08..11 addresses with country
        for p in ("AccountingSupplierParty", "AccountingCustomerParty"):
            assert root.findtext(f"cac:{p}/cac:Party/cac:PartyLegalEntity/cbc:RegistrationName", namespaces=NS)
            assert root.findtext(f"cac:{p}/cac:Party/cac:PostalAddress/cac:Country/cbc:IdentificationCode",
                                 namespaces=NS) == "NO"
        # PEPPOL-EN16931-R002 one note, R003 buyer reference, R008 no empty elements
        assert len(root.findall("cbc:Note", NS)) <= 1
        assert root.findtext("cbc:BuyerReference", namespaces=NS)
        assert all((el.text or "").strip() or len(el) for el in root.iter()), f"{name}: empty element"
        # BR-16, BR-21..BR-26, BR-27 (price never negative), unit codes from rec 20
        assert _lines(root)
        for ln in _lines(root):
            qty = ln.find("cbc:InvoicedQuantity", NS) if not credit else ln.find("cbc:CreditedQuantity", NS)
            assert ln.findtext("cbc:ID", namespaces=NS) and qty is not None
            assert qty.get("unitCode") in {"H87", "HUR", "MTR", "C62", "KMT", "KGM", "KWH"}
            assert ln.findtext("cac:Item/cbc:Name", namespaces=NS)
            price = _d(ln, "cac:Price/cbc:PriceAmount")
            assert price >= 0, "BR-27"
            # PEPPOL-EN16931-R120: line amount = quantity × price
            assert _d(ln, "cbc:LineExtensionAmount") == round_ore(D(qty.text) * price), name
        # dates ISO (PEPPOL-EN16931-F001)
        for el in root.iter(f"{{{ehf.CBC}}}IssueDate", f"{{{ehf.CBC}}}DueDate"):
            assert len(el.text) == 10 and el.text[4] == "-"


def test_sums_and_vat_per_category(every_kind, deduction_invoice):
    """BR-CO-10..17, PEPPOL-EN16931-R053 and BR-S-08/09, BR-O-08/09 from the snapshot's breakdown."""
    for name, doc in _docs(every_kind, deduction_invoice).items():
        root = _x(doc)
        lines = _lines(root)
        total_lines = sum((_d(ln, "cbc:LineExtensionAmount") for ln in lines), D("0"))
        lmt = "cac:LegalMonetaryTotal/cbc:"
        assert _d(root, lmt + "LineExtensionAmount") == total_lines, f"{name} BR-CO-10"
        assert _d(root, lmt + "TaxExclusiveAmount") == total_lines, f"{name} BR-CO-13"
        tax_totals = root.findall("cac:TaxTotal", NS)
        assert len(tax_totals) == 1, "PEPPOL-EN16931-R053"
        vat = _d(tax_totals[0], "cbc:TaxAmount")
        assert _d(root, lmt + "TaxInclusiveAmount") == total_lines + vat, f"{name} BR-CO-15"
        assert _d(root, lmt + "PayableAmount") == _d(root, lmt + "TaxInclusiveAmount"), f"{name} BR-CO-16"
        subs = tax_totals[0].findall("cac:TaxSubtotal", NS)
        assert subs, "BR-CO-18"
        assert sum((_d(s, "cbc:TaxAmount") for s in subs), D("0")) == vat, f"{name} BR-CO-14"
        for s in subs:
            cat = s.findtext("cac:TaxCategory/cbc:ID", namespaces=NS)
            rate = s.findtext("cac:TaxCategory/cbc:Percent", namespaces=NS)
            base = sum((_d(ln, "cbc:LineExtensionAmount") for ln in lines
                        if ln.findtext("cac:Item/cac:ClassifiedTaxCategory/cbc:ID", namespaces=NS) == cat
                        and ln.findtext("cac:Item/cac:ClassifiedTaxCategory/cbc:Percent", namespaces=NS) == rate),
                       D("0"))
            assert _d(s, "cbc:TaxableAmount") == base, f"{name} BR-{cat}-08"
            expected = round_ore(base * D(rate or "0") / 100)
            assert _d(s, "cbc:TaxAmount") == expected, f"{name} BR-CO-17"
        assert [g["code"] for g in doc.vat_breakdown] == [s.findtext("cac:TaxCategory/cbc:ID", namespaces=NS)
                                                          for s in subs]


def test_outside_scope_documents_follow_br_o(every_kind, deduction_invoice):
    o_docs = [d for d in _docs(every_kind, deduction_invoice).values() if d.vat_regime == "O"]
    assert len(o_docs) >= 3
    for doc in o_docs:
        root = _x(doc)
        seller = root.find("cac:AccountingSupplierParty/cac:Party", NS)
        buyer = root.find("cac:AccountingCustomerParty/cac:Party", NS)
        # BR-O-02..04: no seller or buyer VAT identifier
        assert not seller.xpath("cac:PartyTaxScheme[cac:TaxScheme/cbc:ID='VAT']", namespaces=NS)
        assert not buyer.xpath("cac:PartyTaxScheme[cac:TaxScheme/cbc:ID='VAT']", namespaces=NS)
        assert root.find("cac:TaxRepresentativeParty", NS) is None
        # BR-O-11..14: no other category anywhere
        cats = {el.text for el in root.iter(f"{{{ehf.CBC}}}ID") if _local(el.getparent()) in
                ("TaxCategory", "ClassifiedTaxCategory")}
        assert cats == {"O"}
        # BR-O-05 / BR-O-09 (no rate), BR-O-10 (exemption reason), BR-O-09 (VAT 0)
        for cat in root.iter(f"{{{ehf.CAC}}}TaxCategory", f"{{{ehf.CAC}}}ClassifiedTaxCategory"):
            assert cat.find("cbc:Percent", NS) is None
        sub = root.find("cac:TaxTotal/cac:TaxSubtotal", NS)
        assert sub.findtext("cac:TaxCategory/cbc:TaxExemptionReason", namespaces=NS)
        assert _d(sub, "cbc:TaxAmount") == 0
        # NO-R-002 still applies (TAX scheme is not a VAT identifier)
        assert seller.xpath("cac:PartyTaxScheme[cac:TaxScheme/cbc:ID='TAX']/cbc:CompanyID/text()",
                            namespaces=NS) == ["Foretaksregisteret"]


def test_standard_rated_documents_follow_br_s_and_no_r(every_kind):
    s_docs = [d for d in every_kind.values() if d.vat_regime == "taxable"]
    assert s_docs
    for doc in s_docs:
        root = _x(doc)
        seller = root.find("cac:AccountingSupplierParty/cac:Party", NS)
        vat_ids = seller.xpath("cac:PartyTaxScheme[cac:TaxScheme/cbc:ID='VAT']/cbc:CompanyID/text()", namespaces=NS)
        assert vat_ids == ["NO914588200MVA"], "BR-S-02, NO-R-001"
        for cat in root.iter(f"{{{ehf.CAC}}}ClassifiedTaxCategory"):
            assert cat.findtext("cbc:ID", namespaces=NS) == "S" and D(cat.findtext("cbc:Percent", namespaces=NS)) > 0


def test_identifiers_payment_and_credit_reference(every_kind, deduction_invoice):
    for _name, doc in _docs(every_kind, deduction_invoice).items():
        root = _x(doc)
        seller = root.find("cac:AccountingSupplierParty/cac:Party", NS)
        ep = seller.find("cbc:EndpointID", NS)
        assert (ep.get("schemeID"), ep.text) == ("0192", "914588200"), "PEPPOL-EN16931-R020"
        legal = seller.find("cac:PartyLegalEntity/cbc:CompanyID", NS)
        assert (legal.get("schemeID"), legal.text) == ("0192", "914588200"), "BR-CO-26"
        buyer_ep = root.find("cac:AccountingCustomerParty/cac:Party/cbc:EndpointID", NS)
        assert buyer_ep is not None and buyer_ep.text, "PEPPOL-EN16931-R010"
        if doc.buyer.get("orgnr"):
            assert (buyer_ep.get("schemeID"), buyer_ep.text) == ("0192", doc.buyer["orgnr"])
        else:
            # A person has no Peppol address and "EM" is not in the EAS list (official PEPPOL-EN16931-CL008):
            # the seller's own address, the person's e-mail in the buyer contact.
            assert (buyer_ep.get("schemeID"), buyer_ep.text) == ("0192", "914588200")
            assert root.findtext("cac:AccountingCustomerParty/cac:Party/cac:Contact/cbc:ElectronicMail",
                                 namespaces=NS) == doc.buyer["email"]
        if doc.kind == "credit_note":
            ref = root.find("cac:BillingReference/cac:InvoiceDocumentReference", NS)
            assert ref.findtext("cbc:ID", namespaces=NS) == str(doc.credited_invoice.number)
            assert ref.findtext("cbc:IssueDate", namespaces=NS) == doc.credited_invoice.issue_date.isoformat()
        else:
            means = root.find("cac:PaymentMeans", NS)
            assert means.findtext("cbc:PaymentMeansCode", namespaces=NS) == "30"
            assert means.findtext("cbc:PaymentID", namespaces=NS) == doc.kid and doc.kid
            assert means.findtext("cac:PayeeFinancialAccount/cbc:ID", namespaces=NS) == "12345678903", "BR-61"
            assert root.findtext("cbc:DueDate", namespaces=NS), "BR-CO-25"
        assert root.findtext("cac:PaymentTerms/cbc:Note", namespaces=NS), "BR-CO-25"


def test_base_deduction_is_a_negative_quantity_not_a_negative_price(deduction_invoice):
    root = _x(deduction_invoice)
    neg = [ln for ln in root.findall("cac:InvoiceLine", NS) if _d(ln, "cbc:LineExtensionAmount") < 0]
    assert len(neg) == 1
    assert neg[0].findtext("cbc:InvoicedQuantity", namespaces=NS) == "-1"
    assert _d(neg[0], "cac:Price/cbc:PriceAmount") == D("15000.00")
    assert _d(root, "cac:LegalMonetaryTotal/cbc:PayableAmount") == D("42392.90")


def test_unit_codes():
    assert [ehf.unit_code(u) for u in ("stk", "t", "m", "sett", "")] == ["H87", "HUR", "MTR", "C62", "C62"]


def test_not_vat_registered_seller_has_no_vat_id(company, caseworker):
    from billing import services
    from billing.models import CompanyProfile
    from tests.support.factories import add_line, make_basis

    CompanyProfile.objects.filter(pk=1).update(vat_registered=False, foretaksregisteret=False)
    basis = make_basis(by=caseworker)
    add_line(basis, caseworker, description="Anleggsbidrag", unit_price="45000.00")  # O: all it may invoice
    services.offer_send(basis=basis, by=caseworker)
    services.offer_accept(basis=basis, by=None)
    [invoice] = services.invoices_issue(basis=basis, by=caseworker)
    root = _x(invoice)
    assert not root.findall("cac:AccountingSupplierParty/cac:Party/cac:PartyTaxScheme", NS)
