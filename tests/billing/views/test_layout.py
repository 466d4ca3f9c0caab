"""Page chrome found in the acceptance walk: the browser tab title, tables that fit a phone."""

import re

import pytest
from django.urls import reverse

from tests.conftest import REPO_ROOT

TEMPLATES = REPO_ROOT / "templates"


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


def test_every_table_on_a_page_scrolls_inside_its_card_on_a_phone():
    """At 390 px a bare wide table (e-mails, invoices, shared costs) pushed the whole page sideways; each
    table sits directly in a `.table-wrap` (overflow-x: auto). PDF documents are not pages."""
    unwrapped = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        rel = str(path.relative_to(TEMPLATES))
        if rel.startswith("documents/") and rel != "documents/_basis_emails.html":
            continue
        text = path.read_text()
        for match in re.finditer(r"<table\b", text):
            if not text[:match.start()].rstrip().endswith('<div class="table-wrap">'):
                unwrapped.append(f"{rel}:{text.count(chr(10), 0, match.start()) + 1}")
    assert unwrapped == []


@pytest.mark.django_db
def test_basis_email_table_uses_the_stylesheets_classes(caseworker_client, caseworker, company):
    from offers.services import email_queue
    from tests.support.factories import make_basis

    basis = make_basis(by=caseworker)
    email_queue(kind="offer", to="kunde@example.com", subject="Tilbud", template="portal_login_link",
                context={"link": "x"}, basis=basis)
    page = caseworker_client.get(reverse("billing:basis_detail", args=[basis.pk])).content.decode()
    section = page[page.index('class="basis-emails"'):]
    section = section[:section.index("</section>")]
    assert '<div class="table-wrap"><table' in section
    # "visually-hidden" and "button-small" are not in app.css: the header showed and the button was full size.
    assert '<span class="sr-only">Handling</span>' in section
    assert 'class="button small"' in section and "visually-hidden" not in section


@pytest.mark.django_db
def test_basis_page_links_to_its_documents(caseworker_client, caseworker, company):
    """The case worker could not reach the offer letter or the invoices from the basis page (the preview and PDF
    views existed, nothing linked to them)."""
    from billing import services
    from tests.support.factories import accepted_basis, add_line, make_basis

    draft = make_basis(by=caseworker)
    add_line(draft, caseworker)
    page = caseworker_client.get(reverse("billing:basis_detail", args=[draft.pk])).content.decode()
    rough = reverse("offers:rough_preview", args=[draft.pk])
    assert f'href="{rough}"' in page
    assert caseworker_client.get(rough).status_code == 200

    basis = accepted_basis(by=caseworker)
    services.invoices_issue(basis=basis, by=caseworker)
    offer = basis.offers.get()
    invoice = basis.invoices.exclude(number=None).first()
    page = caseworker_client.get(reverse("billing:basis_detail", args=[basis.pk])).content.decode()
    assert f'href="{rough}"' not in page and "grovt overslag" not in page
    for url in (reverse("offers:preview", args=["offer", offer.pk]), reverse("offers:preview", args=["invoice", invoice.pk])):
        assert f'href="{url}"' in page
        assert caseworker_client.get(url).status_code == 200
    for url in (reverse("offers:pdf", args=["offer", offer.pk]), reverse("offers:pdf", args=["invoice", invoice.pk])):
        assert f'href="{url}"' in page


@pytest.mark.parametrize("page, current", [
    ("billing:worklist", "billing:worklist"),
    ("billing:overdue", "billing:overdue"),
    ("billing:expired", "billing:expired"),
    ("billing:refunds", "billing:refunds"),
    ("billing:shared_list", "billing:shared_list"),
    ("integrations:related_cases", "integrations:related_cases"),
    ("integrations:notification_log", "integrations:notification_log"),
    ("erp:export_log", "erp:export_log"),
    ("erp:bank_imports", "erp:bank_imports"),
])
def test_the_case_workers_menu_marks_exactly_the_current_page(caseworker_client, company, page, current):
    html = caseworker_client.get(reverse(page)).content.decode()
    nav = html.split('class="mainnav"', 1)[1].split("</nav>", 1)[0]
    assert re.findall(r'<a href="([^"]+)" aria-current="page">', nav) == [reverse(current)]
    for name in ("billing:worklist", "billing:shared_list", "billing:overdue", "erp:bank_imports"):
        assert f'href="{reverse(name)}"' in nav


def test_a_basis_page_belongs_to_the_work_list_in_the_menu(caseworker_client, caseworker, company):
    from tests.support.factories import make_basis

    basis = make_basis(by=caseworker)
    nav = caseworker_client.get(reverse("billing:basis_detail", args=[basis.pk])).content.decode()
    nav = nav.split('class="mainnav"', 1)[1].split("</nav>", 1)[0]
    assert re.findall(r'<a href="([^"]+)" aria-current="page">', nav) == [reverse("billing:worklist")]
