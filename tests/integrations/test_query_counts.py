"""The installer's case page costs a fixed number of queries, whatever the size of the basis."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing import services as billing
from billing.models import CompanyProfile
from integrations import services
from integrations.models import Installer
from tests.support.factories import add_line, make_basis

pytestmark = pytest.mark.django_db

CASE_MAX_QUERIES = 7


def _case(installer, n_lines, *, accept=False):
    basis = make_basis(title=f"Sak med {n_lines} linjer")
    for i in range(n_lines):
        add_line(basis, description=f"Linje {i}", unit_price=f"{100 + i}.00")
    if accept:
        billing.offer_send(basis=basis, by=None)
        billing.offer_accept(basis=basis, by=None)
    case, _ = services.related_case_link(basis=basis, by=None, source="nettmelding", external_id=f"NM-{basis.pk}",
                                         installer={"name": installer.name, "email": installer.email})
    return case


def _count(client, case):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(f"/installator/saker/{case.pk}/")
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("amounts", [False, True])
def test_installer_case_page_query_count_is_fixed(amounts, installer_client, installer_user, company):
    CompanyProfile.objects.filter(pk=1).update(installer_sees_amounts=amounts)
    installer = Installer.objects.create(name="Elektro Vest AS", email="post@elektrovest.no")
    installer.users.add(installer_user)
    small = _count(installer_client, _case(installer, 2))
    large = _count(installer_client, _case(installer, 30, accept=True))  # more lines, more timeline steps
    assert small == large <= CASE_MAX_QUERIES
