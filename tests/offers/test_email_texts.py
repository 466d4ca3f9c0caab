"""What the customer reads in the invoice and offer e-mails (through the real SMTP path): the grid
company as sender, a whole sentence naming the invoice, the link validity in days."""

import re
from decimal import Decimal

import pytest

from billing import services as billing
from billing.formatting import nok
from billing.models import CompanyProfile
from offers import emails, services
from tests.support.documents import example_basis

D = Decimal
pytestmark = pytest.mark.django_db


def _body(msg) -> str:
    """The plain-text body with line breaks folded (non-breaking spaces kept, as `nok` writes them)."""
    return re.sub(r"[ \t\r\n]+", " ", msg.get_body(preferencelist=("plain",)).get_content())


def test_invoice_email_names_the_invoice_and_comes_from_the_grid_company(company, caseworker, smtp_sink,
                                                                        oncommit, settings):
    settings.DEFAULT_FROM_EMAIL = "Kundefaktura <noreply@kundefaktura.local>"
    basis = example_basis(caseworker)
    with oncommit():
        billing.offer_send(basis=basis, by=caseworker)
        billing.offer_accept(basis=basis, by=None)
    with oncommit():
        invoices = billing.invoices_issue(basis=basis, by=caseworker)
    for inv in invoices:
        msg = next(m for m in smtp_sink.messages if f"Faktura {inv.number}" in m["Subject"])
        assert msg["From"] == "Fjordnett AS <noreply@kundefaktura.local>"
        assert f"Vedlagt er faktura nr. {inv.number} på {nok(inv.gross_total)} med forfall " \
               f"{inv.due_date:%d.%m.%Y}." in _body(msg)


def test_offer_email_says_the_link_is_valid_for_seven_days(company, caseworker, smtp_sink, oncommit):
    with oncommit():
        billing.offer_send(basis=example_basis(caseworker), by=caseworker)
    [msg] = smtp_sink.messages
    body = _body(msg)
    assert "gjelder i 7 dager" in body and "168 timer" not in body


def test_sender_name_is_sanitised_and_quoted(company, settings):
    settings.DEFAULT_FROM_EMAIL = "Kundefaktura <noreply@kundefaktura.local>"
    CompanyProfile.objects.filter(pk=1).update(name='Nett, "Vest"\r\nBcc: angriper@example.com')
    sender = services.from_address(CompanyProfile.objects.get(pk=1))
    assert "\r" not in sender and "\n" not in sender
    assert sender == '"Nett, \\"Vest\\" Bcc: angriper@example.com" <noreply@kundefaktura.local>'


@pytest.mark.parametrize(("seconds", "text"), [(7 * 24 * 3600, "7 dager"), (24 * 3600, "1 dag"),
                                               (2 * 3600, "2 timer"), (3600, "1 time"), (900, "15 minutter")])
def test_duration_text(seconds, text):
    assert emails.duration_text(seconds) == text
