"""A manual basis reaches an installer: the case worker links related cases and an installer (found by
search or created with a valid org.nr.) from the basis page, changes and removes them; the installer's
own pages and the signed link then show the basis. Only case workers may do it."""

import threading

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from billing.errors import ConflictError, InvalidInput
from billing.models import AuditEvent
from integrations import services
from integrations.models import Installer, RelatedCase
from tests.support.factories import make_basis

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def basis(company, caseworker):
    return make_basis(by=caseworker, title="Ny tilknytning, Lia 4")


@pytest.fixture
def elektro(installer_user):
    installer = Installer.objects.create(name="Elektro Vest AS", orgnr="923609016", email="post@elektrovest.example")
    installer.users.add(installer_user)
    return installer


def _panel(client, basis):
    return reverse("integrations:basis_cases", args=[basis.pk])


def _link(client, basis, HTTP_HX_CURRENT_URL="", **data):  # noqa: N803 - a request header
    payload = {"source": "nettmelding", "external_id": "NM-2026-1", "title": "", "installer": "",
               "installer_q": "", "new_installer_name": "", "new_installer_orgnr": "", "new_installer_email": "",
               "new_installer_phone": ""}
    payload.update(data)
    return client.post(_panel(client, basis), payload, **HX, HTTP_HX_CURRENT_URL=HTTP_HX_CURRENT_URL)


# --- the service -------------------------------------------------------------------------------------


def test_link_with_an_existing_installer_is_idempotent_and_audited(basis, caseworker, elektro):
    case, created = services.related_case_link(basis=basis, by=caseworker, source="nettmelding",
                                               external_id="NM-1", title="Forhåndsmelding", installer=elektro)
    again, created_again = services.related_case_link(basis=basis, by=caseworker, source="nettmelding",
                                                      external_id="NM-1", title="Forhåndsmelding", installer=elektro)
    assert (created, created_again) == (True, False) and again.pk == case.pk
    assert case.installer == elektro
    events = list(AuditEvent.objects.filter(basis=basis, action__startswith="integrations.").values_list(
        "action", "note"))
    assert events == [("integrations.related_case.linked", "Nettmelding NM-1 · Elektro Vest AS (923609016)")]
    assert AuditEvent.objects.get(action="integrations.related_case.linked").actor_user == caseworker


def test_new_installer_is_created_once_by_org_nr(basis, caseworker):
    details = {"name": "Lysverk AS", "orgnr": "974 760 673", "email": "post@lysverk.example", "phone": "55 11 22 33"}
    case, _ = services.related_case_link(basis=basis, by=caseworker, source="work_order", external_id="AO-1",
                                         installer=details)
    other, _ = services.related_case_link(basis=basis, by=caseworker, source="work_order", external_id="AO-2",
                                          installer={**details, "name": "Lysverk (skrivefeil)"})
    assert Installer.objects.count() == 1
    inst = Installer.objects.get()
    assert (inst.name, inst.orgnr, inst.email, inst.phone) == ("Lysverk AS", "974760673", "post@lysverk.example",
                                                              "55 11 22 33")
    assert case.installer == other.installer == inst
    event = AuditEvent.objects.filter(action="integrations.related_case.linked").order_by("id").first()
    assert event.data["installer_created"] is True


@pytest.mark.parametrize(("details", "field"), [
    ({"name": "Feil AS", "orgnr": "923609017"}, "installer.orgnr"),  # wrong check digit
    ({"name": "Feil AS", "orgnr": "923609016", "phone": "abc"}, "installer.phone"),
    ({"name": "Feil AS", "orgnr": "923609016", "email": "ikke-epost"}, "installer.email"),
])
def test_invalid_installer_details_are_refused(basis, caseworker, details, field):
    with pytest.raises(InvalidInput) as exc:
        services.related_case_link(basis=basis, by=caseworker, source="nettmelding", external_id="NM-9",
                                   installer=details)
    assert field in exc.value.fields
    assert not RelatedCase.objects.exists() and not Installer.objects.exists()


def test_changing_the_installer_is_audited_and_a_case_on_another_basis_is_a_conflict(basis, caseworker, elektro):
    services.related_case_link(basis=basis, by=caseworker, source="nettmelding", external_id="NM-1")
    services.related_case_link(basis=basis, by=caseworker, source="nettmelding", external_id="NM-1", installer=elektro)
    assert RelatedCase.objects.get().installer == elektro
    updated = AuditEvent.objects.get(action="integrations.related_case.updated")
    assert updated.data["changed"] == {"installer": "Elektro Vest AS (923609016)"}
    other = make_basis(by=caseworker, title="Annen sak")
    with pytest.raises(ConflictError):
        services.related_case_link(basis=other, by=caseworker, source="nettmelding", external_id="NM-1")


def test_unlink_is_idempotent_and_audited(basis, caseworker, elektro):
    case, _ = services.related_case_link(basis=basis, by=caseworker, source="nettmelding", external_id="NM-1",
                                         installer=elektro)
    assert services.related_case_unlink(basis=basis, by=caseworker, case_id=case.pk) is True
    assert services.related_case_unlink(basis=basis, by=caseworker, case_id=case.pk) is False
    assert not RelatedCase.objects.exists()
    assert AuditEvent.objects.filter(action="integrations.related_case.unlinked").count() == 1


def test_unlink_leaves_another_basis_case_alone(basis, caseworker):
    other = make_basis(by=caseworker, title="Annen sak")
    case, _ = services.related_case_link(basis=other, by=caseworker, source="nettmelding", external_id="NM-7")
    assert services.related_case_unlink(basis=basis, by=caseworker, case_id=case.pk) is False
    assert RelatedCase.objects.filter(pk=case.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_two_case_workers_creating_the_same_installer_at_once_get_one(role_groups, company, caseworker):
    """Both requests find no installer with the org.nr. and create it; the second one reuses the first."""
    bases = [make_basis(by=caseworker, title=f"Grunnlag {i}") for i in range(2)]
    barrier, errors = threading.Barrier(2), []

    def link(i):
        try:
            barrier.wait(timeout=5)
            services.related_case_link(basis=bases[i], by=caseworker, source="nettmelding", external_id=f"NM-{i}",
                                       installer={"name": "Samtidig Elektro AS", "orgnr": "923609016"})
        except Exception as exc:  # noqa: BLE001 — reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=link, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert Installer.objects.filter(orgnr="923609016").count() == 1
    assert set(RelatedCase.objects.values_list("installer__orgnr", flat=True)) == {"923609016"}


@pytest.mark.django_db(transaction=True)
def test_the_same_case_linked_to_two_bases_at_once_is_one_link_and_one_conflict(role_groups, company, caseworker):
    bases = [make_basis(by=caseworker, title=f"Grunnlag {i}") for i in range(2)]
    barrier, results = threading.Barrier(2), []

    def link(i):
        try:
            barrier.wait(timeout=5)
            services.related_case_link(basis=bases[i], by=caseworker, source="nettmelding", external_id="NM-SAMME")
            results.append("linked")
        except Exception as exc:  # noqa: BLE001 — reported below
            results.append(type(exc).__name__)
        finally:
            connection.close()

    threads = [threading.Thread(target=link, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["ConflictError", "linked"]
    assert RelatedCase.objects.filter(external_id="NM-SAMME").count() == 1


# --- the panel (htmx) and the page without JavaScript ---------------------------------------------------


def test_basis_page_loads_the_panel(caseworker_client, basis):
    page = caseworker_client.get(reverse("billing:basis_detail", args=[basis.pk])).content.decode()
    url = _panel(caseworker_client, basis)
    assert f'hx-get="{url}" hx-trigger="load"' in page
    assert f'<a href="{url}">Knytt til sak og installatør</a>' in page  # without JavaScript
    panel = caseworker_client.get(url, **HX)
    assert panel.status_code == 200
    html = panel.content.decode()
    assert html.lstrip().startswith("{#") is False and 'id="related-cases"' in html
    assert "<html" not in html and 'id="case-link"' in html


def test_search_finds_installers_by_name_and_org_nr(caseworker_client, elektro):
    Installer.objects.create(name="Annen Elektro AS", orgnr="974760673")
    url = reverse("integrations:installer_search")
    by_name = caseworker_client.get(url, {"installer_q": "vest"}).content.decode()
    assert "Elektro Vest AS" in by_name and "Annen Elektro" not in by_name
    assert f'name="installer" value="{elektro.pk}"' in by_name
    by_orgnr = caseworker_client.get(url, {"installer_q": "923 609"}).content.decode()
    assert "Elektro Vest AS" in by_orgnr and "Annen Elektro" not in by_orgnr
    none = caseworker_client.get(url, {"installer_q": "finnes ikke"}).content.decode()
    assert "Ingen installatører funnet for «finnes ikke»" in none


def test_case_worker_links_a_case_with_a_searched_installer(caseworker_client, basis, elektro):
    on_page = "http://testserver" + reverse("billing:basis_detail", args=[basis.pk])
    response = _link(caseworker_client, basis, external_id="NM-2026-10411", title="Forhåndsmelding",
                     installer=str(elektro.pk), HTTP_HX_CURRENT_URL=on_page)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Nettmelding NM-2026-10411 er knyttet til grunnlaget. Installatør: Elektro Vest AS." in html
    assert '<section id="timeline" class="card" hx-swap-oob="true"' in html  # Historikk follows
    assert "Relatert sak koblet til" in html
    case = RelatedCase.objects.get()
    assert (case.basis, case.installer, case.title) == (basis, elektro, "Forhåndsmelding")


def test_case_worker_creates_an_installer_with_the_case(caseworker_client, basis):
    response = _link(caseworker_client, basis, source="work_order", external_id="AO-55120",
                     new_installer_name="Lysverk AS", new_installer_orgnr="974760673",
                     new_installer_email="post@lysverk.example", new_installer_phone="+47 55 11 22 33")
    assert response.status_code == 200, response.content.decode()
    assert "hx-swap-oob" not in response.content.decode()  # on the related-cases page there is no Historikk
    inst = Installer.objects.get()
    assert (inst.name, inst.orgnr, inst.phone) == ("Lysverk AS", "974760673", "+47 55 11 22 33")
    assert RelatedCase.objects.get().installer == inst


def test_every_error_of_the_form_is_shown_at_once_inline(caseworker_client, basis):
    response = _link(caseworker_client, basis, external_id="", new_installer_name="",
                     new_installer_orgnr="923609017", new_installer_phone="abc", new_installer_email="x")
    assert response.status_code == 422
    html = response.content.decode()
    assert 'id="case-link-errors"' in html
    for field, text in (("external_id", "Feltet er påkrevet"),
                        ("new_installer_name", "Skriv navnet på installatøren."),
                        ("new_installer_orgnr", "Ugyldig organisasjonsnummer"),
                        ("new_installer_phone", "Skriv telefonnummeret"),
                        ("new_installer_email", "gyldig e-postadresse")):
        assert f'id="rc_{field}_error"' in html, field
        assert text in html, text
    assert 'aria-describedby="rc_new_installer_orgnr_error"' in html
    assert not RelatedCase.objects.exists() and not Installer.objects.exists()
    # The values typed are kept, and the "new installer" part stays open.
    assert 'value="923609017"' in html and '<details class="new-installer" open>' in html


def test_picking_an_installer_and_typing_a_new_one_is_refused(caseworker_client, basis, elektro):
    response = _link(caseworker_client, basis, installer=str(elektro.pk), new_installer_name="Ny AS",
                     new_installer_orgnr="974760673")
    assert response.status_code == 422
    assert "Du har både valgt en installatør og fylt inn en ny." in response.content.decode()


def test_a_case_on_another_basis_is_reported_beside_the_case_number(caseworker_client, basis, caseworker):
    other = make_basis(by=caseworker, title="Annen")
    services.related_case_link(basis=other, by=caseworker, source="nettmelding", external_id="NM-1")
    response = _link(caseworker_client, basis, external_id="NM-1")
    assert response.status_code == 409
    html = response.content.decode()
    assert 'id="rc_external_id_error"' in html and "allerede knyttet til et annet fakturagrunnlag" in html


def test_change_keeps_the_case_number_and_sets_the_installer(caseworker_client, basis, caseworker, elektro):
    case, _ = services.related_case_link(basis=basis, by=caseworker, source="nettmelding", external_id="NM-1")
    form = caseworker_client.get(_panel(caseworker_client, basis), {"endre": case.pk}, **HX).content.decode()
    assert "Endre NM-1" in form and 'name="endre"' in form
    response = _link(caseworker_client, basis, endre=str(case.pk), source="work_order", external_id="ANNET",
                     title="Ny tittel", installer=str(elektro.pk))
    assert response.status_code == 200
    case.refresh_from_db()
    assert (case.source, case.external_id, case.title, case.installer) == ("nettmelding", "NM-1", "Ny tittel", elektro)
    assert RelatedCase.objects.count() == 1


def test_remove_from_the_panel_and_without_javascript(caseworker_client, basis, caseworker):
    one, _ = services.related_case_link(basis=basis, by=caseworker, source="nettmelding", external_id="NM-1")
    two, _ = services.related_case_link(basis=basis, by=caseworker, source="nettmelding", external_id="NM-2")
    url = reverse("integrations:basis_case_unlink", args=[basis.pk])
    on_page = "http://testserver" + reverse("billing:basis_detail", args=[basis.pk])
    html = caseworker_client.post(url, {"case": one.pk}, **HX, HTTP_HX_CURRENT_URL=on_page).content.decode()
    assert "Nettmelding NM-1 er fjernet fra grunnlaget." in html and "Relatert sak fjernet" in html
    again = caseworker_client.post(url, {"case": one.pk}, **HX).content.decode()
    assert "Saken var allerede fjernet." in again
    full = caseworker_client.post(url, {"case": two.pk})
    assert full.status_code == 302 and full["Location"].endswith(f"/arbeid/grunnlag/{basis.pk}/#related-cases")
    assert not RelatedCase.objects.exists()


def test_without_javascript_the_panel_is_a_page_and_link_redirects_to_the_basis(caseworker_client, basis, elektro):
    page = caseworker_client.get(_panel(caseworker_client, basis))
    assert page.status_code == 200
    html = page.content.decode()
    assert "<title>Relaterte saker, " in html and "<h1>" in html
    searched = caseworker_client.post(_panel(caseworker_client, basis), {
        "do": "search", "installer_q": "Elektro Vest", "source": "nettmelding", "external_id": "NM-5"})
    assert searched.status_code == 200
    html = searched.content.decode()
    assert f'value="{elektro.pk}"' in html and 'value="NM-5"' in html and "Feil:" not in html
    assert not RelatedCase.objects.exists()
    done = caseworker_client.post(_panel(caseworker_client, basis), {
        "source": "nettmelding", "external_id": "NM-5", "installer": str(elektro.pk)})
    assert done.status_code == 302
    followed = caseworker_client.get(done["Location"]).content.decode()
    assert "Nettmelding NM-5 er knyttet til grunnlaget." in followed
    failed = caseworker_client.post(_panel(caseworker_client, basis), {"source": "nettmelding", "external_id": ""})
    assert failed.status_code == 422
    assert "<title>Feil: Relaterte saker" in failed.content.decode()


# --- the installer sees the basis ------------------------------------------------------------------------


def test_installer_pages_and_link_show_the_linked_basis(caseworker_client, installer_client, basis, elektro, settings):
    assert "Lia 4" not in installer_client.get("/installator/").content.decode()
    _link(caseworker_client, basis, external_id="NM-2026-10411", installer=str(elektro.pk))
    case = RelatedCase.objects.get()
    home = installer_client.get("/installator/").content.decode()
    assert "NM-2026-10411" in home and basis.number in home
    page = installer_client.get(f"/installator/saker/{case.pk}/")
    assert page.status_code == 200 and basis.number in page.content.decode()
    # The panel offers the signed link; it shows the basis without login.
    panel = caseworker_client.get(_panel(caseworker_client, basis), **HX).content.decode()
    link = services.installer_link_url(case)
    prefix = link[:link.index("/lenke/") + len("/lenke/")]
    assert f'data-copy="{prefix}' in panel
    start = panel.index(f'data-copy="{prefix}') + len('data-copy="')
    url = panel[start:panel.index('"', start)].removeprefix(settings.SITE_URL)
    anonymous = Client().get(url)
    assert anonymous.status_code == 200 and basis.number in anonymous.content.decode()


# --- who may ----------------------------------------------------------------------------------------------


def test_only_case_workers_may(client, customer_client, installer_client, basis, elektro):
    case, _ = services.related_case_link(basis=basis, by=None, source="nettmelding", external_id="NM-1",
                                         installer=elektro)
    urls = [("get", reverse("integrations:basis_cases", args=[basis.pk]), {}),
            ("post", reverse("integrations:basis_cases", args=[basis.pk]),
             {"source": "nettmelding", "external_id": "NM-X", "installer": str(elektro.pk)}),
            ("post", reverse("integrations:basis_case_unlink", args=[basis.pk]), {"case": case.pk}),
            ("get", reverse("integrations:installer_search"), {"installer_q": "Elektro"})]
    for who, expected in ((customer_client, 403), (installer_client, 403), (client, 302)):
        for method, url, data in urls:
            response = getattr(who, method)(url, data)
            assert response.status_code == expected, (method, url, response.status_code)
    assert list(RelatedCase.objects.values_list("external_id", flat=True)) == ["NM-1"]


def test_unknown_basis_is_404(caseworker_client):
    assert caseworker_client.get(reverse("integrations:basis_cases", args=[999999])).status_code == 404
    assert caseworker_client.post(reverse("integrations:basis_case_unlink", args=[999999]),
                                  {"case": 1}).status_code == 404
