"""billing/selectors/reference.py: the company profile, cost categories and VAT codes are read again
exactly when they change, and otherwise cost one small query."""

from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from billing.models import CompanyProfile, CostCategory, VatCode
from billing.selectors import reference

# Outside a transaction, as a request runs: inside one, reference() reads plainly.
pytestmark = pytest.mark.django_db(transaction=True)


def _queries(fn):
    with CaptureQueriesContext(connection) as queries:
        result = fn()
    return result, len(queries)


def test_unchanged_rows_cost_one_query_and_each_kind_of_change_is_seen_at_once(role_groups, company):
    first, n = _queries(reference)
    assert first.profile.name == "Fjordnett AS" and first.categories and first.vat_codes
    again, n = _queries(reference)
    assert again.profile is first.profile and again.categories is first.categories and n == 1  # the stamp only

    CompanyProfile.objects.filter(pk=1).update(name="Vestnett AS")  # an update, not through save()
    assert reference().profile.name == "Vestnett AS"

    code = VatCode.objects.create(code="X9", name="Prøvesats", rate=Decimal("12.00"))
    assert "X9" in {v.code for v in reference().vat_codes}
    VatCode.objects.filter(pk=code.pk).update(name="Annen prøvesats")
    assert {v.code: v.name for v in reference().vat_codes}["X9"] == "Annen prøvesats"
    code.delete()
    assert "X9" not in {v.code for v in reference().vat_codes}

    category = CostCategory.objects.first()
    CostCategory.objects.filter(pk=category.pk).update(label="Nytt navn")
    assert {c.pk: c.label for c in reference().categories}[category.pk] == "Nytt navn"


def test_rows_read_in_a_rolled_back_transaction_are_not_kept(role_groups, company):
    reference()
    with pytest.raises(RuntimeError), transaction.atomic():
        CompanyProfile.objects.filter(pk=1).update(name="Aldri lagret AS")
        assert reference().profile.name == "Aldri lagret AS"  # this transaction's own view
        CompanyProfile.objects.filter(pk=1).update(name="Heller ikke lagret AS")  # the same transaction id
        assert reference().profile.name == "Heller ikke lagret AS"
        raise RuntimeError
    assert reference().profile.name == "Fjordnett AS"


def test_no_profile_yet(role_groups):
    assert reference().profile is None


def test_a_stamp_carried_by_a_rows_query_saves_the_stamps_own_query_and_sees_every_change(role_groups, company):
    from billing.models import InvoiceBasis
    from billing.selectors import with_stamps
    from tests.support.factories import make_basis

    pk = make_basis().pk

    def page(*parts):  # a page's row query carrying the stamp, then the rows it needs
        row = with_stamps(InvoiceBasis.objects.filter(pk=pk), *parts).get()
        return reference(*parts, stamps=row.reference_stamps)

    first = page()
    again, n = _queries(page)
    assert n == 1 and again.profile is first.profile and again.vat_codes is first.vat_codes  # the row's query only
    CompanyProfile.objects.filter(pk=1).update(name="Vestnett AS")
    VatCode.objects.create(code="X8", name="Prøvesats", rate=Decimal("12.00"))
    assert page().profile.name == "Vestnett AS" and "X8" in {v.code for v in page().vat_codes}
    assert page("profile").profile.name == "Vestnett AS" and page("profile").vat_codes == ()
    CompanyProfile.objects.filter(pk=1).update(name="Fjordnett AS")
    assert page("profile").profile.name == "Fjordnett AS"
