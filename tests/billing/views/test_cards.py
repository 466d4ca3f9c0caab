"""The basis page's totals card and actions are written in Python (`totals_card` and `actions_bar` in
billing/templatetags/workspace.py); their templates (workspace/_totals.html, workspace/_actions.html) are
the reference, and both must give the same bytes for every combination the page shows, in every
language."""

import datetime as dt
import itertools
from decimal import Decimal

import pytest
from django.template import Context, Template
from django.template.loader import get_template
from django.utils import translation

from billing.models import InvoiceBasis, Offer
from billing.money import Totals, VatGroup
from billing.templatetags.workspace import actions_bar, totals_card

HOSTILE = "<b>\"Ærlig\" & 'åpen'</b> %(n)s {{ x }} «»\nny linje"
D = Decimal
LANGUAGES = ["nb", "nn", "en"]


def _python(tag, context):
    return Template("{% load workspace %}{% " + tag + " %}").render(Context(context))


def _reference(name, context):
    return get_template(name).render(context).removeprefix("\n")


def _totals(groups):
    net = sum((g.base for g in groups), D("0"))
    vat = sum((g.vat for g in groups), D("0"))
    return Totals(net=net, vat=vat, gross=net + vat, groups=tuple(groups))


TOTALS = [
    _totals([]),
    _totals([VatGroup(code="O", rate=D("0.00"), base=D("57392.90"), vat=D("0.00"))]),
    _totals([VatGroup(code="O", rate=D("0.00"), base=D("-1234.56"), vat=D("0.00")),
             VatGroup(code="S", rate=D("25.00"), base=D("1000000.00"), vat=D("250000.00")),
             VatGroup(code="<X>", rate=D("12.50"), base=D("0.01"), vat=D("0.00"))]),
]
BILLINGS = [None,
            {"invoiced": D("57392.90"), "credited": D("0"), "paid": D("1000"), "refunded": D("0"), "owed": D("56392.90")},
            {"invoiced": D("100"), "credited": D("20.50"), "paid": D("100"), "refunded": D("20.50"), "owed": D("0")}]


@pytest.mark.parametrize("language", LANGUAGES)
def test_totals_card_is_the_templates_bytes(language):
    seen = 0
    with translation.override(language):
        for totals, billing, deduction, oob in itertools.product(TOTALS, BILLINGS, [False, True], [False, True]):
            context = {"basis": InvoiceBasis(pk=5, base_deduction_applied=deduction), "totals": totals,
                       "billing": billing, "oob": oob}
            expected = _reference("workspace/_totals.html", context)
            assert _python("totals_card", context) == expected
            seen += 1
    assert seen == 36
    assert 'id="total-credited" colspan="2">−20,50\xa0kr' in expected and "&lt;X&gt; (12,5 %)" in expected


def _actions(**flags):
    actions = {key: False for key in ("send_offer", "accept", "invoice", "payment", "credit", "cancel")}
    actions.update(offer_outdated=None, settled_at=None, buyer_blockers=[], offer_blockers=[])
    actions.update(flags)
    return actions


ACTIONS = [
    _actions(),
    _actions(send_offer=True, cancel=True, offer_blockers=["Mangler kunde.", HOSTILE]),
    _actions(send_offer=True, accept=True, offer_outdated=Offer(pk=3, version=2)),
    _actions(invoice=True, payment=True, credit=True, cancel=True, buyer_blockers=[HOSTILE, "Mangler orgnr."]),
    _actions(credit=True, settled_at=dt.datetime(2026, 3, 28, 23, 30, tzinfo=dt.UTC)),
]


@pytest.mark.parametrize("language", LANGUAGES)
def test_actions_bar_is_the_templates_bytes(language):
    seen = 0
    with translation.override(language):
        for actions, status, oob in itertools.product(ACTIONS, ["draft", "offer_sent", "accepted", "invoiced",
                                                                "paid", "cancelled"], [False, True]):
            context = {"basis": InvoiceBasis(pk=5, status=status), "actions": actions, "oob": oob}
            expected = _reference("workspace/_actions.html", context)
            assert _python("actions_bar", context) == expected
            seen += 1
    assert seen == 60


def test_what_the_cards_say():
    with translation.override("nb"):
        blocked = str(actions_bar(Context({"basis": InvoiceBasis(pk=5, status="invoiced"), "actions": ACTIONS[3]})))
        settled = str(actions_bar(Context({"basis": InvoiceBasis(pk=5, status="paid"), "actions": ACTIONS[-1]})))
        empty = str(totals_card(Context({"basis": InvoiceBasis(pk=5), "totals": TOTALS[0]})))
    assert "&lt;b&gt;&quot;Ærlig&quot; &amp; &#x27;åpen&#x27;&lt;/b&gt;" in blocked  # escaped, not markup
    assert blocked.count('<a class="button') == 6 and "/arbeid/grunnlag/5/" in blocked
    assert "Sluttoppgjøret er utført 29.03.2026." in settled  # 23:30 UTC on 28 March is the 29th in Oslo
    assert "Ingen kostnadslinjer ennå." in empty and 'id="total-gross" colspan="2">0,00\xa0kr' in empty
