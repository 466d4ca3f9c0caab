"""Contract tests for /api/v1/: the shapes other systems depend on, idempotency, conflicts, the
batch's all-or-nothing, auth failures, and that bad input is a 4xx with the error shape."""

from decimal import Decimal

import pytest
from django.core.management import call_command

from billing import services as billing
from billing.models import CostLine, Customer, Invoice, InvoiceBasis
from integrations import services
from integrations.models import ApiClient, RelatedCase
from tests.support.api import ApiClientWrapper, basis_payload, example1_payload, line_payload

pytestmark = pytest.mark.django_db

BASES = "/api/v1/invoice-bases"


def assert_error(response, status, code=None):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    if code:
        assert body["error"]["code"] == code
    return body["error"]


def create_basis(api, **kw):
    response = api.post(BASES, basis_payload(**kw))
    assert response.status_code in (200, 201), response.content
    return response.json()


# --- invoice bases -------------------------------------------------------------------------------


def test_create_basis_then_same_reference_returns_the_same_basis(api):
    first = api.post(BASES, basis_payload())
    assert first.status_code == 201
    body = first.json()
    assert body["reference"] == "NM-1001"
    assert body["number"].startswith("FG-")
    assert body["status"] == "draft" and body["status_label"] == "Under arbeid"
    assert body["work_release"] == "blocked"
    assert body["customer"]["name"] == "Kari Nordmann"
    assert body["customer"]["address"] == {"street": "Bakkeveien 2", "postal_code": "5010", "city": "Bergen"}
    assert body["order_date"] == "2026-03-01"
    assert body["totals"] == {"net": "0.00", "vat": "0.00", "gross": "0.00", "vat_breakdown": []}
    for key in ("lines", "invoices", "related_cases", "events"):
        assert isinstance(body[key], list)

    again = api.post(BASES, basis_payload(title="Endret tittel"))
    assert again.status_code == 200
    assert again.json()["id"] == body["id"]
    assert InvoiceBasis.objects.count() == 1
    assert Customer.objects.count() == 1


def test_get_basis_shows_lines_totals_and_events(api):
    basis = create_basis(api)
    assert api.post(f"{BASES}/{basis['id']}/cost-lines/batch", example1_payload()).status_code == 201
    body = api.get(f"{BASES}/{basis['id']}").json()
    # docs/billing-rules.md example 1: contribution 57 392.90 (O), re-sealing 1 200.00 (S) with 300.00 VAT.
    assert body["totals"] == {"net": "58592.90", "vat": "300.00", "gross": "58892.90", "vat_breakdown": [
        {"code": "O", "rate": "0.00", "base": "57392.90", "vat": "0.00"},
        {"code": "S", "rate": "25.00", "base": "1200.00", "vat": "300.00"}]}
    line = body["lines"][1]
    assert set(line) >= {"id", "source", "source_reference", "line_reference", "category", "description",
                         "quantity", "unit", "unit_price", "amount", "vat_code", "customer_caused", "phase",
                         "is_change", "invoiced"}
    assert line["quantity"] == "12.5" and line["unit_price"] == "845.00" and line["amount"] == "10562.50"
    assert line["vat_code"] == "O" and line["invoiced"] is False and line["is_change"] is False
    assert body["lines"][4]["vat_code"] == "S"
    assert [e["action"] for e in body["events"]][0] == "billing.basis.created"
    assert body["events"][0]["actor"] == "API: Nettmelding"


def test_vat_is_computed_per_category_not_per_line(api):
    basis = create_basis(api)
    lines = [line_payload(f"S{i}", category="meter_work", description="Målerarbeid", unit_price="1234.50")
             for i in range(3)]
    assert api.post(f"{BASES}/{basis['id']}/cost-lines/batch", {"lines": lines}).status_code == 201
    totals = api.get(f"{BASES}/{basis['id']}").json()["totals"]
    assert totals["vat"] == "925.88"  # docs/billing-rules.md example 6, not 925.89
    assert totals["gross"] == "4629.38"


def test_unknown_basis_is_404_with_error_shape(api):
    assert_error(api.get(f"{BASES}/999999"), 404, "not_found")
    assert_error(api.post(f"{BASES}/999999/cost-lines", line_payload()), 404, "not_found")
    assert_error(api.get(f"{BASES}/99999999999999999999"), 422)  # not an id at all
    assert_error(api.get(f"{BASES}/abc"), 422)
    assert_error(api.get("/api/v1/no-such-thing"), 404, "not_found")


@pytest.mark.parametrize("change, field", [
    ({"reference": ""}, "reference"),
    ({"title": "   "}, "title"),
    ({"order_date": "01.03.2026"}, "order_date"),
    ({"order_date": "2026-02-30"}, "order_date"),
    ({"prepayment_required": "ja"}, "prepayment_required"),
    ({"metering_point_id": "123"}, "metering_point_id"),
    ({"metering_point_id": "707057500012345678"}, "metering_point_id"),  # GS1 check digit should be 1
    ({"site": {"street": "Lia 4", "postal_code": "50x9", "city": "Bergen"}}, "site.postal_code"),
    ({"customer": {"name": "Kari", "email": "a@b.no", "phone": "abc", "address": {}}}, "customer.phone"),
    ({"customer": {"name": "Kari", "email": "a@b.no", "address": {"postal_code": "50x9"}}},
     "customer.address.postal_code"),
    ({"customer": {"name": "Kari", "email": "ikke-epost", "address": {}}}, "customer.email"),
    ({"customer": {"name": "AS", "email": "a@b.no", "orgnr": "123456789", "address": {}}}, "customer.orgnr"),
    ({"unknown_field": 1}, "unknown_field"),
])
def test_invalid_basis_input_is_422_and_creates_nothing(api, change, field):
    error = assert_error(api.post(BASES, basis_payload(**change)), 422)
    assert field in error["fields"], error
    assert InvoiceBasis.objects.count() == 0
    assert Customer.objects.count() == 0


def test_invalid_basis_fields_are_reported_together(api):
    payload = basis_payload(metering_point_id="707057500012345678", customer={
        "name": "Kari", "email": "a@b.no", "phone": "abc", "orgnr": "123456789",
        "address": {"street": "Lia 4", "postal_code": "50x9", "city": "Bergen"}})
    error = assert_error(api.post(BASES, payload), 422)
    assert {"metering_point_id", "customer.phone", "customer.orgnr", "customer.address.postal_code"} <= set(
        error["fields"]), error
    assert InvoiceBasis.objects.count() == 0


def test_malformed_json_is_400_and_a_json_array_is_422(api):
    assert_error(api.post(BASES, raw="{not json"), 400, "malformed_json")
    assert_error(api.post(BASES, raw="[1, 2]"), 422)
    assert_error(api.post(BASES, raw=""), 422)


def test_customer_is_reused_by_erp_customer_number(api):
    cust = {"name": "Bedrift AS", "email": "post@bedrift.no", "erp_customer_number": "K-77",
            "address": {"street": "Gata 1", "postal_code": "5003", "city": "Bergen"}}
    a = create_basis(api, reference="A", customer=cust)
    b = create_basis(api, reference="B", customer=cust)
    assert a["customer"]["id"] == b["customer"]["id"]


# --- cost lines ------------------------------------------------------------------------------------


def test_cost_line_201_then_200_then_409_when_content_differs(api):
    basis = create_basis(api)
    url = f"{BASES}/{basis['id']}/cost-lines"
    first = api.post(url, line_payload(quantity="2.5", unit_price="0.33"))
    assert first.status_code == 201
    assert first.json()["amount"] == "0.83"  # 0.825 rounded half up to øre
    assert first.json()["vat_code"] == "O"  # the category's default
    same = api.post(url, line_payload(quantity="2.5", unit_price="0.33"))
    assert same.status_code == 200 and same.json() == first.json()
    error = assert_error(api.post(url, line_payload(quantity="3", unit_price="0.33")), 409, "conflict")
    assert "line_reference" in error["fields"]
    assert CostLine.objects.count() == 1
    assert CostLine.objects.get().quantity == Decimal("2.5")


def test_cost_line_vat_code_override_and_customer_caused(api):
    basis = create_basis(api)
    response = api.post(f"{BASES}/{basis['id']}/cost-lines",
                        line_payload(category="relocation", vat_code="O", customer_caused=True))
    assert response.status_code == 201
    assert response.json()["vat_code"] == "O" and response.json()["customer_caused"] is True


@pytest.mark.parametrize("change, field", [
    ({"category": "gold_plating"}, "category"),
    ({"vat_code": "X"}, "vat_code"),
    ({"source": "fax"}, "source"),
    ({"quantity": "12,5"}, "quantity"),
    ({"quantity": "0"}, "quantity"),
    ({"quantity": "1.2345"}, "quantity"),
    ({"unit_price": "NaN"}, "unit_price"),
    ({"unit_price": "1e5"}, "unit_price"),
    ({"unit_price": "10.001"}, "unit_price"),
    ({"unit_price": "-5.00"}, "unit_price"),
    ({"unit_price": "99999999999999.00"}, "unit_price"),
    ({"unit_price": True}, "unit_price"),
    ({"customer_caused": "yes"}, "customer_caused"),
    ({"description": "a\x00b"}, "description"),
    ({"line_reference": ""}, "line_reference"),
])
def test_invalid_cost_line_is_422_with_the_field(api, change, field):
    basis = create_basis(api)
    error = assert_error(api.post(f"{BASES}/{basis['id']}/cost-lines", line_payload(**change)), 422)
    assert field in error["fields"], error
    assert CostLine.objects.count() == 0


def test_huge_amount_is_422_not_500(api):
    basis = create_basis(api)
    response = api.post(f"{BASES}/{basis['id']}/cost-lines",
                        line_payload(quantity="99999999999", unit_price="999999999999.99"))
    assert_error(response, 422)


def test_lines_after_acceptance_are_change_lines_and_cancelled_basis_refuses(api):
    basis = create_basis(api)
    url = f"{BASES}/{basis['id']}/cost-lines"
    assert api.post(f"{url}/batch", example1_payload()).status_code == 201
    row = InvoiceBasis.objects.get(pk=basis["id"])
    billing.offer_send(basis=row, by=None)
    billing.offer_accept(basis=row, by=None)
    extra = api.post(url, line_payload("EXTRA", description="Ekstra graving", unit_price="5000.00"))
    assert extra.status_code == 201 and extra.json()["is_change"] is True

    other = create_basis(api, reference="NM-2")
    billing.basis_cancel(basis=InvoiceBasis.objects.get(pk=other["id"]), by=None, reason="Trukket")
    assert_error(api.post(f"{BASES}/{other['id']}/cost-lines", line_payload("NEW")), 409)
    assert_error(api.post(f"{BASES}/{other['id']}/cost-lines/batch", {"lines": [line_payload("NEW2")]}), 409)


def test_batch_is_all_or_nothing_and_names_the_bad_line(api):
    basis = create_basis(api)
    lines = example1_payload()["lines"]
    lines[3]["category"] = "unknown_category"
    error = assert_error(api.post(f"{BASES}/{basis['id']}/cost-lines/batch", {"lines": lines}), 422)
    assert "lines.3" in error["fields"] and "lines.3.category" in error["fields"]
    assert CostLine.objects.count() == 0
    assert api.get(f"{BASES}/{basis['id']}").json()["lines"] == []

    # A schema error in one line also names its index.
    lines = example1_payload()["lines"]
    lines[2]["unit_price"] = "12,50"
    error = assert_error(api.post(f"{BASES}/{basis['id']}/cost-lines/batch", {"lines": lines}), 422)
    assert "lines.2.unit_price" in error["fields"]

    # A conflicting line anywhere rolls the others back too.
    assert api.post(f"{BASES}/{basis['id']}/cost-lines", line_payload("EX1-4", unit_price="1.00")).status_code == 201
    error = assert_error(api.post(f"{BASES}/{basis['id']}/cost-lines/batch", example1_payload()), 409)
    assert "lines.4" in error["fields"]
    assert CostLine.objects.count() == 1


def test_batch_again_is_200_and_changes_nothing(api):
    basis = create_basis(api)
    url = f"{BASES}/{basis['id']}/cost-lines/batch"
    first = api.post(url, example1_payload())
    assert first.status_code == 201 and first.json()["created"] == 5
    again = api.post(url, example1_payload())
    assert again.status_code == 200 and again.json()["created"] == 0
    assert [ln["id"] for ln in again.json()["lines"]] == [ln["id"] for ln in first.json()["lines"]]
    assert CostLine.objects.count() == 5


def test_batch_limits(api):
    basis = create_basis(api)
    url = f"{BASES}/{basis['id']}/cost-lines/batch"
    assert_error(api.post(url, {"lines": []}), 422)
    too_many = {"lines": [line_payload(f"R{i}") for i in range(1001)]}
    assert "lines" in assert_error(api.post(url, too_many), 422)["fields"]


def test_batch_of_1000_lines_is_accepted(api):
    basis = create_basis(api)
    lines = {"lines": [line_payload(f"R{i}", unit_price="10.00") for i in range(1000)]}
    response = api.post(f"{BASES}/{basis['id']}/cost-lines/batch", lines)
    assert response.status_code == 201 and response.json()["created"] == 1000
    totals = api.get(f"{BASES}/{basis['id']}").json()["totals"]
    assert totals["net"] == "10000.00"


# --- shared costs ---------------------------------------------------------------------------------


def shared_payload(reference="TRAFO-1", allocation="component_capacity", **kw):
    data = {"reference": reference, "description": "Nettstasjon Bakkeveien", "capacity": "400",
            "capacity_unit": "kVA", "allocation": allocation,
            "lines": [{"category": "connection_contribution", "description": "Transformator 400 kVA",
                       "quantity": "1", "unit": "stk", "unit_price": "480000.00"}]}
    data.update(kw)
    return data


def test_shared_cost_component_capacity_example_2(api):
    a = create_basis(api, reference="A")
    b = create_basis(api, reference="B")
    created = api.post("/api/v1/shared-costs", shared_payload())
    assert created.status_code == 201
    sid = created.json()["id"]
    assert created.json()["total"] == "480000.00"
    assert api.post("/api/v1/shared-costs", shared_payload()).json()["id"] == sid
    assert api.post("/api/v1/shared-costs", shared_payload()).status_code == 200

    r = api.post(f"/api/v1/shared-costs/{sid}/participants", {"invoice_basis": a["id"], "capacity": "60"})
    assert r.status_code == 201
    r = api.post(f"/api/v1/shared-costs/{sid}/participants",
                 {"invoice_basis": b["id"], "capacity": "90", "connected_on": "2026-05-01"})
    assert r.status_code == 201
    body = api.get(f"/api/v1/shared-costs/{sid}").json()
    assert body["participants"] == [
        {"invoice_basis": a["id"], "number": a["number"], "capacity": "60", "connected_on": body["participants"][0]["connected_on"], "share": "72000.00"},
        {"invoice_basis": b["id"], "number": b["number"], "capacity": "90", "connected_on": "2026-05-01", "share": "108000.00"},
    ]
    assert body["carried_by_company"] == "300000.00"
    # Each participant's basis shows its share as a line.
    a_lines = api.get(f"{BASES}/{a['id']}").json()["lines"]
    assert [(ln["source"], ln["amount"]) for ln in a_lines] == [("shared_cost", "72000.00")]

    # Same participant again: 200; other capacity: 409.
    again = api.post(f"/api/v1/shared-costs/{sid}/participants", {"invoice_basis": a["id"], "capacity": "60"})
    assert again.status_code == 200
    assert_error(api.post(f"/api/v1/shared-costs/{sid}/participants", {"invoice_basis": a["id"], "capacity": "61"}),
                 409)


def test_shared_cost_ordered_and_equal_per_expected(api):
    a = create_basis(api, reference="A")
    b = create_basis(api, reference="B")
    sid = api.post("/api/v1/shared-costs", shared_payload("T2", "ordered_capacity")).json()["id"]
    api.post(f"/api/v1/shared-costs/{sid}/participants", {"invoice_basis": a["id"], "capacity": "60"})
    api.post(f"/api/v1/shared-costs/{sid}/participants", {"invoice_basis": b["id"], "capacity": "90"})
    shares = [p["share"] for p in api.get(f"/api/v1/shared-costs/{sid}").json()["participants"]]
    assert shares == ["192000.00", "288000.00"]

    field = shared_payload("FELT", "equal_per_expected", expected_count=18, lines=[
        {"description": "Boligfelt", "unit_price": "1250000.00"}])
    sid = api.post("/api/v1/shared-costs", field).json()["id"]
    api.post(f"/api/v1/shared-costs/{sid}/participants", {"invoice_basis": a["id"], "capacity": "1"})
    body = api.get(f"/api/v1/shared-costs/{sid}").json()
    assert body["participants"][0]["share"] == "69444.44"


@pytest.mark.parametrize("change, field", [
    ({"allocation": "by_whim"}, "allocation"),
    ({"capacity_unit": "MW"}, "capacity_unit"),
    ({"capacity": "0"}, "capacity"),
    ({"capacity": "abc"}, "capacity"),
    ({"allocation": "equal_per_expected"}, "expected_count"),
    ({"lines": [{"description": "x", "unit_price": "1.00", "category": "nope"}]}, "lines.0.category"),
    ({"lines": [{"description": "x", "unit_price": "1.00", "vat_code": "Q"}]}, "lines.0.vat_code"),
])
def test_invalid_shared_cost_is_422(api, change, field):
    error = assert_error(api.post("/api/v1/shared-costs", shared_payload(**change)), 422)
    assert field in error["fields"], error
    from billing.models import SharedCost

    assert SharedCost.objects.count() == 0


def test_participant_errors(api):
    sid = api.post("/api/v1/shared-costs", shared_payload()).json()["id"]
    assert_error(api.post(f"/api/v1/shared-costs/{sid}/participants", {"invoice_basis": 424242, "capacity": "1"}),
                 422)
    assert_error(api.post("/api/v1/shared-costs/424242/participants", {"invoice_basis": 1, "capacity": "1"}), 404)
    assert_error(api.get("/api/v1/shared-costs/424242"), 404)
    a = create_basis(api, reference="A")
    # More than the component's capacity: the allocation refuses it.
    assert_error(api.post(f"/api/v1/shared-costs/{sid}/participants", {"invoice_basis": a["id"], "capacity": "500"}),
                 422)


# --- related cases and work release -------------------------------------------------------------


def test_related_case_link_and_lookup(api):
    basis = create_basis(api)
    url = f"{BASES}/{basis['id']}/related-cases"
    payload = {"source": "nettmelding", "external_id": "NM-55", "title": "Forhåndsmelding",
               "installer": {"name": "Elektro AS", "orgnr": "914588200", "email": "post@elektro.no"}}
    first = api.post(url, payload)
    assert first.status_code == 201
    assert first.json()["installer"]["orgnr"] == "914588200"
    assert api.post(url, payload).status_code == 200
    assert RelatedCase.objects.count() == 1

    looked_up = api.get("/api/v1/related-cases/nettmelding/NM-55").json()
    assert looked_up["invoice_basis"] == basis["id"]
    assert looked_up["number"] == basis["number"]
    assert looked_up["status"] == "draft" and looked_up["status_label"] == "Under arbeid"
    assert looked_up["work_release"] == "blocked"
    assert looked_up["updated_at"]

    other = create_basis(api, reference="OTHER")
    assert_error(api.post(f"{BASES}/{other['id']}/related-cases", payload), 409)
    assert_error(api.get("/api/v1/related-cases/nettmelding/NOPE"), 404)
    assert_error(api.get("/api/v1/related-cases/telefax/NM-55"), 404)
    assert_error(api.post(url, {**payload, "source": "fax"}), 422)
    bad_installer = {**payload, "external_id": "NM-56", "installer": {"name": "X", "orgnr": "123456789"}}
    assert "installer.orgnr" in assert_error(api.post(url, bad_installer), 422)["fields"]
    assert RelatedCase.objects.count() == 1
    assert basis["number"] in str(api.get(f"{BASES}/{basis['id']}").json()["related_cases"])


def test_work_release_waits_for_acceptance(api):
    basis = create_basis(api)
    api.post(f"{BASES}/{basis['id']}/cost-lines/batch", example1_payload())
    api.post(f"{BASES}/{basis['id']}/related-cases", {"source": "work_order", "external_id": "AO-1"})
    row = InvoiceBasis.objects.get(pk=basis["id"])
    billing.offer_send(basis=row, by=None)
    assert api.get("/api/v1/related-cases/work_order/AO-1").json()["work_release"] == "blocked"
    billing.offer_accept(basis=row, by=None)
    case = api.get("/api/v1/related-cases/work_order/AO-1").json()
    assert case["status"] == "accepted" and case["work_release"] == "released"


def test_work_release_with_prepayment_waits_for_payment(api):
    basis = create_basis(api, prepayment_required=True)
    api.post(f"{BASES}/{basis['id']}/cost-lines/batch", example1_payload())
    api.post(f"{BASES}/{basis['id']}/related-cases", {"source": "work_order", "external_id": "AO-2"})
    row = InvoiceBasis.objects.get(pk=basis["id"])
    billing.offer_send(basis=row, by=None)
    billing.offer_accept(basis=row, by=None)
    body = api.get(f"{BASES}/{basis['id']}").json()
    assert body["prepayment_required"] is True
    assert body["work_release"] == "blocked"
    assert {i["kind"] for i in body["invoices"]} == {"prepayment"}
    for inv in Invoice.objects.filter(basis=row):
        billing.payment_register(invoice=inv, by=None, amount=inv.gross_total, method="bank_transfer")
    case = api.get("/api/v1/related-cases/work_order/AO-2").json()
    assert case["work_release"] == "released" and case["status"] == "paid"


# --- auth -----------------------------------------------------------------------------------------


def test_missing_or_invalid_token_is_401(api):
    for token in (None, "kf_wrong"):
        error = assert_error(api.get(f"{BASES}/1", token=token), 401, "unauthorized")
        assert error["message"]
        assert_error(api.post(BASES, basis_payload(), token=token), 401)
    response = api.client.get(f"{BASES}/1", HTTP_AUTHORIZATION="Basic dXNlcjpwYXNz")
    assert_error(response, 401)
    assert InvoiceBasis.objects.count() == 0


def test_inactive_client_is_401(api, api_client_row):
    ApiClient.objects.filter(pk=api_client_row.pk).update(is_active=False)
    assert_error(api.get(f"{BASES}/1"), 401)


def test_missing_scope_is_403(company):
    _reader, read_token = services.api_client_create(name="Leser", scopes=["read"])
    _writer, write_token = services.api_client_create(name="Skriver", scopes=["write"])
    reader, writer = ApiClientWrapper(read_token), ApiClientWrapper(write_token)
    assert_error(reader.post(BASES, basis_payload()), 403, "forbidden")
    created = writer.post(BASES, basis_payload())
    assert created.status_code == 201
    assert_error(writer.get(f"{BASES}/{created.json()['id']}"), 403, "forbidden")
    assert reader.get(f"{BASES}/{created.json()['id']}").status_code == 200


def test_tokens_are_stored_hashed_and_printed_once(company, capsys):
    call_command("create_api_client", "Arbeidsordre", "--scopes", "read")
    out = capsys.readouterr().out
    token = out.strip().splitlines()[-1]
    client = ApiClient.objects.get(name="Arbeidsordre")
    assert client.scopes == ["read"]
    assert token not in client.token_hash and len(client.token_hash) == 64
    assert client.token_hash == services.hash_token(token)
    assert ApiClientWrapper(token).get(f"{BASES}/1").status_code == 404  # authenticated, nothing there


def test_openapi_schema_and_docs(api):
    schema = api.get("/api/v1/openapi.json", token=None).json()
    paths = schema["paths"]
    for path in ("/api/v1/invoice-bases", "/api/v1/invoice-bases/{basis_id}",
                 "/api/v1/invoice-bases/{basis_id}/cost-lines", "/api/v1/invoice-bases/{basis_id}/cost-lines/batch",
                 "/api/v1/shared-costs", "/api/v1/shared-costs/{shared_id}",
                 "/api/v1/shared-costs/{shared_id}/participants", "/api/v1/invoice-bases/{basis_id}/related-cases",
                 "/api/v1/related-cases/{source}/{external_id}"):
        assert path in paths, path
    docs = api.get("/api/v1/docs", token=None)
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "cdn" not in html.lower() and "/api/v1/openapi.json" in html
    for asset in ("swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-init.js"):
        assert f"/api/v1/docs-assets/{asset}" in html
        assert api.get(f"/api/v1/docs-assets/{asset}", token=None).status_code == 200
    assert api.get("/api/v1/docs-assets/secret.py", token=None).status_code == 404


def test_customer_email_is_required(api):
    payload = basis_payload()
    payload["customer"]["email"] = ""
    assert "customer.email" in assert_error(api.post(BASES, payload), 422)["fields"]


def test_legacy_base_deduction_shows_in_totals(api):
    from billing.models import CompanyProfile

    CompanyProfile.objects.filter(pk=1).update(base_deduction_enabled=True, base_deduction_amount=Decimal("15000"))
    old = create_basis(api, reference="OLD-2018", order_date="2018-06-01")
    api.post(f"{BASES}/{old['id']}/cost-lines/batch", example1_payload())
    totals = api.get(f"{BASES}/{old['id']}").json()["totals"]
    assert totals["vat_breakdown"][0] == {"code": "O", "rate": "0.00", "base": "42392.90", "vat": "0.00"}
    assert totals["gross"] == "43892.90"
    new = create_basis(api, reference="NEW-2019", order_date="2019-01-01")
    api.post(f"{BASES}/{new['id']}/cost-lines/batch", {"lines": [
        {**ln, "line_reference": "N" + ln["line_reference"]} for ln in example1_payload()["lines"]]})
    assert api.get(f"{BASES}/{new['id']}").json()["totals"]["gross"] == "58892.90"


def test_api_views_are_marked_as_token_authenticated():
    from django.urls import resolve

    assert resolve("/api/v1/invoice-bases").func.public is True
    assert resolve("/api/v1/unknown/path").func.public is True
