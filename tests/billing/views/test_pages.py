"""The workspace pages: what a case worker sees, and who is refused."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from billing import services
from billing.models import CostLine, Customer, InvoiceBasis
from billing.status import Status
from integrations.models import RelatedCase
from tests.support.factories import (
    NO_CUSTOMER,
    accepted_basis,
    add_line,
    example1_lines,
    make_basis,
    make_customer,
)

D = Decimal
NBSP = "\u00a0"
pytestmark = pytest.mark.django_db


def html(response) -> str:
    return response.content.decode()


# --- money filter ---------------------------------------------------------------------------------


def test_nok_filter_formats_like_norwegian_invoices():
    from billing.formatting import nok, nok_plain, qty

    assert nok(D("57392.90")) == f"57{NBSP}392,90{NBSP}kr"
    assert nok_plain(D("1234567.5")) == f"1{NBSP}234{NBSP}567,50"
    assert nok(D("-8765.44")) == f"\u22128{NBSP}765,44{NBSP}kr"
    assert nok(0) == f"0,00{NBSP}kr"
    assert nok(None) == ""
    assert qty(D("12.500")) == "12,5"


# --- roles --------------------------------------------------------------------------------------------

PAGES = [
    ("billing:worklist", {}), ("billing:basis_create", {}), ("billing:shared_list", {}),
    ("billing:shared_create", {}), ("billing:company_settings", {}),
]


@pytest.mark.parametrize("name,kwargs", PAGES)
def test_customer_and_installer_are_refused_and_anonymous_sent_to_login(name, kwargs, client, customer_client,
                                                                         installer_client, company):
    url = reverse(name, kwargs=kwargs)
    assert customer_client.get(url).status_code == 403
    assert installer_client.get(url).status_code == 403
    response = client.get(url)
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_basis_page_and_actions_refused_for_customer_even_their_own(customer_client, customer_user, company,
                                                                    caseworker):
    basis = make_basis(by=caseworker, customer=make_customer(email="kari@example.com"))
    add_line(basis, caseworker)
    for url in (reverse("billing:basis_detail", args=[basis.pk]),
                reverse("billing:basis_action", args=[basis.pk, "send_offer"])):
        assert customer_client.get(url).status_code == 403
        assert customer_client.post(url).status_code == 403
    basis.refresh_from_db()
    assert basis.status == Status.DRAFT


# --- work list --------------------------------------------------------------------------------------


def test_worklist_shows_bases_with_status_chips_and_counts(caseworker_client, caseworker, company):
    a = make_basis(by=caseworker, title="Hytte Fjellvegen")
    add_line(a, caseworker)
    services.offer_send(basis=a, by=caseworker)
    make_basis(by=caseworker, title="Garasje Strandvegen")
    body = html(caseworker_client.get(reverse("billing:worklist")))
    assert "Hytte Fjellvegen" in body and "Garasje Strandvegen" in body
    assert 'Tilbud sendt <span class="count">1</span>' in body
    assert 'Under arbeid <span class="count">1</span>' in body
    assert 'Alle <span class="count">2</span>' in body


def test_worklist_search_over_number_customer_address_metering_point_and_related_case(
        caseworker_client, caseworker, company):
    a = make_basis(by=caseworker, title="A", customer=make_customer(name="Ola Sørensen"),
                   site_street="Fjordgata 12", metering_point_id="707057500012345671")
    b = make_basis(by=caseworker, title="B", customer=make_customer(name="Per Hansen"), site_street="Elvegata 3")
    RelatedCase.objects.create(basis=b, source="nettmelding", external_id="NM-2026-4711")
    url = reverse("billing:worklist")

    def numbers(q):
        body = html(caseworker_client.get(url, {"q": q}))
        return {n for n in (a.number, b.number) if n in body}

    assert numbers("sørensen") == {a.number}
    assert numbers("fjordgata") == {a.number}
    assert numbers("12345671") == {a.number}
    assert numbers("NM-2026-4711") == {b.number}
    assert numbers(b.number) == {b.number}
    assert numbers("ingen-treff") == set()


def test_worklist_filters_status_mine_source_expiring_and_overdue(caseworker_client, caseworker, make_user,
                                                                  company):
    other = make_user("caseworker", username="olav")
    mine = make_basis(by=caseworker, title="Mitt grunnlag")
    theirs = make_basis(by=other, title="Andres grunnlag", source="nettmelding")
    expiring = make_basis(by=other, title="Utløper snart")
    add_line(expiring, other)
    services.offer_send(basis=expiring, by=other, valid_until=dt.date.today() + dt.timedelta(days=3))
    later = make_basis(by=other, title="Utløper senere")
    add_line(later, other)
    services.offer_send(basis=later, by=other, valid_until=dt.date.today() + dt.timedelta(days=60))
    overdue = accepted_basis(by=other, title="Forfalt faktura")
    services.invoices_issue(basis=overdue, by=other, issue_date=dt.date.today() - dt.timedelta(days=40))
    paid = accepted_basis(by=other, title="Betalt faktura")
    for inv in services.invoices_issue(basis=paid, by=other, issue_date=dt.date.today() - dt.timedelta(days=40)):
        services.payment_register(invoice=inv, by=other, amount=inv.gross_total, method="manual")
    url = reverse("billing:worklist")

    def titles(**params):
        body = html(caseworker_client.get(url, params))
        return {t for t in ("Mitt grunnlag", "Andres grunnlag", "Utløper snart", "Utløper senere",
                            "Forfalt faktura", "Betalt faktura") if t in body}

    assert titles(mine="on") == {"Mitt grunnlag"}
    assert titles(source="nettmelding") == {"Andres grunnlag"}
    assert titles(status="offer_sent") == {"Utløper snart", "Utløper senere"}
    assert titles(expiring="on") == {"Utløper snart"}
    assert titles(overdue="on") == {"Forfalt faktura"}
    assert mine and theirs


def test_worklist_sorts_by_column_and_paginates(caseworker_client, caseworker, company):
    for name in ("Bjørn", "Anne", "Carl"):
        make_basis(by=caseworker, title=f"Sak {name}", customer=make_customer(name=name))
    body = html(caseworker_client.get(reverse("billing:worklist"), {"sort": "customer"}))
    assert body.index("Sak Anne") < body.index("Sak Bjørn") < body.index("Sak Carl")
    body = html(caseworker_client.get(reverse("billing:worklist"), {"sort": "-customer"}))
    assert body.index("Sak Carl") < body.index("Sak Bjørn") < body.index("Sak Anne")
    body = html(caseworker_client.get(reverse("billing:worklist"), {"per_page": 25, "page": 1}))
    assert "Side" not in body  # one page only
    for i in range(26):
        make_basis(by=caseworker, title=f"Ekstra {i}", customer=NO_CUSTOMER)
    body = html(caseworker_client.get(reverse("billing:worklist"), {"per_page": 25, "page": 2}))
    assert "Side 2 av 2" in body


def test_worklist_htmx_search_returns_only_the_results_partial(caseworker_client, caseworker, company):
    make_basis(by=caseworker, title="Hytte")
    response = caseworker_client.get(reverse("billing:worklist"), {"q": "Hytte"},
                                     HTTP_HX_REQUEST="true", HTTP_HX_TARGET="results")
    body = html(response)
    assert response.status_code == 200 and "Hytte" in body and "<html" not in body


# --- basis create and page ---------------------------------------------------------------------------


def test_create_basis_with_a_new_customer(caseworker_client, caseworker, company):
    response = caseworker_client.post(reverse("billing:basis_create"), {
        "title": "Ny tilknytning Lia 4", "new_customer_name": "Lise Lia", "new_customer_email": "lise@example.com",
        "site_street": "Lia 4", "site_postal_code": "5000", "site_city": "Bergen",
        "metering_point_id": "707057500012345671", "order_date": "2026-03-01", "prepayment_required": "on"})
    assert response.status_code == 302
    basis = InvoiceBasis.objects.get(title="Ny tilknytning Lia 4")
    assert basis.customer.name == "Lise Lia" and basis.customer.email == "lise@example.com"
    assert basis.prepayment_required and basis.order_date == dt.date(2026, 3, 1)
    assert basis.created_by == caseworker
    page = html(caseworker_client.get(response["Location"]))
    assert basis.number in page and "Lise Lia" in page and "Under arbeid" in page


def test_create_basis_picking_an_existing_customer_and_errors_beside_fields(caseworker_client, caseworker,
                                                                              company):
    customer = make_customer(name="Eksisterende Kunde")
    found = html(caseworker_client.get(reverse("billing:customer_search"), {"customer_q": "eksister"}))
    assert "Eksisterende Kunde" in found
    picked = html(caseworker_client.get(reverse("billing:customer_pick", args=[customer.pk])))
    assert f'name="customer" value="{customer.pk}"' in picked
    bad = caseworker_client.post(reverse("billing:basis_create"), {"title": "X", "customer": customer.pk,
                                                                   "metering_point_id": "123"})
    assert bad.status_code == 422 and "18 siffer" in html(bad)
    ok = caseworker_client.post(reverse("billing:basis_create"), {"title": "X", "customer": customer.pk})
    assert ok.status_code == 302
    assert InvoiceBasis.objects.get(title="X").customer == customer
    assert Customer.objects.count() == 1


def test_basis_page_shows_lines_totals_vat_invoices_timeline_and_related_cases(caseworker_client, caseworker,
                                                                                 company):
    basis = make_basis(by=caseworker)
    example1_lines(basis, caseworker)
    add_line(basis, caseworker, description="Måler fra arbeidsordre", category="meter_work", unit_price="500",
             source="work_order", source_reference="AO-77", line_reference="AO-77-1")
    RelatedCase.objects.create(basis=basis, source="work_order", external_id="AO-77", title="Målerbytte")
    body = html(caseworker_client.get(reverse("billing:basis_detail", args=[basis.pk])))
    assert f"57{NBSP}392,90{NBSP}kr" in body  # O base
    assert f"425,00{NBSP}kr" in body  # VAT: (1200 + 500) × 25 %
    assert f"59{NBSP}517,90{NBSP}kr" in body  # gross
    assert "Arbeidsordre" in body and "AO-77" in body and "Målerbytte" in body
    assert "Sperret" in body  # work release blocked
    assert "Kostnadslinje lagt til" in body and "Grunnlag opprettet" in body  # timeline
    # the external line has no edit button; a manual line has
    ext = CostLine.objects.get(line_reference="AO-77-1")
    assert reverse("billing:line_edit", args=[basis.pk, ext.pk]) not in body
    manual = basis.lines.filter(source="manual").first()
    assert reverse("billing:line_edit", args=[basis.pk, manual.pk]) in body


def test_basis_page_of_unknown_basis_is_404(caseworker_client, company):
    assert caseworker_client.get(reverse("billing:basis_detail", args=[999999])).status_code == 404


def test_basis_header_is_saved_and_invalid_metering_point_is_refused(caseworker_client, caseworker, company):
    basis = make_basis(by=caseworker)
    url = reverse("billing:basis_detail", args=[basis.pk])
    bad = caseworker_client.post(url, {"title": "T", "customer": basis.customer_id, "metering_point_id": "12"})
    assert bad.status_code == 422 and "18 siffer" in html(bad)
    ok = caseworker_client.post(url, {"title": "Nytt navn", "customer": basis.customer_id,
                                      "site_street": "Nygata 1", "metering_point_id": "707057500012345671"})
    assert ok.status_code == 302
    basis.refresh_from_db()
    assert basis.title == "Nytt navn" and basis.site_street == "Nygata 1"


def test_basis_header_form_loads_when_its_panel_opens_and_is_in_the_page_when_asked(caseworker_client, caseworker,
                                                                                   customer_client, company):
    basis = make_basis(by=caseworker, metering_point_id="707057500012345671")
    page_url = reverse("billing:basis_detail", args=[basis.pk])
    form_url = reverse("billing:basis_header_form", args=[basis.pk])
    page = html(caseworker_client.get(page_url))
    # Closed, with the address it loads from when opened, and a plain link to the page with it open.
    panel = page[page.index('<details id="header-edit"'):page.index("</details>", page.index('id="header-edit"'))]
    assert f'hx-get="{form_url}"' in panel and 'hx-trigger="toggle once"' in panel and " open" not in panel
    assert 'href="?endre=1#header-edit"' in panel and 'name="metering_point_id"' not in page
    fragment = html(caseworker_client.get(form_url))
    assert fragment.lstrip().startswith("<form") and f'action="{page_url}"' in fragment
    assert 'value="707057500012345671"' in fragment and basis.customer.name in fragment
    assert 'name="csrfmiddlewaretoken"' in fragment and "<html" not in fragment
    opened = html(caseworker_client.get(page_url + "?endre=1"))
    assert '<details id="header-edit" open>' in opened and 'value="707057500012345671"' in opened
    # The case worker's only: others are refused, an unknown basis is 404.
    assert customer_client.get(form_url).status_code == 403
    assert caseworker_client.get(reverse("billing:basis_header_form", args=[10**9])).status_code == 404
    assert caseworker_client.post(form_url).status_code == 405


# --- company settings ---------------------------------------------------------------------------------


def test_company_settings_saves_and_validates_the_bank_account(company_admin_client, company):
    caseworker_client = company_admin_client
    url = reverse("billing:company_settings")
    page = html(caseworker_client.get(url))
    assert "Fjordnett AS" in page
    data = {"name": "Fjordnett AS", "orgnr": "914588200", "vat_registered": "on", "foretaksregisteret": "on",
            "bank_account": "12345678900", "kid_scheme": "MOD11", "kid_length": 10, "due_days": 20,
            "offer_validity_days": 30, "base_deduction_amount": "0", "default_allocation": "component_capacity",
            "reminder_fee": "35.00", "reminder_days_after_due": 14, "refund_index_annual_percent": "0"}
    bad = caseworker_client.post(url, data)
    assert bad.status_code == 422 and "Ugyldig kontonummer" in html(bad)
    ok = caseworker_client.post(url, {**data, "bank_account": "12345678903"})
    assert ok.status_code == 302
    company.refresh_from_db()
    assert company.due_days == 20 and company.kid_scheme == "MOD11"


def test_case_worker_without_company_admin_cannot_see_or_change_company_settings(caseworker_client, company,
                                                                                  company_admin_client):
    url = reverse("billing:company_settings")
    # The work list is partly cached: what the company admin saw first must not show up for others.
    assert html(company_admin_client.get(reverse("billing:worklist"))).count(url) == 2
    assert url not in html(caseworker_client.get(reverse("billing:worklist")))
    assert caseworker_client.get(url).status_code == 403
    assert caseworker_client.post(url, {"name": "Fjordnett AS", "bank_account": "86011117947"}).status_code == 403
    company.refresh_from_db()
    assert company.bank_account == "12345678903"


def test_company_settings_change_is_audited_with_old_and_new_value_and_shown(company_admin_client, company):
    from django.forms.models import model_to_dict

    from billing.models import AuditEvent

    url = reverse("billing:company_settings")
    assert url in html(company_admin_client.get(reverse("billing:worklist")))
    data = {k: v for k, v in model_to_dict(company).items() if v is not None and k not in ("logo", "id")}
    data = {k: ("on" if v is True else v) for k, v in data.items() if v is not False}
    assert company_admin_client.post(url, {**data, "bank_account": "86011117947"}).status_code == 302
    event = AuditEvent.objects.get(action="billing.company.updated")
    assert set(event.data["changes"]) == {"bank_account"}
    assert event.data["changes"]["bank_account"]["old"] == "12345678903"
    assert event.data["changes"]["bank_account"]["new"] == "86011117947"
    assert event.actor_user.username == "anne"
    page = html(company_admin_client.get(url))
    assert "Selskapsinnstillinger endret" in page and "12345678903" in page and "86011117947" in page
    # Saving the same values again changes nothing and writes no event.
    assert company_admin_client.post(url, {**data, "bank_account": "86011117947"}).status_code == 302
    assert AuditEvent.objects.filter(action="billing.company.updated").count() == 1


def test_company_settings_changed_in_the_admin_are_audited_too(company, make_user):
    from django.contrib.auth import get_user_model
    from django.forms.models import model_to_dict
    from django.test import Client

    from billing.models import AuditEvent

    root = get_user_model().objects.create_superuser("root", "root@example.com", "x-very-long-password-1")
    client = Client()
    client.force_login(root, backend="django.contrib.auth.backends.ModelBackend")
    url = reverse("admin:billing_companyprofile_change", args=[company.pk])
    form = client.get(url).context["adminform"].form
    data = {k: v for k, v in model_to_dict(company).items() if v is not None and k not in ("logo", "id")
            and k in form.fields}
    data = {k: ("on" if v is True else v) for k, v in data.items() if v is not False}
    response = client.post(url, {**data, "reminder_fee": "50.00"})
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    event = AuditEvent.objects.get(action="billing.company.updated")
    assert event.data["changes"]["reminder_fee"] == {"label": "purregebyr", "old": "35.00", "new": "50.00"}
