"""A company that is not VAT-registered may not charge VAT (and its EHF could not carry it: BR-S-02,
BR-E-02, BR-Z-02 need the seller's VAT number). Billing refuses, with a message that says what to do."""

import pytest

from billing import services
from billing.errors import InvalidInput
from billing.models import CompanyProfile, Invoice
from tests.support.factories import accepted_basis, add_line, make_basis

pytestmark = pytest.mark.django_db


def _unregister():
    CompanyProfile.objects.filter(pk=1).update(vat_registered=False)


def test_offer_with_vat_lines_is_refused_for_an_unregistered_company(company, caseworker):
    _unregister()
    basis = make_basis(by=caseworker)
    add_line(basis, caseworker, description="Anleggsbidrag")  # O
    add_line(basis, caseworker, category="meter_work", description="Målerbytte")  # S
    errors = services.offer_guard_errors(basis)
    assert any("ikke MVA-registrert" in e and "S" in e for e in errors), errors
    with pytest.raises(InvalidInput, match="ikke MVA-registrert"):
        services.offer_send(basis=basis, by=caseworker)
    basis.refresh_from_db()
    assert basis.status == "draft" and not basis.offers.exists()


def test_offer_outside_vat_only_is_fine_for_an_unregistered_company(company, caseworker):
    _unregister()
    basis = make_basis(by=caseworker)
    add_line(basis, caseworker, description="Anleggsbidrag", unit_price="45000.00")
    assert services.offer_guard_errors(basis) == []
    offer = services.offer_send(basis=basis, by=caseworker)
    assert offer.vat == 0


def test_invoice_with_vat_is_refused_after_the_company_deregistered(company, caseworker):
    basis = accepted_basis(by=caseworker)  # worked example 1: O lines and a 25 % re-sealing fee
    _unregister()
    with pytest.raises(InvalidInput, match="ikke MVA-registrert") as exc:
        services.invoices_issue(basis=basis, by=caseworker)
    assert exc.value.code == "not_vat_registered"
    assert not Invoice.objects.filter(basis=basis).exists(), "nothing half-issued (the O invoice neither)"


def test_a_credit_note_stays_possible_after_deregistering(company, caseworker):
    basis = accepted_basis(by=caseworker)
    invoices = services.invoices_issue(basis=basis, by=caseworker)
    taxable = next(i for i in invoices if i.vat_regime == "taxable")
    _unregister()
    credit = services.invoice_credit(invoice=taxable, by=caseworker, reason="Feil sats")
    assert credit.kind == Invoice.Kind.CREDIT_NOTE and credit.gross_total == taxable.gross_total
