"""A change the customer accepted is what they agreed to: until it is invoiced its lines can be neither
edited nor removed (services and the basis page), just like lines on an issued invoice."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from billing import services
from billing.errors import LockedError
from billing.models import CostLine
from tests.factories import accepted_basis, add_line

HX = {"HTTP_HX_REQUEST": "true"}


def _accepted_change(basis, caseworker, n=1):
    lines = [add_line(basis, caseworker, category="meter_work", description=f"Ekstra målerskap {i}",
                      unit_price="2500.00") for i in range(n)]
    notice = services.change_notice_send(basis=basis, by=caseworker)
    services.change_notice_answer(notice=notice, by=None, decision="accepted", channel="phone",
                                   note="Akseptert på telefon")
    return lines


@pytest.fixture
def invoiced(company, caseworker):
    basis = accepted_basis(by=caseworker)
    services.invoices_issue(basis=basis, by=caseworker)
    return basis


def test_accepted_uninvoiced_change_line_cannot_be_edited_or_removed(invoiced, caseworker):
    [line] = _accepted_change(invoiced, caseworker)
    with pytest.raises(LockedError, match="akseptert denne endringen") as exc:
        services.line_update(line=line, by=caseworker, unit_price="1.00")
    assert exc.value.code == "locked" and exc.value.status_code == 409
    with pytest.raises(LockedError, match="akseptert denne endringen"):
        services.line_remove(line=line, by=caseworker)
    line.refresh_from_db()
    assert (line.unit_price, line.description) == (2500, "Ekstra målerskap 0")
    assert not invoiced.events.filter(action__in=["billing.line.changed", "billing.line.removed"]).exists()
    # Once invoiced, the invoice's own lock is what the case worker is told.
    services.invoices_issue(basis=invoiced, by=caseworker)
    with pytest.raises(LockedError, match="utstedt faktura"):
        services.line_update(line=line, by=caseworker, unit_price="1.00")


@pytest.mark.parametrize("answer", [None, "sent", "declined"])
def test_other_change_lines_stay_editable(invoiced, caseworker, answer):
    line = add_line(invoiced, caseworker, category="meter_work", description="Graving", unit_price="900.00")
    if answer:
        notice = services.change_notice_send(basis=invoiced, by=caseworker)
        if answer == "declined":
            services.change_notice_answer(notice=notice, by=None, decision="declined", channel="phone", note="Nei")
    assert services.line_update(line=line, by=caseworker, unit_price="950.00").amount == 950
    services.line_remove(line=line, by=caseworker)
    assert not CostLine.objects.filter(pk=line.pk).exists()


def test_basis_page_offers_no_edit_or_delete_for_an_accepted_change(invoiced, caseworker, caseworker_client):
    [line] = _accepted_change(invoiced, caseworker)
    pending = add_line(invoiced, caseworker, category="meter_work", description="Ny endring", unit_price="10.00")
    page = caseworker_client.get(reverse("billing:basis_detail", args=[invoiced.pk])).content.decode()
    row = page.split(f'id="line-{line.pk}"')[1].split("</tr>")[0]
    assert "Akseptert endring" in row and 'class="lock-icon"' in row and 'class="locked"' in page.split(f'id="line-{line.pk}"')[1][:20]
    edit, delete = (reverse(name, args=[invoiced.pk, line.pk]) for name in ("billing:line_edit", "billing:line_delete"))
    assert edit not in page and delete not in page
    assert reverse("billing:line_edit", args=[invoiced.pk, pending.pk]) in page, "a new change is still editable"

    response = caseworker_client.post(edit, {f"l{line.pk}-category": "meter_work", f"l{line.pk}-description": "Endret",
                                             f"l{line.pk}-quantity": "1", f"l{line.pk}-unit": "stk",
                                             f"l{line.pk}-unit_price": "1.00", f"l{line.pk}-vat_code": "S"}, **HX)
    assert response.status_code == 409 and "akseptert denne endringen" in response.content.decode()
    response = caseworker_client.post(delete, **HX)
    assert response.status_code == 409 and "akseptert denne endringen" in response.content.decode()
    line.refresh_from_db()
    assert line.description == "Ekstra målerskap 0" and line.amount == 2500


def test_basis_page_reads_change_states_in_a_fixed_number_of_queries(company, caseworker, caseworker_client):
    def queries(n):
        basis = accepted_basis(by=caseworker)
        services.invoices_issue(basis=basis, by=caseworker)
        _accepted_change(basis, caseworker, n)
        with CaptureQueriesContext(connection) as ctx:
            page = caseworker_client.get(reverse("billing:basis_detail", args=[basis.pk])).content.decode()
        assert page.count("Akseptert endring</span>") == n
        return len(ctx.captured_queries)

    assert queries(2) == queries(12)
