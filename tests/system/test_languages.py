"""Every page, document and customer e-mail, rendered in a pseudo language whose translations are the
bokmål text between ⟦ and ⟧ (tests/support/pseudo.py): a word outside the brackets that is not data
did not go through translation, so it would stay bokmål for an English or nynorsk reader."""

import pytest
from django.test import Client

from tests.support import pseudo
from tests.support.urlwalk import sample_kwargs, url_for, walk

pytestmark = pytest.mark.django_db

ROUTES = walk()
# Not pages of ours: the logout and language switch redirect; the API docs are Swagger UI's own page.
NOT_PAGES = {"logout", "portal:language", "api:openapi-view"}
ROLE_FIXTURES = {"caseworker": "caseworker", "customer": "customer_user", "installer": "installer_user"}


@pytest.fixture
def pseudo_language(settings, tmp_path):
    settings.LOCALE_PATHS = [pseudo.pseudo_catalogue(tmp_path), *settings.LOCALE_PATHS]
    settings.LANGUAGES = [*settings.LANGUAGES, (pseudo.CODE, "Pseudo")]
    settings.STAFF_LANGUAGES = [*settings.STAFF_LANGUAGES, pseudo.CODE]
    return pseudo.CODE


def _customer_in_pseudo(customer):
    """The customer prefers the pseudo language, and their invoices were issued in it (an issued
    invoice keeps the language of its snapshot; rows are immutable, hence the queryset update)."""
    from billing.models import Invoice

    customer.language = pseudo.CODE
    customer.save(update_fields=["language"])
    for invoice in Invoice.objects.filter(basis__customer=customer):
        Invoice.objects.filter(pk=invoice.pk).update(buyer={**invoice.buyer, "language": pseudo.CODE})


def _prefer_pseudo(world, request, role) -> Client:
    """A client of `role` whose pages come in the pseudo language (anonymous: by the language cookie)."""
    from django.conf import settings

    # Documents are in their customer's language, whoever looks at them.
    _customer_in_pseudo(world.ours.basis.customer)
    _customer_in_pseudo(world.theirs.basis.customer)
    client = Client()
    if role == "anonymous":
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = pseudo.CODE
        return client
    user = request.getfixturevalue(ROLE_FIXTURES[role])
    if role != "customer":
        user.language = pseudo.CODE
        user.save(update_fields=["language"])
    client.force_login(user, backend="kundefaktura.accounts.backends.ModelBackend")
    return client


@pytest.mark.parametrize("role", ["anonymous", "caseworker", "customer", "installer"])
def test_every_page_is_translated_text_or_data(role, request, world, pseudo_language):
    client = _prefer_pseudo(world, request, role)
    data = pseudo.data_words()
    leaks, pages = {}, 0
    for r in ROUTES:
        if r.access not in ("roles", "public") or r.name in NOT_PAGES:
            continue
        if r.access == "roles" and (role not in r.callback.required_roles
                                    or getattr(r.callback, "required_permission", None)):
            continue
        for kwargs in sample_kwargs(r, world):
            url = url_for(r, kwargs)
            response = client.get(url)
            if response.status_code != 200 or not response.get("Content-Type", "").startswith("text/html"):
                continue
            html = response.content.decode()
            if "<html" in html:  # (htmx partials have no <html>)
                assert f'<html lang="{pseudo.CODE}"' in html, f"{url}: lang is not the active language"
            pages += 1
            if found := pseudo.unmarked_words(pseudo.visible_text(html), data):
                leaks[url] = sorted(found)
    assert pages >= {"anonymous": 3, "caseworker": 20, "customer": 6, "installer": 2}[role]
    assert leaks == {}, f"text outside translation on {len(leaks)} page(s): {leaks}"


def test_every_document_kind_and_customer_email_is_translated_text_or_data(
        world, pseudo_language, caseworker, django_capture_on_commit_callbacks):
    from billing import services
    from offers import emails
    from offers.documents import DOCUMENTS, document_html
    from offers.models import OutboundEmail
    from tests.support.factories import add_line

    basis = world.ours.basis
    customer = basis.customer
    _customer_in_pseudo(customer)
    invoice = world.ours.invoice
    invoice.refresh_from_db()
    add_line(basis, caseworker, category="meter_work", description="Ekstra målerskap", unit_price="2500.00")
    notice = services.change_notice_send(basis=basis, by=caseworker)
    reminder = services.reminder_send(invoice=invoice, on=invoice.due_date.replace(year=invoice.due_date.year + 1))
    samples = {"offer": world.ours.offer, "invoice": invoice, "change_notice": notice, "reminder": reminder,
               "rough_estimate": basis}
    # The customer declines the notice: its receipt is rendered below, its confirmation queued with the rest.
    services.change_notice_answer(notice=notice, by=customer.user, decision="declined",
                                  pdf_sha256=notice.pdf_sha256)
    extra = {"receipt of a change notice": ("receipt", notice.receipt)}
    for kind, decl in DOCUMENTS.items():  # a kind added later: its first row
        if kind not in samples:
            samples[kind] = decl.queryset().filter(**decl.published).order_by("pk").first()
            assert samples[kind] is not None, f"no {kind} to render: create one above"
    data = pseudo.data_words()
    leaks = {}
    for name, (kind, doc) in {**{k: (k, d) for k, d in samples.items()}, **extra}.items():
        html = document_html(kind, doc)
        assert f'<html lang="{pseudo.CODE}"' in html, f"{name}: lang is not the document's language"
        if found := pseudo.unmarked_words(pseudo.visible_text(html), data):
            leaks[name] = sorted(found)

    OutboundEmail.objects.all().delete()
    emails.offer_email_queue(offer_id=world.ours.offer.pk)
    emails.invoice_email_queue(invoice_id=invoice.pk)
    emails.acceptance_email_queue(basis_id=basis.pk, offer_version=None)
    emails.change_notice_email_queue(notice_id=notice.pk)
    emails.change_answer_email_queue(notice_id=notice.pk)
    emails.reminder_email_queue(reminder_id=reminder.pk)
    emails.offer_expiry_email_queue(basis_id=basis.pk)
    emails.login_link_email_queue(user=customer.user, to=customer.email, url="https://example.com/x")
    sent = list(OutboundEmail.objects.all())
    assert len(sent) >= 8
    for mail in sent:
        if found := pseudo.unmarked_words(f"{mail.subject}\n{mail.body_text}", data):
            leaks[f"e-mail {mail.kind}: {mail.subject}"] = sorted(found)
    assert leaks == {}, leaks
