"""The work list's status chips and sortable column headings are written in Python (`status_chips` and
`sort_headers` in billing/templatetags/workspace.py); their templates (workspace/_worklist_chip.html,
workspace/_worklist_sort_header.html) are the reference, and both must give the same bytes for every
state, in every language."""

import pytest
from django.template.loader import get_template
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from billing.status import Status
from billing.templatetags.workspace import sort_headers, status_chips

HOSTILE = "<b>\"Ærlig\" & 'åpen'</b>"
QUERIES = ["", "q=Bakkeveien+7&sort=-created", "q=%3Cscript%3E&per_page=100"]


def chips(active):
    out = [{"code": "", "label": _("Alle"), "count": 20000, "active": active == ""}]
    out += [{"code": s.value, "label": s.label, "count": None if s.value == "paid" else k * 1234,
             "active": active == s.value} for k, s in enumerate(Status)]
    out.append({"code": "x<y>", "label": HOSTILE, "count": "10 000+", "active": False})
    return out


COLUMNS = [("number", _("Nummer")), ("title", _("Tittel")), ("customer", HOSTILE), ("created", _("Opprettet"))]


@pytest.mark.parametrize("language", ["nb", "nn", "en"])
def test_status_chips_are_the_templates_bytes(language):
    template = get_template("workspace/_worklist_chip.html")
    with translation.override(language):
        for active in ["", "offer_sent", "paid"]:
            for query in QUERIES:
                expected = "\n    ".join(template.render({"chip": c, "status_query": query}).strip("\n")
                                         for c in chips(active))
                assert str(status_chips(chips(active), query)) == expected
    assert 'aria-current="true"' in expected and "q=%3Cscript%3E&amp;per_page=100&amp;status=" in expected
    assert "&lt;b&gt;&quot;Ærlig&quot;" in expected and "status-x&lt;y&gt;" in expected


@pytest.mark.parametrize("language", ["nb", "nn", "en"])
def test_sort_headers_are_the_templates_bytes(language):
    template = get_template("workspace/_worklist_sort_header.html")
    with translation.override(language):
        for sort in ["", "number", "-number", "customer", "-created", "bogus"]:
            for query in QUERIES:
                expected = "\n      ".join(
                    template.render({"key": k, "label": label, "sort": sort, "sort_query": query}).strip("\n")
                    for k, label in COLUMNS)
                assert str(sort_headers(COLUMNS, sort, query)) == expected
    assert expected.count("<th ") == 4 and "aria-sort" not in expected  # sorted by no column
    with translation.override("en"):
        by_created = str(sort_headers(COLUMNS, "-created", ""))
    assert '<th scope="col" aria-sort="descending"><a href="?sort=created">Created ▼</a></th>' in by_created
