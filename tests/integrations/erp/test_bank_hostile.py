"""The bank import on hostile and large files, as a case worker uploads them (and as the drop-folder job
reads them): every credit is booked or listed as rejected with its reason, the summary is what was booked,
nothing is booked twice, a bad file never stops the ones after it; and a KID payment of exactly what the
portal asks for (balance + unpaid reminder fees) is matched, not flagged."""

import datetime as dt
from decimal import Decimal as D

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from billing import selectors
from billing import services as billing_services
from billing.models import Payment
from integrations.erp import services
from integrations.erp.models import BankImport, BankRejectedCredit, BankTransaction
from tests.integrations.erp.test_reminder_fee_export import _issue

pytestmark = pytest.mark.django_db


def camt054(entries) -> bytes:
    """entries: (reference, amount, kid) or (reference, amount, kid, currency)."""
    ntry = []
    for ref, amt, kid, *ccy in entries:
        ccy = ccy[0] if ccy else "NOK"
        ntry.append(f"""
    <Ntry><Amt Ccy="{ccy}">{amt}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>
      <BookgDt><Dt>2026-11-26</Dt></BookgDt><ValDt><Dt>2026-11-26</Dt></ValDt>
      <NtryDtls><TxDtls><Refs><AcctSvcrRef>{ref}</AcctSvcrRef></Refs><Amt Ccy="{ccy}">{amt}</Amt>
        <RltdPties><Dbtr><Nm>Kari Nordmann</Nm></Dbtr></RltdPties>
        <RmtInf><Strd><CdtrRefInf><Ref>{kid}</Ref></CdtrRefInf></Strd></RmtInf>
      </TxDtls></NtryDtls></Ntry>""")
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.02"><BkToCstmrDbtCdtNtfctn>
<GrpHdr><MsgId>M1</MsgId><CreDtTm>2026-11-26T06:00:00</CreDtTm></GrpHdr>
<Ntfctn><Id>N1</Id><Acct><Id><Othr><Id>12345678903</Id></Othr></Id></Acct>{"".join(ntry)}</Ntfctn>
</BkToCstmrDbtCdtNtfctn></Document>""".encode()


def upload(client, data: bytes, name="camt054.xml", **kw):
    return client.post(reverse("erp:bank_imports"), {"file": SimpleUploadedFile(name, data)}, follow=True, **kw)


HOSTILE = {
    "20-digit amount": (("HOSTILE-1", "12345678901234567890.00", "2345676"), "for stort"),
    "40-digit amount": (("HOSTILE-1", "9" * 40, "2345676"), "for stort"),
    "KID over 35 characters": (("HOSTILE-1", "100.00", "1" * 40), "KID må være"),
    "KID with letters": (("HOSTILE-1", "100.00", "12AB34"), "KID må være"),
    "reference over 140 characters": (("R" * 150, "100.00", "2345676"), "lengre enn 140 tegn"),
    "zero amount": (("HOSTILE-1", "0.00", "2345676"), "større enn null"),
    "negative amount": (("HOSTILE-1", "-250.00", "2345676"), "større enn null"),
    "three decimals": (("HOSTILE-1", "100.005", "2345676"), "mer enn to desimaler"),
    "not a number": (("HOSTILE-1", "1e5", "2345676"), "Ugyldig beløp"),
    "full-width digits": (("HOSTILE-1", "１２３.００", "2345676"), "Ugyldig beløp"),
    "euro": (("HOSTILE-1", "100.00", "2345676", "EUR"), "bare innbetalinger i NOK"),
    "no reference": (("", "100.00", "2345676"), "Mangler bankens referanse"),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_credit_is_rejected_and_listed_the_rest_is_booked(case, every_kind, caseworker_client):
    hostile, reason = HOSTILE[case]
    paid = every_kind["ordinary_O"]
    data = camt054([("GOOD-1", "57392.90", paid.kid), hostile, ("GOOD-2", "10.00", "99999999999")])
    page = upload(caseworker_client, data)
    assert page.status_code == 200
    text = page.content.decode()
    imp = BankImport.objects.get()
    assert imp.status == "done" and imp.error == ""
    assert (imp.credit_count, imp.transaction_count, imp.matched_count, imp.unmatched_count, imp.rejected_count) == (
        3, 3, 1, 1, 1)
    # The summary is what was booked: two rows, their sum.
    assert BankTransaction.objects.count() == 2 and imp.total_amount == D("57402.90")
    rejected = BankRejectedCredit.objects.get()
    assert rejected.position == 2 and reason in rejected.reason
    assert "Avviste innbetalinger" in text and reason in text and "1 avvist" in text
    paid.refresh_from_db()
    assert paid.status == "paid"
    # The same file again: nothing is booked twice, the hostile credit is listed again, still no 500.
    again = upload(caseworker_client, data)
    assert again.status_code == 200
    second = BankImport.objects.order_by("-pk").first()
    assert (second.duplicate_count, second.rejected_count, second.matched_count, second.total_amount) == (
        2, 1, 0, D("0.00"))
    assert Payment.objects.filter(provider="bank").count() == 1
    # The list of imports answers with the hostile file in it.
    assert caseworker_client.get(reverse("erp:bank_imports")).status_code == 200


@pytest.mark.parametrize("data", [b"<a>", b"<?xml version='1.0'?><Document/>", b"plain text, no bank file",
                                  "<a>\u00e6</a>".encode("utf-16")])
def test_a_file_that_is_not_a_bank_file_is_a_form_error_and_recorded(data, caseworker_client):
    response = caseworker_client.post(reverse("erp:bank_imports"), {"file": SimpleUploadedFile("x.xml", data)})
    assert response.status_code == 400
    assert 'role="alert"' in response.content.decode()
    imp = BankImport.objects.get()
    assert imp.status == "failed" and imp.error and imp.transaction_count == 0
    assert BankTransaction.objects.count() == 0
    assert response.context["form"].errors["file"] == [imp.error]


def test_ocr_with_a_broken_amount_is_rejected_not_a_500(every_kind, caseworker_client):
    inv = every_kind["prepayment"]
    rec30 = ("NY091330" + "0000001" + "261126" + "00" + "00" + "0" + "00001" + " " + "00000000ABC000000"
             + inv.kid.rjust(25) + "  " + "0000")
    lines = ["NY000010".ljust(80), ("NY090020" + "000000000" + "1234567").ljust(80), rec30.ljust(80)]
    page = upload(caseworker_client, "\n".join(lines).encode("latin-1"), name="ocr.txt")
    assert page.status_code == 200 and "Ugyldig beløp" in page.content.decode()
    assert BankImport.objects.get().rejected_count == 1


def test_paying_exactly_what_the_portal_asks_is_matched(company, caseworker, caseworker_client):
    """An overdue invoice with a reminder fee: the portal asks for balance + fee; paying that is booked as
    matched, the invoice and the fee are settled, and it is not listed for attention."""
    start = dt.date(2026, 3, 2)
    with time_machine.travel(dt.datetime(2026, 3, 2, 8, tzinfo=dt.UTC), tick=False):
        invoice = _issue(caseworker, issue_date=start)
    with time_machine.travel(dt.datetime(2026, 3, 30, 8, tzinfo=dt.UTC), tick=False):
        billing_services.reminders_send_due()
        invoice.refresh_from_db()
        dues = selectors.invoice_dues(invoice)
        assert dues["fees_unpaid"] > 0 and dues["owed"] == dues["outstanding"] + dues["fees_unpaid"]
        page = upload(caseworker_client, camt054([("PORTAL-1", f"{dues['owed']:.2f}", invoice.kid)]))
    assert page.status_code == 200
    tx = BankTransaction.objects.get()
    assert tx.status == "matched", tx.message
    assert tx.expected_amount == dues["owed"]
    assert selectors.amount_owed(invoice) == 0
    assert tx not in services.attention_transactions()
    assert "Overbetaling" not in page.content.decode()


def test_large_file_is_booked_in_the_background_with_progress(every_kind, caseworker_client, settings,
                                                              django_capture_on_commit_callbacks):
    settings.ERP_BANK_BACKGROUND_CREDITS = 500
    paid = every_kind["ordinary_O"]
    entries = [("BIG-0", "57392.90", paid.kid)]
    entries += [(f"BIG-{i}", f"{i}.00", "99999999999") for i in range(1, 1200)]
    entries.append(("BIG-BAD", "1" * 20, "2345676"))
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = upload(caseworker_client, camt054(entries))
    assert response.status_code == 200 and "behandles i bakgrunnen" in response.content.decode()
    imp = BankImport.objects.get()
    assert (imp.status, imp.credit_count, imp.transaction_count) == ("queued", 1201, 0)
    assert len(queued) == 1, "the task is queued after commit"
    assert 'hx-trigger="every 1s"' in response.content.decode() and "<progress" in response.content.decode()
    url = reverse("erp:bank_import_detail", args=[imp.pk])
    partial = caseworker_client.get(url, HTTP_HX_REQUEST="true")
    assert partial.status_code == 200 and "0 av 1201 innbetalinger behandlet" in partial.content.decode()
    assert "HX-Refresh" not in partial
    queued[0]()  # the worker runs the task (eager in tests)
    imp.refresh_from_db()
    assert imp.status == "done"
    assert (imp.transaction_count, imp.matched_count, imp.unmatched_count, imp.rejected_count) == (1201, 1, 1199, 1)
    assert BankTransaction.objects.count() == 1200 and imp.total_amount == D("57392.90") + sum(
        D(i) for i in range(1, 1200))
    partial = caseworker_client.get(url, HTTP_HX_REQUEST="true")
    assert "1201 av 1201 innbetalinger behandlet" in partial.content.decode() and partial["HX-Refresh"] == "true"
    assert "hx-trigger" not in partial.content.decode(), "polling stops when the import is done"
    full = caseworker_client.get(url).content.decode()
    assert "BIG-BAD" in full and "for stort" in full, "the rejected credit is listed with its reason"


def test_an_interrupted_import_continues_and_books_nothing_twice(every_kind):
    paid = every_kind["ordinary_O"]
    data = camt054([("RES-1", "57392.90", paid.kid), ("RES-2", "5.00", "99999999999")])
    imp = services.bank_import_create(data=data, filename="res.xml")
    credits = services.parse_camt054(data)
    services.bank_credit_book(bank_import_id=imp.pk, position=1, credit=credits[0])  # then the worker died
    BankImport.objects.filter(pk=imp.pk).update(status="running")
    call_command("bank_import", resume=True)
    done = BankImport.objects.get(pk=imp.pk)
    assert (done.status, done.transaction_count, done.matched_count, done.unmatched_count) == ("done", 2, 1, 1)
    assert Payment.objects.filter(provider="bank").count() == 1
    assert services.bank_import_process(bank_import_id=imp.pk).transaction_count == 2, "finished: left alone"


def test_drop_folder_moves_a_bad_file_aside_and_imports_the_rest(every_kind, tmp_path):
    paid = every_kind["ordinary_O"]
    (tmp_path / "a-broken.xml").write_bytes(b"<Document><unclosed>")
    (tmp_path / "b-good.xml").write_bytes(camt054([("DROP-1", "57392.90", paid.kid),
                                                  ("DROP-2", "100.00", "1" * 40)]))
    call_command("bank_import", dir=str(tmp_path))
    assert sorted(p.name for p in (tmp_path / "done").iterdir()) == ["b-good.xml"]
    assert sorted(p.name for p in (tmp_path / "failed").iterdir()) == ["a-broken.xml", "a-broken.xml.reason.txt"]
    assert "ikke gyldig XML" in (tmp_path / "failed" / "a-broken.xml.reason.txt").read_text()
    assert not any(p.is_file() for p in tmp_path.iterdir()), "nothing is left to block the next run"
    bad, good = BankImport.objects.order_by("filename")
    assert bad.status == "failed" and "ikke gyldig XML" in bad.error
    assert (good.status, good.matched_count, good.rejected_count) == ("done", 1, 1)
    paid.refresh_from_db()
    assert paid.status == "paid"


def test_the_beat_job_books_a_settled_file_once_and_waits_for_one_still_being_written(every_kind, tmp_path,
                                                                                   settings):
    import os
    import time

    from integrations.erp.tasks import bank_drop_sweep

    settings.ERP_BANK_DROP_DIR = tmp_path
    settings.ERP_BANK_DROP_SETTLE = 60
    paid = every_kind["ordinary_O"]
    settled, fresh = tmp_path / "settled.xml", tmp_path / "fresh.xml"
    settled.write_bytes(camt054([("BEAT-1", "57392.90", paid.kid)]))
    fresh.write_bytes(camt054([("BEAT-2", "10.00", "1" * 20)]))
    an_hour_ago = time.time() - 3600
    os.utime(settled, (an_hour_ago, an_hour_ago))
    assert bank_drop_sweep.delay().get() == 1, "one file booked"
    assert sorted(p.name for p in (tmp_path / "done").iterdir()) == ["settled.xml"]
    assert fresh.exists(), "a file changed less than a minute ago waits: the bank may still be writing it"
    assert list(BankImport.objects.values_list("filename", "status")) == [("settled.xml", "done")]
    paid.refresh_from_db()
    assert paid.status == "paid"
    os.utime(fresh, (an_hour_ago, an_hour_ago))
    bank_drop_sweep.delay()
    assert sorted(p.name for p in (tmp_path / "done").iterdir()) == ["fresh.xml", "settled.xml"]
    assert not list((tmp_path / "processing").iterdir())


def test_a_file_another_run_holds_is_left_to_it_and_one_left_by_a_dead_run_is_taken_again(every_kind, tmp_path):
    import os
    import time

    paid = every_kind["ordinary_O"]
    data = camt054([("HELD-1", "57392.90", paid.kid)])
    processing = tmp_path / "processing"
    processing.mkdir()
    (processing / "held.xml").write_bytes(data)  # claimed a moment ago by a run still importing it
    assert services.bank_import_dir(directory=tmp_path) == []
    assert (processing / "held.xml").exists() and not BankImport.objects.exists()

    services.bank_import_file(data=data, filename="held.xml")  # that run booked it, then died before moving it
    two_hours_ago = time.time() - 7200
    os.utime(processing / "held.xml", (two_hours_ago, two_hours_ago))
    (again,) = services.bank_import_dir(directory=tmp_path)
    assert (again.status, again.duplicate_count, again.matched_count) == ("done", 1, 0), "nothing booked twice"
    assert Payment.objects.filter(provider="bank").count() == 1
    assert [p.name for p in (tmp_path / "done").iterdir()] == ["held.xml"] and not list(processing.iterdir())


def test_the_beat_job_has_nothing_to_do_on_a_machine_without_the_folder(tmp_path, settings):
    from integrations.erp.tasks import bank_drop_sweep

    settings.ERP_BANK_DROP_DIR = tmp_path / "not-here"
    assert bank_drop_sweep() == 0
    assert not (tmp_path / "not-here").exists()


def test_the_case_worker_downloads_the_bank_file_as_it_arrived_and_nobody_else_can(
        company, caseworker_client, customer_client, installer_client, client):
    data = camt054([("DL-1", "10.00", "1" * 20)])
    imp = services.bank_import_file(data=data, filename='juni "2026"\r\nSet-Cookie: x=1;../../evil.xml')
    url = reverse("erp:bank_import_download", args=[imp.pk])
    response = caseworker_client.get(url)
    assert response.status_code == 200 and b"".join(response.streaming_content) == data
    assert response["Content-Type"] == "application/octet-stream"
    disposition = response["Content-Disposition"]
    assert disposition == f'attachment; filename="bankimport-{imp.pk}-juni_2026_Set-Cookie_x_1_.._.._evil.xml"'
    assert "set-cookie" not in {k.lower() for k in response.headers}, "no header smuggled in by the name"
    page = caseworker_client.get(reverse("erp:bank_import_detail", args=[imp.pk])).content.decode()
    assert f'href="{url}"' in page
    for other in (customer_client, installer_client):
        assert other.get(url).status_code == 403
    assert client.get(url).status_code == 302, "to the login page"
    BankImport.objects.filter(pk=imp.pk).update(file="")
    assert caseworker_client.get(url).status_code == 404
    assert caseworker_client.get(reverse("erp:bank_import_download", args=[imp.pk + 999])).status_code == 404
