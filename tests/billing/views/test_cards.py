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
from django.urls import reverse
from django.utils import translation

from billing.models import InvoiceBasis, Offer
from billing.money import Totals, VatGroup
from billing.templatetags.workspace import (
    actions_bar,
    basis_head,
    facts_card,
    related_cases_card,
    totals_card,
)

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


# --- the heading, the facts card and the related cases card -------------------------------------------------


def _bases():
    from billing.models import Customer
    from kundefaktura.accounts.models import User

    summer = dt.datetime(2026, 3, 29, 1, 30, tzinfo=dt.UTC)  # 03:30 in Oslo, after the clocks went forward
    winter = dt.datetime(2026, 10, 25, 1, 30, tzinfo=dt.UTC)  # the second 02:30 in Oslo, after they went back
    return [
        InvoiceBasis(pk=5, number="FG-2026-00001", title="Ny tilknytning", status="draft", created_at=summer),
        InvoiceBasis(pk=10**12, number="FG-2026-99999", title=HOSTILE, status="offer_sent",
                     offer_valid_until=dt.date(2026, 12, 31), customer=Customer(name=HOSTILE, email=""),
                     site_street=HOSTILE, site_postal_code="5003", site_city="Bergen",
                     metering_point_id="707057500000001234", order_date=dt.date(2026, 1, 2),
                     prepayment_required=True, source="work_order", reference=HOSTILE,
                     created_by=User(username="ola", first_name=HOSTILE, last_name="Nordmann"), created_at=winter,
                     work_released_at=summer),
        InvoiceBasis(pk=7, number="FG-2026-00007", title="Målerbytte", status="offer_sent", created_at=winter,
                     customer=Customer(name="Kari", email="kari@example.com"), site_city="Voss",
                     source="nettmelding", created_by=User(username="<saksbehandler>")),
        InvoiceBasis(pk=8, number="FG-2026-00008", title="Hytte", status="paid", source="ukjent", created_at=summer,
                     offer_valid_until=dt.date(2026, 5, 1), work_released_at=winter),
    ]


def _related_cases():
    from integrations.models import Installer, RelatedCase

    return [[], [RelatedCase(source="nettmelding", external_id=HOSTILE),
                 RelatedCase(source="work_order", external_id="AO-1", title=HOSTILE,
                             installer=Installer(name=HOSTILE))]]


@pytest.mark.parametrize("language", LANGUAGES)
def test_heading_facts_and_related_cases_are_the_templates_bytes(language):
    seen = 0
    with translation.override(language):
        for basis, cases in itertools.product(_bases(), _related_cases()):
            context = {"basis": basis, "related_cases": cases, "basis_form": None}
            for tag, reference in [("basis_head", "workspace/_basis_head.html"), ("facts_card", "workspace/_facts.html"),
                                   ("related_cases_card", "workspace/_related_cases.html")]:
                assert _python(tag, context) == _reference(reference, context), (tag, basis.pk)
                seen += 1
    assert seen == 24


def test_what_the_heading_facts_and_related_cases_say():
    basis = _bases()[1]
    context = Context({"basis": basis, "related_cases": _related_cases()[1]})
    with translation.override("nb"):
        head = str(basis_head(context))
        facts = str(facts_card(context))
        cases = str(related_cases_card(context))
    assert "Tilbud gyldig til 31.12.2026" in head and "&lt;b&gt;&quot;Ærlig" in head and "<b>" not in head
    assert "mangler e-post" in facts and "Arbeidsordre · &lt;b&gt;" in facts and "02.01.2026" in facts
    assert "25.10.2026 02:30" in facts  # the moment in Oslo's time, after the clocks went back
    assert f'hx-get="{reverse("billing:basis_header_form", args=[10**12])}"' in facts
    assert f'hx-get="{reverse("integrations:basis_cases", args=[10**12])}"' in cases
    assert cases.count("<li>") == 2 and "(&lt;b&gt;" in cases and "29.03.2026 03:30" in cases


@pytest.mark.django_db
def test_facts_card_with_the_form_is_the_template_with_the_form(rf):
    from billing.forms import BasisForm
    from billing.templatetags.workspace import facts_card

    basis = _bases()[2]
    form = BasisForm(initial={"title": "Målerbytte"})
    request = rf.get("/")
    with translation.override("nb"):
        context = Context({"basis": basis, "basis_form": form, "request": request})
        context.template = Template("")
        written = str(facts_card(context))
    assert '<details id="header-edit" open>' in written and 'name="title"' in written and 'hx-trigger="toggle once"' not in written


def _lines_contexts():
    from django.utils.safestring import mark_safe

    rows_html = mark_safe('\n    <tr id="line-1"><td>Kabel &amp; skap</td></tr>\n    <tr id="line-2"><td>2</td></tr>')
    fields = mark_safe('<div class="line-grid"><input name="new-description"></div>')
    for basis, rows, editable, token, error in itertools.product(
            [InvoiceBasis(pk=5, status="draft"), InvoiceBasis(pk=10**12, status="paid"),
             InvoiceBasis(pk=6, status="cancelled")],
            [None, [], "rows"], [True, False], [None, "NOTPROVIDED", 'tok"<en>'], [None, HOSTILE]):
        context = {"basis": basis, "lines_editable": editable, "add_fields": fields, "add_form": None,
                   "line_error": error, "csrf_token": token}
        if rows == "rows":
            context.update(line_rows=[{"form": None}, {"form": None}], line_rows_html=rows_html)
        else:
            context["line_rows"] = rows
        yield context


@pytest.mark.parametrize("language", LANGUAGES)
def test_lines_card_is_the_templates_bytes(language):
    seen = 0
    with translation.override(language):
        for context in _lines_contexts():
            assert _python("lines_card", context) == _reference("workspace/_lines.html", context)
            seen += 1
    assert seen == 108


def test_what_the_lines_card_says():
    from billing.templatetags.workspace import lines_card

    contexts = list(_lines_contexts())
    with translation.override("nb"):
        editable = str(lines_card(Context(contexts[-1])))  # a cancelled basis: the lines are locked
        draft = str(lines_card(Context(next(c for c in contexts if c["lines_editable"] and c["csrf_token"] == 'tok"<en>'
                                            and c["line_rows"] == []))))
    assert "Linjene kan ikke endres når status er «Kansellert»." in editable and "line-add" not in editable
    assert 'value="tok&quot;&lt;en&gt;"' in draft and f'action="{reverse("billing:line_add", args=[5])}"' in draft
    assert "Ingen kostnadslinjer ennå." in draft


@pytest.mark.django_db
def test_lines_card_leaves_a_form_holding_what_was_typed_to_the_template():
    from billing.forms import LineForm
    from billing.templatetags.workspace import lines_card

    form = LineForm({"new-description": "<Skrevet inn>"}, prefix="new", categories=(), vat_codes=())
    with translation.override("nb"):
        context = Context({"basis": InvoiceBasis(pk=5, status="draft"), "lines_editable": True, "add_form": form,
                           "line_rows": []})
        context.template = Template("")
        written = str(lines_card(context))
    assert 'value="&lt;Skrevet inn&gt;"' in written and 'id="line-add"' in written
