"""Change notices expire: the daily job marks an unanswered notice past its deadline Utløpt (once), its lines
are then handled exactly like a declined notice's, and the portal and the case worker's pages say so."""

import datetime as dt
from decimal import Decimal as D

import pytest
import time_machine
from django.conf import settings
from django.urls import reverse

from billing import selectors, services, tasks
from billing.errors import InvalidInput, TransitionError
from billing.models import AuditEvent, ChangeNotice
from tests.support.factories import accepted_basis, add_line, make_customer

START = dt.date(2026, 3, 2)
DEADLINE = dt.date(2026, 3, 20)


def _at(day: dt.date):
    return time_machine.travel(dt.datetime.combine(day, dt.time(8, 0), tzinfo=dt.UTC), tick=False)


def _case(caseworker, user=None, *, description="Ekstra målerskap"):
    """An accepted and invoiced basis with one change line notified (deadline 20.03.2026)."""
    with _at(START):
        customer = make_customer(name="Kari Kunde", email="kari@example.com")
        if user is not None:
            customer.user = user
            customer.save()
        basis = accepted_basis(by=caseworker, customer=customer)
        services.invoices_issue(basis=basis, by=caseworker)
        line = add_line(basis, caseworker, category="meter_work", description=description, unit_price="2500.00")
        notice = services.change_notice_send(basis=basis, by=caseworker, valid_until=DEADLINE)
    return basis, line, notice


def test_job_expires_an_unanswered_notice_after_its_deadline_once(company, caseworker):
    basis, line, notice = _case(caseworker)
    with _at(DEADLINE):
        assert tasks.change_notices_expire.delay().get() == [], "answerable through its last day"
    with _at(DEADLINE + dt.timedelta(days=1)):
        assert tasks.change_notices_expire.delay().get() == [[basis.number, 1]]
        assert tasks.change_notices_expire.delay().get() == [], "the second run changes nothing"
        assert services.change_notice_expire(notice=notice) is False
    notice.refresh_from_db()
    assert notice.status == ChangeNotice.Status.EXPIRED and notice.get_status_display() == "Utløpt"
    [event] = AuditEvent.objects.filter(basis=basis, action="billing.change_notice.expired")
    assert event.data == {"change_notice": notice.pk, "version": 1, "gross": "3125.00",
                          "valid_until": "2026-03-20", "lines": [line.pk]}
    assert event.actor_label == "system"
    from offers.models import OutboundEmail

    [mail] = OutboundEmail.objects.filter(basis=basis, subject__contains="er utløpt")
    assert mail.kind == "change_notice" and mail.to == basis.customer.email, "one e-mail, however often the job runs"
    body = " ".join(mail.body_text.split())
    assert f"Endringsvarselet (versjon 1) i sak {basis.number}" in body and "svarfrist 20.03.2026" in body
    assert "3 125,00" in body and "ikke fakturert" in body
    assert reverse("portal:change_notice", args=[notice.pk]) in body


def test_job_leaves_answered_and_superseded_notices_alone(company, caseworker, customer_user):
    _accepted_case, _line, accepted = _case(caseworker, description="Akseptert")
    with _at(START):
        services.change_notice_answer(notice=accepted, by=None, decision="accepted", channel="phone",
                                       note="Telefon")
    superseding_case, _line, v1 = _case(caseworker, description="Første")
    with _at(START):
        add_line(superseding_case, caseworker, category="meter_work", description="Andre", unit_price="100.00")
        v2 = services.change_notice_send(basis=superseding_case, by=caseworker,
                                          valid_until=DEADLINE + dt.timedelta(days=5))
    with _at(DEADLINE + dt.timedelta(days=1)):
        assert services.change_notices_expire_due() == [], "v2 is still within its own deadline"
    with _at(DEADLINE + dt.timedelta(days=6)):
        assert services.change_notices_expire_due() == [(superseding_case.number, 2)]
    statuses = {n.pk: n.status for n in ChangeNotice.objects.all()}
    assert statuses == {accepted.pk: "accepted", v1.pk: "superseded", v2.pk: "expired"}


def test_the_nightly_beat_runs_the_job():
    from kundefaktura.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["change-notices-expire"]
    assert entry["task"] == "billing.change_notices_expire" and entry["task"] in app.tasks
    assert (entry["schedule"].hour, entry["schedule"].minute) == ({0}, {35}), "after the offer expiry (00:30)"


def _outcome(basis, line, caseworker):
    """What the rest of the system does with the lines of an answered-or-expired notice."""
    basis.refresh_from_db()
    groups = selectors.change_overview(basis)["groups"]
    with pytest.raises(TransitionError) as not_invoiced:
        services.invoices_issue(basis=basis, by=caseworker)
    with pytest.raises(InvalidInput) as not_resent:
        services.change_notice_send(basis=basis, by=caseworker)
    edited = services.line_update(line=line, by=caseworker, description=line.description + " (justert)")
    return {
        "pending": selectors.change_lines_pending(basis),
        "accepted_estimate": selectors.accepted_estimate(basis).gross,
        "shown_in_group": [name for name, lines in groups.items() if line in lines],
        "invoice_refused": not_invoiced.value.code,
        "send_refused": not_resent.value.code,
        "still_editable": edited.description.endswith("(justert)"),
        "change_invoices": basis.invoices.filter(kind="change").count(),
    }


def test_lines_of_an_expired_notice_are_handled_like_those_of_a_declined_one(company, caseworker):
    declined_basis, declined_line, declined = _case(caseworker)
    expired_basis, expired_line, expired = _case(caseworker)
    with _at(DEADLINE):
        services.change_notice_answer(notice=declined, by=None, decision="declined", channel="phone",
                                       note="Nei på telefon")
    with _at(DEADLINE + dt.timedelta(days=1)):
        assert services.change_notices_expire_due() == [(expired_basis.number, 1)]
        was_declined = _outcome(declined_basis, declined_line, caseworker)
        was_expired = _outcome(expired_basis, expired_line, caseworker)
    assert was_declined.pop("shown_in_group") == ["declined"]
    assert was_expired.pop("shown_in_group") == ["expired"]
    assert was_expired == was_declined
    assert was_expired["pending"] == [] and was_expired["change_invoices"] == 0
    assert was_expired["accepted_estimate"] == D("58892.90"), "the offer only: the change is not part of it"


def test_an_expired_notice_can_no_longer_be_answered(company, caseworker, customer_user):
    _basis, _line, notice = _case(caseworker, customer_user)
    with _at(DEADLINE + dt.timedelta(days=1)):
        services.change_notices_expire_due()
        for decision in ("accepted", "declined"):
            with pytest.raises(TransitionError, match="20.03.2026") as exc:
                services.change_notice_answer(notice=notice, by=customer_user, decision=decision)
            assert exc.value.code == "expired"
    notice.refresh_from_db()
    assert notice.status == ChangeNotice.Status.EXPIRED and notice.answered_at is None


def test_portal_shows_the_expired_notice_without_answer_buttons(company, caseworker, customer_user, customer_client):
    basis, _line, notice = _case(caseworker, customer_user)
    detail = reverse("portal:change_notice", args=[notice.pk])
    with _at(DEADLINE):
        assert "Aksepter endringen" in customer_client.get(detail).content.decode()
    with _at(DEADLINE + dt.timedelta(days=1)):
        # Before the nightly job has run the page already treats it as expired.
        page = customer_client.get(detail).content.decode()
        assert "Aksepter endringen" not in page and 'id="notice-expired"' in page
        services.change_notices_expire_due()
        page = customer_client.get(detail).content.decode()
        assert 'class="chip change-expired" id="notice-status">Utløpt<' in page
        assert "Svarfristen gikk ut 20.03.2026" in page and "ikke fakturert" in page
        assert "Aksepter endringen" not in page and "Avslå endringen" not in page
        listing = customer_client.get(reverse("portal:change_notices")).content.decode()
        assert 'class="chip change-expired">Utløpt</span>' in listing
        refused = customer_client.post(detail, {"decision": "accept", "pdf_sha256": notice.pdf_sha256})
        assert refused.status_code == 409 and "Svarfristen" in refused.content.decode()
    notice.refresh_from_db()
    assert notice.status == ChangeNotice.Status.EXPIRED


def test_caseworker_pages_show_the_expired_state(company, caseworker, caseworker_client):
    basis, line, _notice = _case(caseworker)
    with _at(DEADLINE + dt.timedelta(days=1)):
        services.change_notices_expire_due()
        page = caseworker_client.get(reverse("billing:changes", args=[basis.pk])).content.decode()
        expired_part = page.split('id="expired-h"')[1].split("</section>")[0]
        assert "Ekstra målerskap" in expired_part
        awaiting = page.split("Varslet, venter på kundens svar")[1].split("</h3>")[1].split("<h3")[0]
        assert "Ekstra målerskap" not in awaiting
        notices = page.split('id="notices-h"')[1]
        assert 'class="chip change-expired">Utløpt</span>' in notices
        assert "Send endringsvarsel" not in page, "nothing left to notify"
        basis_page = caseworker_client.get(reverse("billing:basis_detail", args=[basis.pk])).content.decode()
        row = basis_page.split(f'id="line-{line.pk}"')[1].split("</tr>")[0]
        assert "Endringsvarsel utløpt" in row
        assert reverse("billing:line_edit", args=[basis.pk, line.pk]) in row, "editable, like a declined line"
