"""Page chrome found in the acceptance walk: the browser tab title, tables that fit a phone."""

import re
from pathlib import Path

import pytest
from django.urls import reverse

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def _extends_base(text: str) -> bool:
    return re.search(r"{%\s*extends\s+[\"'](base\.html|portal/base\.html)[\"']", text) is not None


def test_every_page_template_sets_a_title():
    pages = [p for p in TEMPLATES.rglob("*.html") if p.name != "base.html" and _extends_base(p.read_text())]
    assert len(pages) > 30
    missing = [str(p.relative_to(TEMPLATES)) for p in pages if "{% block title %}" not in p.read_text()]
    assert missing == []


@pytest.mark.django_db
def test_title_separates_page_and_product_name(caseworker_client, customer_client, company):
    # `{% if self.title %}` (a Jinja idiom) is always false in Django templates: the tab read "ArbeidslisteKundefaktura".
    page = caseworker_client.get(reverse("billing:worklist")).content.decode()
    assert "<title>Arbeidsliste · Kundefaktura</title>" in page
    page = customer_client.get(reverse("portal:home")).content.decode()
    assert re.search(r"<title>\S[^<]* · Kundefaktura</title>", page)
