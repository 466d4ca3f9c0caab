"""The customer's bases: the home page, a basis with its offer (web version) and invoices, and the
answer to the offer (accept or decline)."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from billing import selectors as billing_selectors
from billing import services
from billing.errors import BillingError
from billing.evidence import bankid_fresh, bankid_required
from billing.models import Invoice
from billing.status import Status, next_step
from kundefaktura.accounts.roles import customer_required
from kundefaktura.clientip import client_ip
from offers.documents import document_pdf_ensure

from .. import selectors
from ..forms import AcceptForm, DeclineForm
from ..sessions import login_evidence


def _user_agent(request):
    return request.META.get("HTTP_USER_AGENT", "")[:500]


@customer_required
def home(request):
    bases = list(selectors.customer_bases(request.user))
    rows = []
    for basis in bases:
        # `outstanding`: annotated by selectors.customer_bases (= billing_selectors.invoice_outstanding).
        unpaid = [inv for inv in basis.invoices.all()
                  if billing_selectors.invoice_dues(inv, outstanding=inv.outstanding)["owed"] > 0]
        rows.append({"basis": basis, "next_step": next_step(basis.status), "unpaid": unpaid,
                     "can_answer": basis.status == Status.OFFER_SENT})
    return render(request, "portal/home.html", {"rows": rows})


def _offer_context(request, basis, accept_form=None, decline_form=None):
    """What the offer page shows; `basis` as from selectors.basis_for_user with for_page."""
    offer = services.current_offer(basis)
    # The newest answer to this offer (Acceptance's order); the answers come with the basis.
    answer = next((a for a in basis.acceptances.all() if a.offer_id == offer.pk), None) if offer else None
    today = services.today()
    expired = bool(offer and not answer and (basis.status == Status.EXPIRED
                                             or (basis.status == Status.OFFER_SENT and offer.valid_until < today)))
    can_answer = bool(offer and not answer and basis.status == Status.OFFER_SENT and not expired)
    # Changed after it was sent: the customer waits for the new version instead of accepting this one.
    revising = can_answer and services.offer_outdated(offer, basis)
    # `outstanding` is the SQL annotation (= billing_selectors.invoice_outstanding): no query per invoice.
    invoices = [{"invoice": inv, **billing_selectors.invoice_dues(inv, outstanding=inv.outstanding)}
                for inv in basis.invoices.all()]
    version = offer.version if offer else None
    # Above ACCEPTANCE_BANKID_ABOVE the accept form needs a recent BankID (billing/evidence.py checks it).
    bankid_needed = bool(can_answer and bankid_required(offer.gross))
    return {
        "bankid_needed": bankid_needed,
        "bankid_ok": bankid_needed and bankid_fresh(login_evidence(request.session)),
        "basis": basis, "offer": offer, "answer": answer, "expired": expired, "can_answer": can_answer,
        "revising": revising,
        # The terms shown next to the accept checkbox (documents/_offer_terms.html), only while it can be answered.
        "company": billing_selectors.reference("profile", stamps=getattr(basis, "reference_stamps", None)).profile
        if can_answer else None,
        "next_step": next_step(basis.status), "invoices": invoices,
        "prepayment_invoices": [row for row in invoices if row["invoice"].kind == Invoice.Kind.PREPAYMENT],
        "lines": (offer.snapshot or {}).get("lines", []) if offer else [],
        "base_deduction": (offer.snapshot or {}).get("base_deduction") if offer else None,
        "accept_form": accept_form or AcceptForm(initial={"offer_version": version}),
        "decline_form": decline_form or DeclineForm(initial={"offer_version": version}),
    }


@customer_required
def basis_detail(request, pk):
    """The basis with its offer (web version), the answer, and its invoices."""
    basis = selectors.basis_for_user(request.user, pk, for_page=True)
    return render(request, "portal/offer.html", _offer_context(request, basis))


def _shown_offer(basis, version):
    offer = basis.offers.filter(kind="offer", version=version).first()
    if offer is None:
        raise Http404
    return offer


def _answer_problem(basis, offer) -> str | None:
    """A clear message when the offer shown can no longer be answered (None when it can)."""
    newest = services.current_offer(basis)
    if newest and newest.pk != offer.pk:
        return _("Tilbudet du så på (versjon %(old)d) er erstattet av en nyere versjon (versjon %(new)d). "
                 "Les den nye versjonen nedenfor før du svarer.") % {"old": offer.version, "new": newest.version}
    if not offer.acceptances.exists() and (basis.status == Status.EXPIRED or offer.valid_until < services.today()):
        return _("Tilbudet utløp %(d)s og kan ikke lenger aksepteres. Kontakt nettselskapet for et nytt tilbud.") \
            % {"d": offer.valid_until.strftime("%d.%m.%Y")}
    return None


@require_POST
@customer_required
def offer_accept(request, pk):
    basis = selectors.basis_for_user(request.user, pk, for_page=True)
    form = AcceptForm(request.POST)
    if not form.is_valid():
        ctx = _offer_context(request, basis, accept_form=form)
        return render(request, "portal/offer.html", {**ctx, "form": form}, status=422)  # form: error summary
    offer = _shown_offer(basis, form.cleaned_data["offer_version"])
    problem = _answer_problem(basis, offer)
    if problem:
        messages.error(request, problem)
        return redirect("portal:basis", pk=basis.pk)
    document_pdf_ensure("offer", offer.pk)  # the acceptance is bound to the stored PDF's hash
    offer.refresh_from_db(fields=["pdf_sha256"])
    try:
        services.offer_accept(basis=basis, by=request.user, offer=offer, ip_address=client_ip(request),
                              user_agent=_user_agent(request), pdf_sha256=offer.pdf_sha256,
                              evidence=login_evidence(request.session))
    except BillingError as exc:
        messages.error(request, exc.message)
        return redirect("portal:basis", pk=basis.pk)
    return redirect("portal:accepted", pk=basis.pk)


@customer_required
def offer_accepted(request, pk):
    """The same success page for every (double) acceptance of the offer."""
    basis = selectors.basis_for_user(request.user, pk, for_page=True)
    ctx = _offer_context(request, basis)
    if not ctx["answer"] or ctx["answer"].decision != "accepted":
        return redirect("portal:basis", pk=basis.pk)
    return render(request, "portal/accepted.html", ctx)


@require_POST
@customer_required
def offer_decline(request, pk):
    basis = selectors.basis_for_user(request.user, pk, for_page=True)
    form = DeclineForm(request.POST)
    if not form.is_valid():
        ctx = _offer_context(request, basis, decline_form=form)
        return render(request, "portal/offer.html", {**ctx, "form": form}, status=422)  # form: error summary
    offer = _shown_offer(basis, form.cleaned_data["offer_version"])
    problem = _answer_problem(basis, offer)
    if problem:
        messages.error(request, problem)
        return redirect("portal:basis", pk=basis.pk)
    try:
        services.offer_decline(basis=basis, by=request.user, offer=offer, reason=form.cleaned_data["reason"],
                               ip_address=client_ip(request), user_agent=_user_agent(request),
                               evidence=login_evidence(request.session))
    except BillingError as exc:
        messages.error(request, exc.message)
        return redirect("portal:basis", pk=basis.pk)
    messages.success(request, _("Du har avslått tilbudet. Nettselskapet er varslet."))
    return redirect("portal:basis", pk=basis.pk)
