"""The offer the customer accepted is the agreement: its lines are neither edited nor removed afterwards
(services, the basis page and its URLs). A changed cost after acceptance is a new change line with a change
notice; actual-cost lines for the final settlement stay editable."""

import pytest
from django.urls import reverse

from billing import services
from billing.errors import LockedError
from billing.models import CostLine
from tests.support.factories import accepted_basis, add_line, make_basis

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}


def test_accepted_offer_lines_are_locked(company, caseworker):
    basis = accepted_basis(by=caseworker)
    line = basis.lines.filter(is_change=False).first()
    before = (line.description, line.quantity, line.unit_price, line.amount)
    with pytest.raises(LockedError, match="tilbudet kunden har akseptert") as exc:
        services.line_update(line=line, by=caseworker, unit_price="1.00")
    assert exc.value.status_code == 409
    with pytest.raises(LockedError, match="tilbudet kunden har akseptert"):
        services.line_remove(line=line, by=caseworker)
    line.refresh_from_db()
    assert (line.description, line.quantity, line.unit_price, line.amount) == before


def test_change_and_actual_lines_after_acceptance_stay_editable(company, caseworker):
    basis = accepted_basis(by=caseworker)
    change = add_line(basis, caseworker, category="meter_work", description="Ekstra", unit_price="500.00")
    actual = add_line(basis, caseworker, description="Faktisk kostnad", unit_price="1000.00", phase="actual")
    assert change.is_change and actual.phase == CostLine.Phase.ACTUAL
    services.line_update(line=change, by=caseworker, unit_price="600.00")
    services.line_update(line=actual, by=caseworker, unit_price="1100.00")
    services.line_remove(line=change, by=caseworker)
    assert not CostLine.objects.filter(pk=change.pk).exists()


def test_lines_stay_editable_before_acceptance(company, caseworker):
    basis = make_basis(by=caseworker)
    line = add_line(basis, caseworker)
    services.offer_send(basis=basis, by=caseworker)
    services.line_update(line=line, by=caseworker, unit_price="150.00")  # a new offer version follows
    line.refresh_from_db()
    assert line.unit_price == 150


def test_basis_page_marks_accepted_offer_lines_and_offers_no_edit(company, caseworker, caseworker_client):
    basis = accepted_basis(by=caseworker)
    change = add_line(basis, caseworker, category="meter_work", description="Ekstra", unit_price="500.00")
    page = caseworker_client.get(reverse("billing:basis_detail", args=[basis.pk])).content.decode()
    offer_lines = list(basis.lines.filter(is_change=False))
    assert page.count("Akseptert tilbud</span>") == len(offer_lines)
    for line in offer_lines:
        assert reverse("billing:line_edit", args=[basis.pk, line.pk]) not in page
        assert reverse("billing:line_delete", args=[basis.pk, line.pk]) not in page
    assert reverse("billing:line_edit", args=[basis.pk, change.pk]) in page, "the change line is still editable"
    # and the URLs refuse with the message, without changing anything
    line = offer_lines[0]
    response = caseworker_client.post(reverse("billing:line_delete", args=[basis.pk, line.pk]), **HX)
    assert response.status_code == 409 and "tilbudet kunden har akseptert" in response.content.decode()
    assert CostLine.objects.filter(pk=line.pk).exists()
