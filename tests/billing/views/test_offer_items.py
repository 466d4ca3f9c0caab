"""The basis page's offers and the evidence of the customer's answers are written in Python
(`offer_items` and `acceptance_items` in billing/templatetags/workspace.py); the item templates
(workspace/_offer_item.html, workspace/_acceptance_item.html) are the reference, and both must give the
same bytes for every kind of offer and answer, in every language, on either side of a daylight-saving
change."""

import datetime as dt
from decimal import Decimal

import pytest
from django.template.loader import get_template
from django.utils import translation

from billing.models import Acceptance, Offer
from billing.templatetags.workspace import acceptance_items, offer_items
from kundefaktura.accounts.models import User

HOSTILE = "<b>\"Ærlig\" & 'åpen'</b> %(n)s {{ x }} «»\nny linje"
UTC = dt.UTC


def offers():
    return [
        Offer(pk=3, version=3, kind="offer", sent_at=dt.datetime(2026, 3, 28, 23, 30, tzinfo=UTC),
              valid_until=dt.date(2026, 4, 27), gross=Decimal("57392.9")),
        Offer(pk=2, version=2, kind="offer", sent_at=dt.datetime(2026, 10, 25, 1, 0, tzinfo=UTC),
              valid_until=dt.date(2026, 11, 24), gross=Decimal("-0.5"),
              outdated_at=dt.datetime(2026, 10, 26, tzinfo=UTC)),
        Offer(pk=1, version=1, kind="offer", sent_at=None, valid_until=None, gross=Decimal("12345678.99")),
    ]


def acceptances():
    return [
        Acceptance(pk=1, offer_version=3, decision="accepted", channel="portal",
                   user=User(username="kari", first_name="Kari", last_name=HOSTILE),
                   at=dt.datetime(2026, 3, 29, 0, 59, 59, tzinfo=UTC), login_method="bankid",
                   auth_acr="idporten-loa-high", auth_time=dt.datetime(2026, 3, 29, 0, 58, 7, tzinfo=UTC),
                   ip_address="2001:db8::1", pdf_sha256="ab" * 32),
        Acceptance(pk=2, offer_version=2, decision="declined", channel="phone", user=User(username="ola<x>"),
                   at=dt.datetime(2026, 10, 25, 0, 30, tzinfo=UTC), login_method="", auth_acr=HOSTILE),
        Acceptance(pk=3, offer_version=1, decision="accepted", channel="paper", user=None,
                   at=dt.datetime(2026, 12, 31, 23, 0, tzinfo=UTC), login_method="password",
                   ip_address="10.0.0.1", pdf_sha256="short"),
        Acceptance(pk=4, offer_version=4, decision="unknown<d>", channel="fax<&>", user=None,
                   at=dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=-3)))),
    ]


def _reference(name, key, objects):
    template = get_template(name)
    return "".join(template.render({key: obj}).removeprefix("\n") for obj in objects)


@pytest.mark.parametrize("language", ["nb", "nn", "en"])
def test_python_offer_items_are_the_templates_bytes(language):
    with translation.override(language):
        expected = _reference("workspace/_offer_item.html", "o", offers())
        assert str(offer_items(offers())) == expected
    assert expected.count("<li>") == 3 and expected.count('class="chip"') == 1
    assert " · 29.03.2026 · " in expected  # sent 23:30 UTC on 28 March: the 29th in Oslo
    assert "−0,50\xa0kr" in expected and "12\xa0345\xa0678,99\xa0kr" in expected


@pytest.mark.parametrize("language", ["nb", "nn", "en"])
def test_python_acceptance_items_are_the_templates_bytes(language):
    with translation.override(language):
        expected = _reference("workspace/_acceptance_item.html", "a", acceptances())
        assert str(acceptance_items(acceptances())) == expected
    assert expected.count("<li>") == 4
    assert "&lt;b&gt;&quot;Ærlig&quot; &amp; &#x27;åpen&#x27;&lt;/b&gt;" in expected  # escaped, not markup
    assert "ola&lt;x&gt;" in expected and "unknown&lt;d&gt;" in expected and "fax&lt;&amp;&gt;" in expected
    assert " · 29.03.2026 01:59 · " in expected and " 29.03.2026 01:58:07" in expected
    assert " · 25.10.2026 02:30 · " in expected  # still summer time: 00:30 UTC is 02:30 in Oslo
    assert f"{'ab' * 6}…" in expected and ">short<" in expected and "IP 2001:db8::1" in expected


def test_no_items_for_none():
    assert str(offer_items([])) == "" and str(acceptance_items([])) == ""
