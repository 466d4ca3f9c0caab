"""The work list writes its rows in Python (billing/views/worklist.py, `worklist_rows`); the row template
is the reference, and both must give the same bytes for every kind of row, in every language."""

import datetime as dt
from decimal import Decimal

import pytest
from django.template.loader import get_template
from django.utils import translation

from billing import selectors
from billing.views.worklist import worklist_rows
from tests.support.factories import NO_CUSTOMER, add_line, make_basis

HOSTILE = "<b>\"Ærlig\" & 'åpen'</b> %(n)s {{ x }}"


def _row(**overrides):
    fields = dict(pk=12345, number="FG-2026-000123", title="Ny tilknytning, Bakkeveien 2", customer_name="Kari Nordmann",
                  status="offer_sent", offer_valid_until=dt.date(2026, 3, 9),
                  created_at=dt.datetime(2026, 1, 31, 23, 30, tzinfo=dt.UTC),  # 1 February in Oslo
                  site_street="Bakkeveien 2", site_city="Bergen", net_total=Decimal("57392.90"), is_overdue=False)
    fields.update(overrides)
    return selectors.WorklistRow(**fields)


ROWS = [
    _row(),
    _row(is_overdue=True, status="invoiced", net_total=Decimal("-1234567.05")),
    _row(customer_name=None, offer_valid_until=None, site_city="", net_total=Decimal("0")),
    _row(customer_name="", site_street="", site_city="Voss"),
    _row(number=HOSTILE, title=HOSTILE, customer_name=HOSTILE, site_street=HOSTILE, site_city=HOSTILE),
    _row(status="no_such_status", created_at=dt.datetime(2026, 6, 30, 22, 0, tzinfo=dt.UTC)),
]


@pytest.mark.parametrize("language", ["nb", "nn", "en"])
def test_python_rows_are_the_template_rows_byte_for_byte(language):
    template = get_template("workspace/_worklist_row.html")
    with translation.override(language):
        for row, written in zip(ROWS, worklist_rows(ROWS), strict=True):
            assert written == template.render({"b": row})


@pytest.mark.django_db
def test_rows_read_from_the_database_match_the_template(caseworker, company):
    bases = [make_basis(by=caseworker, title="Med kunde"), make_basis(by=caseworker, customer=NO_CUSTOMER, title="Uten")]
    add_line(bases[0], caseworker, unit_price="1234.50")
    rows = selectors.worklist_rows_by_ids([b.pk for b in bases])
    assert [r.pk for r in rows] == [b.pk for b in bases]
    assert rows[0].net_total == Decimal("1234.50") and rows[1].customer_name is None
    template = get_template("workspace/_worklist_row.html")
    assert worklist_rows(rows) == [template.render({"b": r}) for r in rows]
