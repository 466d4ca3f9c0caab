"""The customer is billed what they accepted, exactly once: an offer edited while it is out goes outdated
and cannot be accepted; the estimate is invoiced from the accepted offer's snapshot; after the final
settlement nothing more is invoiced. Through the case worker's pages and the customer's portal."""

from decimal import Decimal as D

import pytest
from django.db import transaction
from django.urls import reverse

from billing import selectors, services
from billing.errors import BillingError, ConflictError, TransitionError
from billing.models import Acceptance, ChangeNotice, CostLine, Invoice, InvoiceBasis
from billing.status import Status
from tests.support.factories import add_line, customer_basis, example1_lines, make_basis, make_customer

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}
OUTDATED = "Tilbudet som er sendt er utdatert – send ny versjon"


def html(response) -> str:
    return response.content.decode().replace("\xa0", " ")


def basis_url(basis):
    return reverse("billing:basis_detail", args=[basis.pk])


def action_url(basis, action):
    return reverse("billing:basis_action", args=[basis.pk, action])


def edit_line(client, basis, line, **fields):
    data = {"category": line.category.code, "description": line.description, "quantity": str(line.quantity),
            "unit": line.unit, "unit_price": str(line.unit_price), "vat_code": ""}
    data.update(fields)
    return client.post(reverse("billing:line_edit", args=[basis.pk, line.pk]),
                       {f"l{line.pk}-{k}": v for k, v in data.items()}, **HX)


def charged(basis) -> D:
    """Issued invoices minus credit notes on the basis (gross)."""
    total = D("0.00")
    for inv in basis.invoices.filter(number__isnull=False):
        total += -inv.gross_total if inv.kind == Invoice.Kind.CREDIT_NOTE else inv.gross_total
    return total


# --- edit after sending -----------------------------------------------------------------------------


def test_offer_edited_while_out_is_outdated_until_a_new_version_is_sent(
        company, caseworker_client, customer_client, customer_user):
    basis = customer_basis(customer_user)
    v1 = services.current_offer(basis)
    assert v1.gross == D("58892.90")
    material = basis.lines.get(description="Materiell")

    response = edit_line(caseworker_client, basis, material, unit_price="99999,00")
    assert response.status_code == 200
    assert OUTDATED in html(response), "the case worker sees it at once (actions swapped out of band)"
    page = html(caseworker_client.get(basis_url(basis)))
    assert OUTDATED in page
    assert action_url(basis, "accept") not in page, "no acceptance on the customer's behalf of an outdated offer"
    assert "Sendt tilbud utdatert" in page, "the timeline shows it"

    portal = html(customer_client.get(reverse("portal:basis", args=[basis.pk])))
    assert "Tilbudet revideres" in portal and "Aksepter tilbudet" not in portal
    response = customer_client.post(reverse("portal:accept", args=[basis.pk]),
                                    {"offer_version": 1, "terms_read": "on"}, follow=True)
    assert "er endret etter at det ble sendt og kan ikke aksepteres" in html(response)
    assert not Acceptance.objects.filter(basis=basis).exists()
    with pytest.raises(ConflictError) as refused:
        services.offer_accept(basis=basis, by=customer_user, offer=v1)
    assert refused.value.code == "offer_outdated" and refused.value.status_code == 409
    assert caseworker_client.post(action_url(basis, "accept"), {"channel": "paper", "note": "x"}).status_code == 409

    response = caseworker_client.post(action_url(basis, "send_offer"), follow=True)
    assert "versjon 2" in html(response) and OUTDATED not in html(response)
    v2 = services.current_offer(basis)
    assert v2.version == 2 and v2.gross == D("58892.90") + D("99999.00") - D("18450.00")
    portal = html(customer_client.get(reverse("portal:basis", args=[basis.pk])))
    assert "Tilbudet revideres" not in portal and "Aksepter tilbudet" in portal
    response = customer_client.post(reverse("portal:accept", args=[basis.pk]),
                                    {"offer_version": 2, "terms_read": "on"})
    assert response.status_code == 302 and response["Location"] == reverse("portal:accepted", args=[basis.pk])

    assert caseworker_client.post(action_url(basis, "invoice"), {}).status_code == 302
    invoices = list(basis.invoices.filter(number__isnull=False))
    assert sum(i.gross_total for i in invoices) == v2.gross
    invoiced = {il.cost_line_id: il.amount for i in invoices for il in i.lines.all()}
    assert invoiced == {entry["id"]: D(entry["amount"]) for entry in v2.snapshot["lines"]}


def test_removing_or_adding_a_line_while_out_also_outdates_the_offer(company, caseworker_client, customer_user):
    basis = customer_basis(customer_user)
    fee = basis.lines.get(description="Replombering")
    caseworker_client.post(reverse("billing:line_delete", args=[basis.pk, fee.pk]), **HX)
    offer = services.current_offer(basis)
    assert offer.outdated_at is not None
    assert basis.events.filter(action="billing.offer.outdated").count() == 1
    add_line(basis, description="Ekstra graving", unit_price="500.00")
    assert basis.events.filter(action="billing.offer.outdated").count() == 1, "marked once"


def test_the_estimate_is_invoiced_from_the_accepted_snapshot_even_if_a_line_drifts(company, caseworker,
                                                                                 customer_user):
    basis = customer_basis(customer_user)
    services.offer_accept(basis=basis, by=customer_user)
    accepted = services.accepted_offer(basis)
    # A path around the line lock (a shared-cost share is re-allocated on the row itself).
    CostLine.objects.filter(basis=basis, description="Materiell").update(amount=D("1.00"), unit_price=D("1.00"))
    invoices = services.invoices_issue(basis=basis, by=caseworker)
    assert sum(i.gross_total for i in invoices) == accepted.gross == D("58892.90")
    assert any(il.amount == D("18450.00") for i in invoices for il in i.lines.all())
    assert selectors.accepted_estimate(basis).gross == accepted.gross, "the § 16-11 cap is built on it too"
    add_line(basis, caseworker, description="Faktisk", unit_price="57392.90", phase="actual")
    [row] = [r for r in selectors.settlement_rows(basis) if r["code"] == "O"]
    assert (row["estimate"], row["already_invoiced"], row["difference"]) == (D("57392.90"), D("57392.90"), 0)


# --- after the final settlement --------------------------------------------------------------------


def _accepted(caseworker, amount="100000.00", **fields):
    basis = make_basis(by=caseworker, customer=make_customer(), **fields)
    add_line(basis, caseworker, description="Anleggsbidrag, estimat", unit_price=amount)
    services.offer_send(basis=basis, by=caseworker)
    services.offer_accept(basis=basis, by=None)
    basis.refresh_from_db()
    return basis


def _settle_through_page(client, basis, actual):
    url = reverse("billing:settlement", args=[basis.pk])
    assert client.post(url, {"action": "add_actual", "category": "connection_contribution",
                             "description": "Faktisk kostnad", "quantity": "1", "unit": "stk",
                             "unit_price": actual}).status_code == 302
    return client.post(url, {"action": "settle"}, follow=True)


def test_nothing_is_invoiced_again_after_the_final_settlement(company, caseworker, caseworker_client):
    basis = _accepted(caseworker)
    page = html(caseworker_client.get(basis_url(basis)))
    assert action_url(basis, "invoice") in page
    response = _settle_through_page(caseworker_client, basis, "130000.00")
    assert "Sluttoppgjøret er utstedt" in html(response)
    [final] = basis.invoices.filter(kind=Invoice.Kind.FINAL)
    assert final.gross_total == D("115000.00")

    page = html(caseworker_client.get(basis_url(basis)))
    assert action_url(basis, "invoice") not in page and "Utsted faktura" not in page
    assert "Sluttoppgjøret er utført" in page
    response = caseworker_client.post(action_url(basis, "invoice"), {})
    assert response.status_code == 409 and "bare kreditnotaer" in html(response)
    with pytest.raises(TransitionError) as refused:
        services.invoices_issue(basis=basis, by=caseworker)
    assert refused.value.code == "settled"
    assert charged(basis) == D("115000.00")
    settlement = html(caseworker_client.get(reverse("billing:settlement", args=[basis.pk])))
    assert "Utsted sluttoppgjør" not in settlement and "Registrer faktisk kostnad" not in settlement
    with pytest.raises(TransitionError):
        add_line(basis, caseworker, description="Sen faktisk kostnad", unit_price="5000.00", phase="actual")
    assert services.final_settle(basis=basis, by=caseworker) == [], "settling again issues nothing"
    assert charged(basis) == D("115000.00")
    # A credit note is still possible.
    page = html(caseworker_client.get(basis_url(basis)))
    assert action_url(basis, "credit") in page


def test_an_accepted_change_not_yet_invoiced_is_settled_not_invoiced_afterwards(
        company, caseworker, caseworker_client, customer_client, customer_user):
    basis = _accepted(caseworker)
    basis.customer.user = customer_user
    basis.customer.save(update_fields=["user"])
    assert caseworker_client.post(action_url(basis, "invoice"), {}).status_code == 302  # 100 000,00
    add_line(basis, caseworker, description="Ekstra graving", unit_price="10000.00")
    changes = reverse("billing:changes", args=[basis.pk])
    assert caseworker_client.post(changes, {"action": "send"}).status_code == 302
    notice = basis.change_notices.get()

    # While the notice awaits the customer, the settlement is not offered and is refused.
    url = reverse("billing:settlement", args=[basis.pk])
    caseworker_client.post(url, {"action": "add_actual", "category": "connection_contribution",
                                 "description": "Faktisk kostnad", "quantity": "1", "unit": "stk",
                                 "unit_price": "130000.00"})
    page = html(caseworker_client.get(url))
    assert "Utsted sluttoppgjør" not in page and "venter på svar fra kunden" in page
    response = caseworker_client.post(url, {"action": "settle"}, follow=True)
    assert "venter på svar fra kunden" in html(response) and basis.invoices.count() == 1

    response = customer_client.post(reverse("portal:change_notice", args=[notice.pk]),
                                    {"decision": "accept", "pdf_sha256": notice.pdf_sha256})
    assert response.status_code == 302
    assert "Utsted endringsfaktura" in html(caseworker_client.get(changes))

    response = caseworker_client.post(url, {"action": "settle"}, follow=True)
    assert "Sluttoppgjøret er utstedt" in html(response)
    [final] = basis.invoices.filter(kind=Invoice.Kind.FINAL)
    # cap (100 000 + 10 000) × 1,15 = 126 500; invoiced before 100 000.
    assert final.gross_total == D("26500.00")

    page = html(caseworker_client.get(changes))
    assert "Utsted endringsfaktura" not in page and "inngår i sluttoppgjøret" in page
    response = caseworker_client.post(changes, {"action": "invoice"}, follow=True)
    assert "bare kreditnotaer" in html(response)
    assert not basis.invoices.filter(kind=Invoice.Kind.CHANGE).exists()
    assert charged(basis) == D("126500.00")


# --- the page offers exactly what the services accept ----------------------------------------------

ACTIONS = ("send_offer", "accept", "invoice", "payment", "credit", "cancel")


def _sent(caseworker):
    basis = make_basis(by=caseworker)
    example1_lines(basis, caseworker)
    services.offer_send(basis=basis, by=caseworker)
    return basis


def _bases_in_states(caseworker, customer_user):
    bases = {}
    bases["draft_empty"] = make_basis(by=caseworker)
    bases["draft"] = make_basis(by=caseworker)
    add_line(bases["draft"], caseworker, unit_price="1000.00")
    bases["offer_sent"] = _sent(caseworker)
    outdated = _sent(caseworker)
    add_line(outdated, description="Ekstra", unit_price="10.00")
    bases["offer_outdated"] = outdated
    bases["accepted"] = _accepted(caseworker)
    invoiced = _accepted(caseworker)
    services.invoices_issue(basis=invoiced, by=caseworker)
    bases["invoiced"] = invoiced
    paid = _accepted(caseworker)
    [inv] = services.invoices_issue(basis=paid, by=caseworker)
    services.payment_register(invoice=inv, by=caseworker, amount=inv.gross_total, method="manual")
    bases["paid"] = paid
    settled = _accepted(caseworker)
    add_line(settled, caseworker, description="Faktisk", unit_price="90000.00", phase="actual")
    services.final_settle(basis=settled, by=caseworker)
    bases["settled"] = settled
    credited = _accepted(caseworker)
    [inv] = services.invoices_issue(basis=credited, by=caseworker)
    services.invoice_credit(invoice=inv, by=caseworker, reason="Feil")
    bases["fully_credited"] = credited
    cancelled = make_basis(by=caseworker)
    services.basis_cancel(basis=cancelled, by=caseworker, reason="Trukket")
    bases["cancelled"] = cancelled
    return bases


def _post_data(basis, action):
    if action == "accept":
        return {"channel": "paper", "note": "Signert tilbud mottatt"}
    if action == "cancel":
        return {"reason": "Kunden trakk bestillingen"}
    invoices = [i for i in basis.invoices.filter(number__isnull=False).exclude(kind=Invoice.Kind.CREDIT_NOTE)]
    if action == "payment":
        payable = next(i for i in invoices if services.invoice_outstanding(i) > 0)
        return {"invoice": payable.pk, "amount": "10,00"}
    if action == "credit":
        creditable = next(i for i in invoices if not services.invoice_credit_refusals(i))
        return {"invoice": creditable.pk, "mode": "amount", "amount": "10,00", "reason": "Rabatt"}
    return {}


def _footprint(basis):
    basis.refresh_from_db()
    return (basis.status, basis.invoices.count(), basis.offers.count(), basis.acceptances.count(),
            basis.events.count())


def _service_refuses(basis, action, caseworker):
    """The service behind `action` raises, or (idempotent) changes nothing."""
    calls = {
        "send_offer": lambda: services.offer_send(basis=basis, by=caseworker),
        "accept": lambda: services.offer_accept(basis=basis, by=caseworker, channel="paper", note="x"),
        "invoice": lambda: services.invoices_issue(basis=basis, by=caseworker),
        "cancel": lambda: services.basis_cancel(basis=basis, by=caseworker, reason="x"),
    }
    if action not in calls:
        return True  # payment and credit pick an invoice; their guard is per invoice
    before = _footprint(basis)
    with transaction.atomic():
        try:
            calls[action]()
        except BillingError:
            return True
        changed = _footprint(basis) != before
        transaction.set_rollback(True)
    return not changed


def test_every_offered_action_succeeds_and_every_other_is_refused(company, caseworker, caseworker_client,
                                                                   customer_user):
    bases = _bases_in_states(caseworker, customer_user)
    offered = {}
    for state, basis in bases.items():
        basis.refresh_from_db()
        page = html(caseworker_client.get(basis_url(basis)))
        offered[state] = {a for a in ACTIONS if action_url(basis, a) in page}
        for action in ACTIONS:
            before = (basis.invoices.count(), basis.status, basis.offers.count())
            with transaction.atomic():
                response = caseworker_client.post(action_url(basis, action), _post_data(basis, action)
                                                  if action in offered[state] else {})
                if action in offered[state]:
                    assert response.status_code == 302, (state, action, html(response)[:3000])
                else:
                    assert response.status_code == 409, (state, action, response.status_code)
                transaction.set_rollback(True)
            basis.refresh_from_db()
            assert (basis.invoices.count(), basis.status, basis.offers.count()) == before
            if action not in offered[state]:
                assert _service_refuses(basis, action, caseworker), (state, action)
        settlement = html(caseworker_client.get(reverse("billing:settlement", args=[basis.pk])))
        can_settle = "Utsted sluttoppgjør" in settlement
        assert can_settle == (not services.final_settle_refusals(basis)), state
        changes = html(caseworker_client.get(reverse("billing:changes", args=[basis.pk])))
        assert ('value="send"' in changes) == (not selectors.change_notice_send_refusals(basis)), state
    assert offered["draft"] == {"send_offer", "cancel"}
    assert offered["draft_empty"] == {"cancel"}
    assert offered["offer_sent"] == {"send_offer", "accept", "cancel"}
    assert offered["offer_outdated"] == {"send_offer", "cancel"}
    assert offered["accepted"] == {"invoice", "cancel"}
    assert offered["invoiced"] == {"payment", "credit"}
    assert offered["paid"] == {"credit"}
    assert offered["settled"] == {"payment", "credit"}
    assert offered["fully_credited"] == {"invoice"}, "credited lines may be invoiced again (before settlement)"
    assert offered["cancelled"] == set()
    assert bases["settled"].status == Status.INVOICED and bases["settled"].settled_at
    assert not ChangeNotice.objects.exists()


# --- the API (Nettmelding) ---------------------------------------------------------------------------


def test_a_line_from_the_api_outdates_a_sent_offer_and_is_refused_after_the_settlement(company, caseworker):
    from integrations import services as integration_services
    from tests.support.api import ApiClientWrapper, basis_payload, line_payload

    _client, token = integration_services.api_client_create(name="Nettmelding")
    api = ApiClientWrapper(token)
    created = api.post("/api/v1/invoice-bases", basis_payload()).json()
    assert api.post(f"/api/v1/invoice-bases/{created['id']}/cost-lines", line_payload("L1")).status_code == 201
    basis = InvoiceBasis.objects.get(pk=created["id"])
    services.offer_send(basis=basis, by=caseworker)
    assert api.post(f"/api/v1/invoice-bases/{basis.pk}/cost-lines", line_payload("L2", unit_price="500.00")).status_code == 201
    assert services.current_offer(basis).outdated_at is not None
    with pytest.raises(ConflictError):
        services.offer_accept(basis=basis, by=None)
    services.offer_send(basis=basis, by=caseworker)
    services.offer_accept(basis=basis, by=None)
    add_line(basis, caseworker, description="Faktisk", unit_price="20000.00", phase="actual")
    services.final_settle(basis=basis, by=caseworker)
    response = api.post(f"/api/v1/invoice-bases/{basis.pk}/cost-lines", line_payload("L3", unit_price="100.00"))
    assert response.status_code == 409 and response.json()["error"]["code"] == "settled"
