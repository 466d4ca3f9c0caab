"""Historikk follows inline line edits: every htmx add/edit/delete answers with the timeline swapped
out of band, holding the event just written (no reload needed)."""

import re

import pytest
from django.urls import reverse

from tests.support.factories import add_line, make_basis

HX = {"HTTP_HX_REQUEST": "true"}
pytestmark = pytest.mark.django_db
OOB_TIMELINE = '<section id="timeline" class="card" hx-swap-oob="true"'


def _timeline(body: str) -> str:
    assert OOB_TIMELINE in body
    return body[body.index(OOB_TIMELINE):]


def test_timeline_refreshes_after_add_edit_and_delete(caseworker_client, caseworker, company):
    basis = make_basis(by=caseworker)
    page = caseworker_client.get(reverse("billing:basis_detail", args=[basis.pk])).content.decode()
    assert '<section id="timeline" class="card" aria-labelledby="tl-h">' in page
    assert "Kostnadslinje lagt til" not in page

    added = caseworker_client.post(reverse("billing:line_add", args=[basis.pk]), {
        "new-category": "connection_contribution", "new-description": "Kabel", "new-quantity": "2",
        "new-unit": "stk", "new-unit_price": "100", "new-vat_code": ""}, **HX)
    assert added.status_code == 200
    assert "Kostnadslinje lagt til" in _timeline(added.content.decode())

    line = basis.lines.get()
    p = f"l{line.pk}"
    edited = caseworker_client.post(reverse("billing:line_edit", args=[basis.pk, line.pk]), {
        f"{p}-category": "connection_contribution", f"{p}-description": "Kabel 2", f"{p}-quantity": "3",
        f"{p}-unit": "stk", f"{p}-unit_price": "100", f"{p}-vat_code": ""}, **HX)
    assert edited.status_code == 200
    assert "Kostnadslinje endret" in _timeline(edited.content.decode())

    deleted = caseworker_client.post(reverse("billing:line_delete", args=[basis.pk, line.pk]), **HX)
    assert deleted.status_code == 200
    assert "Kostnadslinje fjernet" in _timeline(deleted.content.decode())


def test_full_page_has_one_timeline(caseworker_client, caseworker, company):
    basis = make_basis(by=caseworker)
    add_line(basis, caseworker)
    page = caseworker_client.get(reverse("billing:basis_detail", args=[basis.pk])).content.decode()
    assert len(re.findall(r'id="timeline"', page)) == 1
