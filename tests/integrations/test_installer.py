"""The installer's status pages: only their own cases, status in words, work release, the timeline,
amounts only when the company allows it; the signed read-only link works without login and expires."""

import datetime as dt

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from billing import services as billing
from billing.models import CompanyProfile
from integrations import services
from integrations.models import Installer
from tests.support.factories import accepted_basis, example1_lines, make_basis

pytestmark = pytest.mark.django_db


@pytest.fixture
def own_case(company, installer_user):
    installer = Installer.objects.create(name="Elektro Vest AS", email="post@elektrovest.no")
    installer.users.add(installer_user)
    basis = make_basis(reference="B-OWN", title="Enebolig Fjellveien 3")
    example1_lines(basis)
    case, _ = services.related_case_link(basis=basis, by=None, source="nettmelding", external_id="NM-100",
                                         title="Forhåndsmelding Fjellveien 3",
                                         installer={"name": installer.name, "email": installer.email})
    return case


@pytest.fixture
def other_case(company):
    basis = accepted_basis(reference="B-OTHER", title="Hytte Sjøkanten 9")
    case, _ = services.related_case_link(basis=basis, by=None, source="work_order", external_id="AO-200",
                                         title="Annen installatør", installer={"name": "Konkurrent AS",
                                                                               "email": "k@konkurrent.no"})
    return case


def test_installer_sees_own_cases_only(installer_client, own_case, other_case):
    page = installer_client.get("/installator/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "NM-100" in html and "Under arbeid" in html and "Arbeidet er sperret" in html
    assert "AO-200" not in html and "Sjøkanten" not in html
    assert installer_client.get(f"/installator/saker/{other_case.pk}/").status_code == 404
    assert installer_client.get(f"/installator/saker/{own_case.pk}/").status_code == 200


def test_case_page_shows_status_release_and_timeline_without_amounts(installer_client, own_case):
    basis = own_case.basis
    billing.offer_send(basis=basis, by=None)
    page = installer_client.get(f"/installator/saker/{own_case.pk}/").content.decode()
    assert "Tilbud sendt" in page and "Arbeidet er sperret" in page
    assert "Arbeidet kan ikke starte før kunden har akseptert tilbudet." in page
    billing.offer_accept(basis=basis, by=None)
    page = installer_client.get(f"/installator/saker/{own_case.pk}/").content.decode()
    assert "Akseptert" in page and "Arbeidet er frigitt" in page
    for step in ("Tilbud sendt", "Akseptert av kunden", "Arbeidet frigitt", "Faktura sendt", "Faktura betalt"):
        assert step in page
    assert "ikke ennå" in page  # invoiced and paid are still ahead
    assert "892,90" not in page  # no amounts unless the company profile allows it


def test_amounts_shown_when_company_allows(installer_client, own_case):
    CompanyProfile.objects.filter(pk=1).update(installer_sees_amounts=True)
    page = installer_client.get(f"/installator/saker/{own_case.pk}/").content.decode()
    assert "58\u00a0892,90\u00a0kr" in page or "58\u00a0892,90 kr" in page


def test_other_roles_and_anonymous_are_refused(client, caseworker_client, own_case):
    assert client.get(f"/installator/saker/{own_case.pk}/").status_code == 302
    assert caseworker_client.get(f"/installator/saker/{own_case.pk}/").status_code == 403


def test_installer_user_of_another_company_sees_nothing(make_user, own_case):
    from kundefaktura.accounts.roles import INSTALLER

    stranger = make_user(INSTALLER, username="fremmed")
    Installer.objects.create(name="Fremmed Elektro").users.add(stranger)
    client = Client()
    client.force_login(stranger, backend="django.contrib.auth.backends.ModelBackend")
    assert "NM-100" not in client.get("/installator/").content.decode()
    assert client.get(f"/installator/saker/{own_case.pk}/").status_code == 404


def test_signed_link_shows_one_case_without_login_and_expires(settings, own_case):
    settings.INSTALLER_LINK_MAX_AGE = 7 * 24 * 3600
    url = services.installer_link_url(own_case).removeprefix(settings.SITE_URL)
    anonymous = Client()
    page = anonymous.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert "NM-100" in html and "Under arbeid" in html and "Skrivebeskyttet" in html
    assert "Sjøkanten" not in html
    # Tampered: 404.
    assert anonymous.get(url.replace("/lenke/", "/lenke/x")).status_code == 404
    # Expired: 404 with an explanation.
    with time_machine.travel(timezone.now() + dt.timedelta(days=8), tick=False):
        expired = anonymous.get(url)
    assert expired.status_code == 404
    assert "utløpt" in expired.content.decode()


def test_signed_link_is_marked_public():
    from django.urls import resolve

    assert resolve("/installator/lenke/abc/").func.public is True


def test_case_worker_sees_work_release_per_related_case(caseworker_client, installer_client, own_case, other_case):
    page = caseworker_client.get("/integrasjoner/saker/").content.decode()
    assert "NM-100" in page and "AO-200" in page
    assert "Arbeidet er sperret" in page and "Arbeidet er frigitt" in page
    filtered = caseworker_client.get("/integrasjoner/saker/?q=AO-200").content.decode()
    assert "AO-200" in filtered and "NM-100" not in filtered
    assert installer_client.get("/integrasjoner/saker/").status_code == 403


def test_related_cases_partial_for_the_basis_page(own_case):
    from django.template.loader import render_to_string

    html = render_to_string("integrations/_related_cases.html", {"basis": own_case.basis})
    assert "NM-100" in html and "Elektro Vest AS" in html and "Arbeidet er sperret" in html
