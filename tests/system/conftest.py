"""Data for the security and accessibility tests: one of everything a page can show, for our users and
for others."""

from types import SimpleNamespace

import pytest


@pytest.fixture
def world(company, caseworker, customer_user, installer_user, make_user):
    """Our customer's accepted prepayment basis (offer, invoices), an installer case, a shared cost,
    a bulk job, an outbox e-mail; and the same for another customer and another installer."""
    from billing import services
    from billing.models import BulkJob
    from integrations import services as integrations
    from integrations.models import Installer
    from kundefaktura.accounts.roles import CUSTOMER, INSTALLER
    from offers.models import OutboundEmail
    from tests.support.factories import customer_basis

    def one_customer(user):
        basis = customer_basis(user, prepayment=True, email=user.email)
        services.offer_accept(basis=basis, by=user)
        basis.refresh_from_db()
        return SimpleNamespace(basis=basis, offer=basis.offers.get(), invoice=basis.invoices.order_by("pk")[0],
                               line=basis.lines.order_by("pk")[0])

    def one_case(basis, user, orgnr, external_id):
        inst = Installer.objects.create(name=f"Elektro {orgnr}", orgnr=orgnr)
        inst.users.add(user)
        case, _ = integrations.related_case_link(basis=basis, by=None, source="nettmelding", external_id=external_id)
        case.installer = inst
        case.save(update_fields=["installer"])
        return case

    ours = one_customer(customer_user)
    other_user = make_user(CUSTOMER, username="ola", first_name="Ola", last_name="Annen", email="ola@example.com")
    theirs = one_customer(other_user)
    ours.case = one_case(ours.basis, installer_user, "914588200", "NM-1")
    other_installer = make_user(INSTALLER, username="per", first_name="Per", last_name="Annen", email="per@example.com")
    theirs.case = one_case(theirs.basis, other_installer, "974760673", "NM-2")
    shared, _ = services.shared_cost_create(by=caseworker, description="Nettstasjon Solsiden", capacity=500)
    bulk = BulkJob.objects.create(created_by=caseworker)
    email = OutboundEmail.objects.filter(basis=ours.basis).first()
    return SimpleNamespace(ours=ours, theirs=theirs, shared=shared, bulk=bulk, email=email,
                           other_user=other_user, other_installer=other_installer)
