"""camt.054 import (matching, idempotency, unmatched/mismatched list), OCR, the http adapter's
contract against a local server, and the customer search endpoint."""

from decimal import Decimal

import pytest
from django.urls import reverse

from billing.models import Invoice, Payment
from integrations.erp import adapters, services
from integrations.erp.models import BankTransaction

pytestmark = pytest.mark.django_db
D = Decimal


def camt054(entries) -> bytes:
    ntry = "".join(f"""
    <Ntry><Amt Ccy="NOK">{amt}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>
      <BookgDt><Dt>2026-11-26</Dt></BookgDt><ValDt><Dt>2026-11-26</Dt></ValDt>
      <NtryDtls><TxDtls><Refs><AcctSvcrRef>{ref}</AcctSvcrRef></Refs><Amt Ccy="NOK">{amt}</Amt>
        <RltdPties><Dbtr><Nm>Kari Nordmann</Nm></Dbtr></RltdPties>
        <RmtInf><Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry></Tp><Ref>{kid}</Ref></CdtrRefInf></Strd></RmtInf>
      </TxDtls></NtryDtls></Ntry>""" for ref, amt, kid in entries)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.02"><BkToCstmrDbtCdtNtfctn>
<GrpHdr><MsgId>M1</MsgId><CreDtTm>2026-11-26T06:00:00</CreDtTm></GrpHdr>
<Ntfctn><Id>N1</Id><Acct><Id><Othr><Id>12345678903</Id></Othr></Id></Acct>{ntry}</Ntfctn>
</BkToCstmrDbtCdtNtfctn></Document>""".encode()


def test_camt054_matches_registers_and_is_idempotent(customer_client, every_kind, caseworker_client):
    o_inv, s_inv = every_kind["ordinary_O"], every_kind["change"]
    data = camt054([("BANK-1", "57392.90", o_inv.kid), ("BANK-2", "100.00", s_inv.kid),
                    ("BANK-3", "500.00", "99999999999"), ("BANK-4", "10.00", "")])
    imp = services.bank_import_file(data=data, filename="camt054.xml")
    assert (imp.transaction_count, imp.matched_count, imp.mismatched_count, imp.unmatched_count) == (4, 1, 1, 2)
    o_inv.refresh_from_db()
    assert o_inv.status == Invoice.Status.PAID
    pay = Payment.objects.get(provider="bank", provider_reference="BANK-1")
    assert pay.amount == D("57392.90") and pay.method == "bank_transfer"
    partial = BankTransaction.objects.get(bank_reference="BANK-2")
    assert partial.status == "mismatched" and partial.payment is not None and "Delbetaling" in partial.message
    # Shown to the case worker: amounts the Norwegian way ("100,00 kr"), not "100.00".
    assert "100,00\u00a0kr innbetalt" in partial.message and "100.00" not in partial.message
    again = services.bank_import_file(data=data, filename="camt054.xml")
    assert again.duplicate_count == 4 and again.matched_count == 0
    assert Payment.objects.filter(provider="bank").count() == 2
    page = caseworker_client.get(reverse("erp:bank_imports")).content.decode()
    assert "BANK-3" in page and "Ukjent KID" in page and "BANK-2" in page and "BANK-1" not in page.split("Tidligere")[0]
    assert customer_client.get(reverse("erp:bank_imports")).status_code == 403


def test_upload_page_and_resolve(every_kind, caseworker_client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    data = camt054([("BANK-9", "1.00", "123")])
    r = caseworker_client.post(reverse("erp:bank_imports"), {"file": SimpleUploadedFile("b.xml", data)}, follow=True)
    assert "uten treff" in r.content.decode()
    tx = BankTransaction.objects.get(bank_reference="BANK-9")
    caseworker_client.post(reverse("erp:bank_transaction_resolve", args=[tx.pk]))
    tx.refresh_from_db()
    assert tx.status == "resolved"
    bad = caseworker_client.post(reverse("erp:bank_imports"), {"file": SimpleUploadedFile("x.xml", b"<a>")})
    assert "ikke gyldig XML" in bad.content.decode()


def test_ocr_giro_file(every_kind):
    inv = every_kind["prepayment"]
    ore = "8000000"  # 80 000.00 in øre
    rec30 = ("NY091330" + "0000001" + "261126" + "00" + "00" + "0" + "00001" + " " + ore.rjust(17, "0")
             + inv.kid.rjust(25) + "  " + "0000")
    lines = ["NY000010".ljust(80), ("NY090020" + "000000000" + "1234567").ljust(80), rec30.ljust(80)]
    imp = services.bank_import_file(data="\n".join(lines).encode("latin-1"), filename="ocr.txt")
    assert imp.format == "ocr" and imp.transaction_count == 1
    assert BankTransaction.objects.get().amount == D("80000.00")


def test_http_adapter_contract(fake_erp, every_kind, settings):
    hits = adapters.get_adapter().search_customers("bergen")
    assert hits[0]["number"] == "C-77" and hits[0]["kind"] == "organisation"
    with pytest.raises(adapters.ErpError):
        adapters.HttpAdapter(token="wrong").search_customers("x")
    batch = services.export_run()
    fake_erp.fail_next = 1
    with pytest.raises(services.DeliveryFailed):
        services.export_deliver(batch_id=batch.pk)
    services.export_deliver(batch_id=batch.pk)
    services.export_redeliver(batch=batch)
    assert services.export_deliver(batch_id=batch.pk).status == "delivered"
    keys = [k for k, _ in fake_erp.received]
    assert len(keys) == len(set(keys)) == len(every_kind), "each document accepted once (409 on repeats)"
    body = fake_erp.received[0][1]
    assert body["ehf_xml"].startswith("<?xml") and body["document_type"] in ("invoice", "credit_note")
    with pytest.raises(adapters.ErpError):
        adapters.HttpAdapter(base_url="http://127.0.0.1:9", timeout=1).search_customers("x")


def test_customer_search_endpoint(caseworker_client, customer_client, settings):
    settings.ERP_ADAPTER = "demo"
    url = reverse("erp:customer_search")
    html = caseworker_client.get(url, {"q": "boligbygg"}, HTTP_HX_REQUEST="true").content.decode()
    assert 'data-erp-number="10001"' in html and "Bergen Boligbygg AS" in html and 'data-erp-orgnr="914500001"' in html
    assert "Ingen kunder" in caseworker_client.get(url, {"q": "zzzz"}).content.decode()
    assert "minst to tegn" in caseworker_client.get(url, {"q": "b"}).content.decode()
    assert customer_client.get(url, {"q": "bergen"}).status_code == 403
    settings.ERP_ADAPTER, settings.ERP_BASE_URL = "http", "http://127.0.0.1:9"
    assert "svarer ikke" in caseworker_client.get(url, {"q": "bergen"}).content.decode()
