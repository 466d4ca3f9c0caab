"""The timeline's rows are written in Python (`timeline_rows` in billing/templatetags/workspace.py); the
row template (workspace/_timeline_row.html) is the reference, and both must give the same bytes for
every kind of event, in every language, on either side of a daylight-saving change."""

import datetime as dt

import pytest
from django.template.loader import get_template
from django.utils import translation

from billing.models import AuditEvent
from billing.templatetags.workspace import timeline_rows

HOSTILE = "<b>\"Ærlig\" & 'åpen'</b> %(n)s {{ x }} «»\nny linje"
UTC = dt.UTC


def events():
    return [
        AuditEvent(action="billing.basis.created", to_status="draft", actor_label="Sara Saksbehandler",
                   at=dt.datetime(2026, 3, 29, 0, 59, 59, tzinfo=UTC)),  # 01:59:59 in Oslo, before the change
        AuditEvent(action="billing.basis.offer_sent", from_status="draft", to_status="offer_sent",
                   actor_label=HOSTILE, note=HOSTILE, at=dt.datetime(2026, 3, 29, 1, 0, 0, tzinfo=UTC)),
        AuditEvent(action="billing.line.added", from_status="offer_sent", to_status="offer_sent", note="Kabel",
                   at=dt.datetime(2026, 10, 25, 0, 30, 0, 123456, tzinfo=UTC)),
        AuditEvent(action="ukjent.handling<script>", from_status="accepted", to_status="",
                   at=dt.datetime(2026, 12, 31, 23, 59, 0, tzinfo=UTC)),
        AuditEvent(action="billing.basis.paid", from_status="", to_status="paid", actor_label="",
                   at=dt.datetime(2026, 6, 1, 12, 0, 0, tzinfo=dt.timezone(dt.timedelta(hours=-3)))),
    ]


@pytest.mark.parametrize("language", ["nb", "nn", "en"])
def test_python_rows_are_the_templates_bytes(language):
    template = get_template("workspace/_timeline_row.html")
    with translation.override(language):
        expected = "\n    ".join(template.render({"e": e}).rstrip("\n") for e in events())
        assert str(timeline_rows(events())) == expected
    assert "&lt;b&gt;&quot;Ærlig&quot; &amp; &#x27;åpen&#x27;&lt;/b&gt;" in expected  # escaped, not markup
    assert '<time datetime="2026-03-29T01:59:59+01:00">29.03.2026 01:59</time>' in expected
    assert '<time datetime="2026-03-29T03:00:00+02:00">29.03.2026 03:00</time>' in expected


def test_the_timeline_partial_lists_every_event_once():
    html = get_template("workspace/_timeline.html").render({"events": events()})
    assert html.count("<li>") == len(events()) and html.count("</li>") == len(events())
    assert get_template("workspace/_timeline.html").render({"events": []}).count("<li>") == 0


def test_time_tag_is_the_date_filters_bytes():
    """`{% time_tag %}` writes what `<time datetime="{{ at|date:'c' }}">{{ at|date:"d.m.Y H:i" }}</time>`
    writes (the installer's case page and the company settings' history use it)."""
    from django.template import Context, Template

    reference = Template("""<time datetime="{{ at|date:'c' }}">{{ at|date:"d.m.Y H:i" }}</time>""")
    tag = Template("{% load workspace %}{% time_tag at %}")
    moments = [e.at for e in events()] + [dt.datetime(2026, 10, 25, 1, 30), dt.datetime(999, 1, 2, 3, 4, tzinfo=UTC)]
    for at in moments:
        assert tag.render(Context({"at": at})) == reference.render(Context({"at": at})), at
    assert '<time datetime="2026-03-29T03:00:00+02:00">29.03.2026 03:00</time>' in tag.render(
        Context({"at": moments[1]}))
