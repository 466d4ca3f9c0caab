"""EHF = Peppol BIS Billing 3.0 (UBL 2.1) for issued invoices and credit notes.

Built with lxml from the document SNAPSHOT only (Invoice fields, its seller/buyer JSON, its
vat_breakdown and its InvoiceLine rows) — never from live customer or company rows, so the XML of
an issued document is the same today and in ten years.

Rules this module is written against (each has a test in tests/erp/test_ehf_rules.py):
  BR-01..BR-16, BR-21..27 (mandatory elements, positive item price), BR-CO-10..17 (sums and VAT per
  category), BR-CO-25 (due date or terms), BR-CO-26 (seller identifier), BR-61 (account for means
  code 30), BR-O-* (category O: no VAT identifiers, no rate, exemption reason, no other category),
  BR-S-*, BR-E-*, BR-Z-*, NO-R-001 (NO<orgnr>MVA), NO-R-002 (Foretaksregisteret), PEPPOL-EN16931-R001,
  R002 (one note), R003 (buyer reference), R004, R008 (no empty elements), R010/R020 (endpoints),
  R053 (one TaxTotal), R120 (line amount = quantity × price).
Element order follows the UBL 2.1 sequences as used by the official Peppol examples.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from lxml import etree

NS_INVOICE = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
NS_CREDIT = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"

CUSTOMIZATION_ID = "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
PROFILE_ID = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"
INVOICE_TYPE_CODE = "380"
CREDIT_NOTE_TYPE_CODE = "381"
PAYMENT_MEANS_CREDIT_TRANSFER = "30"
SCHEME_ORGNR = "0192"
SCHEME_EMAIL = "EM"

# UN/ECE Recommendation 20 unit codes for our units; anything else is "C62" (one).
UNIT_CODES = {"stk": "H87", "t": "HUR", "time": "HUR", "timer": "HUR", "m": "MTR", "km": "KMT",
              "kg": "KGM", "kWh": "KWH", "kwh": "KWH"}

# Text (and code where the VATEX list has one) for the categories that require an exemption reason.
DEFAULT_EXEMPTION = {
    "O": ("VATEX-EU-O", "Utenfor merverdiavgiftsområdet (anleggsbidrag)"),
    "E": ("", "Fritatt for merverdiavgift"),
}
KIND_NOTES = {"prepayment": "Forskuddsfaktura", "change": "Endringsfaktura", "final": "Sluttfaktura"}


class EhfError(ValueError):
    """The snapshot cannot become a valid EHF document (e.g. buyer without any electronic address)."""


def unit_code(unit: str) -> str:
    return UNIT_CODES.get((unit or "").strip(), UNIT_CODES.get((unit or "").strip().lower(), "C62"))


def fmt_amount(value) -> str:
    """Two decimals with '.', as BIS wants (formatting only; amounts are rounded by billing.money)."""
    return f"{Decimal(str(value)):.2f}"


def fmt_number(value) -> str:
    """Quantities and percents without trailing zeros: 12.500 → 12.5, 25.00 → 25."""
    d = Decimal(str(value))
    if d == d.to_integral_value():
        return f"{d.quantize(Decimal(1)):f}"
    return f"{d.normalize():f}"


def _exemption(code: str) -> tuple[str, str]:
    custom = getattr(settings, "ERP_EHF_EXEMPTION_REASONS", None) or {}
    if code in custom:
        return "", custom[code]
    return DEFAULT_EXEMPTION.get(code, ("", ""))


class _Builder:
    def __init__(self, root_ns: str, root_tag: str):
        self.root = etree.Element(f"{{{root_ns}}}{root_tag}", nsmap={None: root_ns, "cac": CAC, "cbc": CBC})

    @staticmethod
    def cbc(parent, tag, text, **attrs):
        """Add a basic element, but never an empty one (PEPPOL-EN16931-R008)."""
        if text is None or str(text).strip() == "":
            return None
        el = etree.SubElement(parent, f"{{{CBC}}}{tag}", attrs)
        el.text = str(text)
        return el

    @staticmethod
    def cac(parent, tag):
        return etree.SubElement(parent, f"{{{CAC}}}{tag}")


def _address(b: _Builder, parent, tag: str, party: dict) -> None:
    addr = b.cac(parent, tag)
    b.cbc(addr, "StreetName", party.get("street"))
    b.cbc(addr, "CityName", party.get("city"))
    b.cbc(addr, "PostalZone", party.get("postal_code"))
    country = b.cac(addr, "Country")
    b.cbc(country, "IdentificationCode", (party.get("country") or "NO").upper())


def _tax_category(b: _Builder, parent, tag: str, code: str, rate, *, with_reason: bool) -> None:
    cat = b.cac(parent, tag)
    b.cbc(cat, "ID", code)
    if code != "O":  # BR-O-05 / BR-O-09: no rate for outside-scope
        b.cbc(cat, "Percent", fmt_number(rate))
    if with_reason and code in ("O", "E"):  # BR-O-10, BR-E-10
        reason_code, reason = _exemption(code)
        b.cbc(cat, "TaxExemptionReasonCode", reason_code)
        b.cbc(cat, "TaxExemptionReason", reason)
    scheme = b.cac(cat, "TaxScheme")
    b.cbc(scheme, "ID", "VAT")


def _seller(b: _Builder, root, seller: dict, categories: set[str]) -> None:
    party = b.cac(b.cac(root, "AccountingSupplierParty"), "Party")
    b.cbc(party, "EndpointID", seller["orgnr"], schemeID=SCHEME_ORGNR)
    b.cbc(b.cac(party, "PartyName"), "Name", seller["name"])
    _address(b, party, "PostalAddress", seller)
    # BR-O-02: a document with category O must not carry the seller VAT identifier.
    if seller.get("vat_registered") and seller.get("vat_id") and "O" not in categories:
        pts = b.cac(party, "PartyTaxScheme")
        b.cbc(pts, "CompanyID", seller["vat_id"])  # NO-R-001: NO + orgnr + MVA
        b.cbc(b.cac(pts, "TaxScheme"), "ID", "VAT")
    if seller.get("foretaksregisteret"):  # NO-R-002
        pts = b.cac(party, "PartyTaxScheme")
        b.cbc(pts, "CompanyID", "Foretaksregisteret")
        b.cbc(b.cac(pts, "TaxScheme"), "ID", "TAX")
    legal = b.cac(party, "PartyLegalEntity")
    b.cbc(legal, "RegistrationName", seller["name"])
    b.cbc(legal, "CompanyID", seller["orgnr"], schemeID=SCHEME_ORGNR)
    if seller.get("phone") or seller.get("email"):
        contact = b.cac(party, "Contact")
        b.cbc(contact, "Telephone", seller.get("phone"))
        b.cbc(contact, "ElectronicMail", seller.get("email"))


def buyer_endpoint(buyer: dict, seller: dict) -> tuple[str, str]:
    """(scheme, id): orgnr with 0192 when the buyer has one, otherwise their e-mail (EM)."""
    if buyer.get("orgnr"):
        return SCHEME_ORGNR, buyer["orgnr"]
    if buyer.get("email"):
        return SCHEME_EMAIL, buyer["email"]
    if seller.get("email"):
        # PEPPOL-EN16931-R010 needs some address; the seller's customer service mailbox receives it.
        return SCHEME_EMAIL, seller["email"]
    raise EhfError("buyer has neither organisation number nor e-mail")


def _buyer(b: _Builder, root, buyer: dict, seller: dict) -> None:
    party = b.cac(b.cac(root, "AccountingCustomerParty"), "Party")
    scheme, endpoint = buyer_endpoint(buyer, seller)
    b.cbc(party, "EndpointID", endpoint, schemeID=scheme)
    if buyer.get("erp_customer_number"):
        b.cbc(b.cac(party, "PartyIdentification"), "ID", buyer["erp_customer_number"])
    b.cbc(b.cac(party, "PartyName"), "Name", buyer["name"])
    _address(b, party, "PostalAddress", buyer)
    legal = b.cac(party, "PartyLegalEntity")
    b.cbc(legal, "RegistrationName", buyer["name"])
    if buyer.get("orgnr"):
        b.cbc(legal, "CompanyID", buyer["orgnr"], schemeID=SCHEME_ORGNR)
    if buyer.get("phone") or buyer.get("email"):
        contact = b.cac(party, "Contact")
        b.cbc(contact, "Telephone", buyer.get("phone"))
        b.cbc(contact, "ElectronicMail", buyer.get("email"))


def build(invoice, lines=None, *, credited_number=None, credited_date=None) -> bytes:
    """The EHF XML (UTF-8 bytes) of an issued invoice or credit note.

    `lines`: the InvoiceLine rows (default: invoice.lines.all()). For a credit note the original's
    number and date come from `credited_number`/`credited_date` or `invoice.credited_invoice`.
    """
    if invoice.number is None:
        raise EhfError("only issued documents have EHF")
    lines = list(invoice.lines.all() if lines is None else lines)
    if not lines:
        raise EhfError(f"document {invoice.number} has no lines")  # BR-16
    credit = invoice.kind == "credit_note"
    seller, buyer = invoice.seller, invoice.buyer
    breakdown = invoice.vat_breakdown or []
    categories = {g["code"] for g in breakdown} | {ln.vat_code for ln in lines}

    b = _Builder(NS_CREDIT if credit else NS_INVOICE, "CreditNote" if credit else "Invoice")
    root = b.root
    b.cbc(root, "CustomizationID", CUSTOMIZATION_ID)
    b.cbc(root, "ProfileID", PROFILE_ID)
    b.cbc(root, "ID", invoice.number)
    b.cbc(root, "IssueDate", invoice.issue_date.isoformat())
    if not credit:
        b.cbc(root, "DueDate", invoice.due_date.isoformat() if invoice.due_date else None)
        b.cbc(root, "InvoiceTypeCode", INVOICE_TYPE_CODE)
    else:
        b.cbc(root, "CreditNoteTypeCode", CREDIT_NOTE_TYPE_CODE)
    note = invoice.note or KIND_NOTES.get(invoice.kind, "")
    b.cbc(root, "Note", note[:1000])  # PEPPOL-EN16931-R002: at most one note
    b.cbc(root, "DocumentCurrencyCode", invoice.currency or "NOK")
    # PEPPOL-EN16931-R003: buyer reference (our basis number, which the customer sees on every letter).
    b.cbc(root, "BuyerReference", buyer.get("basis_number") or str(invoice.number))
    if credit:
        if credited_number is None and invoice.credited_invoice_id:
            credited_number = invoice.credited_invoice.number
            credited_date = invoice.credited_invoice.issue_date
        if credited_number:
            ref = b.cac(b.cac(root, "BillingReference"), "InvoiceDocumentReference")
            b.cbc(ref, "ID", credited_number)
            b.cbc(ref, "IssueDate", credited_date.isoformat() if credited_date else None)

    _seller(b, root, seller, categories)
    _buyer(b, root, buyer, seller)

    site = buyer.get("site") or {}
    delivery = b.cac(root, "Delivery")
    b.cbc(delivery, "ActualDeliveryDate", (invoice.delivery_date or invoice.issue_date).isoformat())
    if site.get("street") or buyer.get("metering_point_id"):
        location = b.cac(delivery, "DeliveryLocation")
        b.cbc(location, "ID", buyer.get("metering_point_id"))
        if site.get("street"):
            _address(b, location, "Address", {**site, "country": buyer.get("country") or "NO"})

    if not credit:
        means = b.cac(root, "PaymentMeans")
        b.cbc(means, "PaymentMeansCode", PAYMENT_MEANS_CREDIT_TRANSFER)
        b.cbc(means, "PaymentID", invoice.kid)  # KID
        account = b.cac(means, "PayeeFinancialAccount")
        b.cbc(account, "ID", seller["bank_account"])  # BR-61
        b.cbc(account, "Name", seller["name"])
        terms = f"Betales til konto {seller.get('bank_account_display') or seller['bank_account']}"
        if invoice.kid:
            terms += f" med KID {invoice.kid}"
        if invoice.due_date:
            terms += f" innen {invoice.due_date:%d.%m.%Y}"
    else:
        terms = "Kreditnota: beløpet godskrives eller tilbakebetales"
    b.cbc(b.cac(root, "PaymentTerms"), "Note", terms + ".")

    # BR-CO-17 / PEPPOL-EN16931-R053: one TaxTotal, one subtotal per category, from the snapshot.
    tax_total = b.cac(root, "TaxTotal")
    b.cbc(tax_total, "TaxAmount", fmt_amount(invoice.vat_total), currencyID=invoice.currency)
    for group in breakdown:
        sub = b.cac(tax_total, "TaxSubtotal")
        b.cbc(sub, "TaxableAmount", fmt_amount(group["base"]), currencyID=invoice.currency)
        b.cbc(sub, "TaxAmount", fmt_amount(group["vat"]), currencyID=invoice.currency)
        _tax_category(b, sub, "TaxCategory", group["code"], group["rate"], with_reason=True)

    totals = b.cac(root, "LegalMonetaryTotal")
    # No document-level allowances/charges or prepaid amounts: net = Σ lines (BR-CO-10, BR-CO-13).
    b.cbc(totals, "LineExtensionAmount", fmt_amount(invoice.net_total), currencyID=invoice.currency)
    b.cbc(totals, "TaxExclusiveAmount", fmt_amount(invoice.net_total), currencyID=invoice.currency)
    b.cbc(totals, "TaxInclusiveAmount", fmt_amount(invoice.gross_total), currencyID=invoice.currency)
    b.cbc(totals, "PayableAmount", fmt_amount(invoice.gross_total), currencyID=invoice.currency)

    line_tag, qty_tag = ("CreditNoteLine", "CreditedQuantity") if credit else ("InvoiceLine", "InvoicedQuantity")
    for i, ln in enumerate(lines, 1):
        el = b.cac(root, line_tag)
        b.cbc(el, "ID", ln.position or i)
        quantity, price = Decimal(ln.quantity), Decimal(ln.unit_price)
        if price < 0:
            # BR-27: the item price is never negative; a deduction line is a negative quantity.
            quantity, price = -quantity, -price
        b.cbc(el, qty_tag, fmt_number(quantity), unitCode=unit_code(ln.unit))
        b.cbc(el, "LineExtensionAmount", fmt_amount(ln.amount), currencyID=invoice.currency)
        item = b.cac(el, "Item")
        b.cbc(item, "Description", ln.category_label)
        b.cbc(item, "Name", (ln.description or ln.category_label)[:300])
        if ln.category_code:
            b.cbc(b.cac(item, "SellersItemIdentification"), "ID", ln.category_code)
        _tax_category(b, item, "ClassifiedTaxCategory", ln.vat_code, ln.vat_rate, with_reason=False)
        b.cbc(b.cac(el, "Price"), "PriceAmount", fmt_amount(price), currencyID=invoice.currency)

    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def filename(invoice) -> str:
    prefix = "kreditnota" if invoice.kind == "credit_note" else "faktura"
    return f"{prefix}-{invoice.number}.xml"
