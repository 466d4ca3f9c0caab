"""Case worker workspace. Views are thin: parse input with a form, call one service or selector,
render. htmx requests get partials (the lines section with totals and actions swapped out of band),
full requests the page; both from the same view."""

import hashlib

from django.contrib import messages
from django.core.cache import caches
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template import TemplateDoesNotExist
from django.template.loader import get_template, render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from kundefaktura import pagecache
from kundefaktura.accounts.roles import caseworker_required

from . import selectors, services
from .access import company_admin_required, is_company_admin
from .errors import BillingError
from .forms import (
    AcceptForm,
    BasisForm,
    CancelForm,
    CompanyProfileForm,
    CreditForm,
    IssueForm,
    LineForm,
    ParticipantForm,
    PaymentForm,
    SendOfferForm,
    SharedCostForm,
    SharedLineForm,
    WorklistFilterForm,
)
from .models import (
    AuditEvent,
    BulkJob,
    CompanyProfile,
    CostCategory,
    CostLine,
    Customer,
    Invoice,
    InvoiceBasis,
    Payment,
    SharedCost,
    TenYearRefund,
    VatCode,
)
from .status import Status

PAGE_SIZES = (25, 50, 100, 200)
EMAILS_TEMPLATE = "documents/_basis_emails.html"


def _apply_billing_error(form, exc: BillingError):
    """Put a service's error beside the fields it names (or on the form)."""
    placed = False
    for name in exc.fields:
        # A customer service's field ("email") sits in the basis form as "new_customer_email".
        target = name if name in form.fields else f"new_customer_{name}"
        if target in form.fields:
            form.add_error(target, exc.message)
            placed = True
    if not placed:
        form.add_error(None, exc.message)


def _back_to(basis) -> str:
    return reverse("billing:basis_detail", args=[basis.pk])


# --- work list ------------------------------------------------------------------------------------


def worklist_rows(bases) -> list[str]:
    """The rendered rows of a work-list page. Rendering 50 rows is most of the page's cost, so each
    row is cached under a key made of everything it shows (and the language): a changed basis simply
    gets a new key, so there is nothing to invalidate and nothing can be stale."""
    cache = caches["fragments"]
    language = translation.get_language()
    keys = []
    for b in bases:
        shown = (b.pk, b.number, b.title, b.customer.name if b.customer_id else "", b.status, b.is_overdue,
                 b.offer_valid_until, timezone.localdate(b.created_at), b.site_street, b.site_city,
                 str(b.net_total), language)
        keys.append("wl-row:" + hashlib.sha256(repr(shown).encode()).hexdigest())
    cached = cache.get_many(keys)
    template = get_template("workspace/_worklist_row.html")
    fresh = {}
    rows = []
    for key, b in zip(keys, bases, strict=True):
        html = cached.get(key)
        if html is None:
            html = fresh[key] = template.render({"b": b})
        rows.append(html)  # a SafeString from our own autoescaping template (pickled as such by the cache)
    if fresh:
        cache.set_many(fresh, timeout=24 * 3600)
    return rows


@caseworker_required
@require_GET
def worklist(request):
    """The work list. Its filters, chips and table are served from the snapshot cache while no write
    has committed (kundefaktura.pagecache); the outer page (menu, user, messages) is rendered each time."""
    partial = bool(request.htmx and request.htmx.target == "results")
    template = "workspace/_worklist_results.html" if partial else "workspace/_worklist_content.html"
    key = ("worklist", template, sorted(request.GET.lists()), translation.get_language(),
           timezone.localdate().isoformat(), request.user.pk if request.GET.get("mine") else None,
           is_company_admin(request.user))
    html = pagecache.cached_part(request, key, lambda extra: render_to_string(
        template, {**_worklist_context(request), "can_manage_company": is_company_admin(request.user), **extra}))
    if partial:
        return HttpResponse(html)
    return render(request, "workspace/worklist.html", {"content": html})


def _worklist_context(request) -> dict:
    form = WorklistFilterForm(request.GET or None)
    filters = form.filters()
    without_status, qs = selectors.basis_list(user=request.user, filters=filters)
    counts = selectors.status_counts(without_status)
    try:
        per_page = int(request.GET.get("per_page", 50))
    except ValueError:
        per_page = 50
    per_page = per_page if per_page in PAGE_SIZES else 50
    paginator = Paginator(qs.values_list("pk", flat=True), per_page)
    # The chips already counted every status: no second COUNT over the whole list.
    paginator.count = counts.get(filters.status, 0) if filters.status else sum(counts.values())
    page = paginator.get_page(request.GET.get("page"))
    page.object_list = selectors.worklist_page_rows(list(page.object_list))
    rows = worklist_rows(page.object_list)
    params = request.GET.copy()
    params.pop("page", None)
    sort_params = params.copy()
    sort_params.pop("sort", None)
    status_params = params.copy()
    status_params.pop("status", None)
    chips = [{"code": "", "label": _("Alle"), "count": sum(counts.values()), "active": not filters.status}]
    chips += [{"code": s.value, "label": s.label, "count": counts[s.value], "active": filters.status == s.value}
              for s in Status]
    columns = [("number", _("Nummer")), ("title", _("Tittel")), ("customer", _("Kunde")),
               ("status", _("Status")), ("valid_until", _("Tilbud gyldig til")), ("created", _("Opprettet"))]
    return {
        "form": form, "page": page, "paginator": paginator, "chips": chips, "filters": filters,
        "query": params.urlencode(), "sort_query": sort_params.urlencode(),
        "status_query": status_params.urlencode(), "columns": columns, "per_page": per_page,
        "page_sizes": PAGE_SIZES, "rows": rows,
    }


# --- basis: create, page, header form ---------------------------------------------------------------


def _customer_for(form, by):
    """The picked customer (with the case worker's edits of name, contact and address saved), or a new
    one from the form's new-customer fields (None if neither)."""
    if form.cleaned_data.get("customer"):
        customer = form.cleaned_data["customer"]
        if changes := form.customer_changes(customer):
            customer = services.customer_update(customer=customer, by=by, **changes)
        return customer
    if form.cleaned_data.get("new_customer_name"):
        fields = form.customer_fields()
        known = fields.get("erp_customer_number") and Customer.objects.filter(
            erp_customer_number=fields["erp_customer_number"]).first()
        return known or services.customer_create(by=by, **fields)
    return None


@caseworker_required
@require_http_methods(["GET", "POST"])
def basis_create(request):
    form = BasisForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():  # no orphan customer when the basis is refused
                customer = _customer_for(form, request.user)
                basis, _created = services.basis_create(by=request.user, title=form.cleaned_data["title"],
                                                        customer=customer, **form.basis_fields())
        except BillingError as exc:
            _apply_billing_error(form, exc)
            status = exc.status_code
        else:
            messages.success(request, _("Fakturagrunnlag %s er opprettet.") % basis.number)
            return redirect("billing:basis_detail", pk=basis.pk)
    elif request.method == "POST":
        status = 422
    picked = form["customer"].value()
    picked_customer = Customer.objects.filter(pk=picked).first() if str(picked or "").isdigit() else None
    return render(request, "workspace/basis_create.html", {"form": form, "picked_customer": picked_customer},
                  status=status)


def _line_rows(basis, lines, categories, vat_codes, *, edit_line=None, edit_form=None):
    rows = []
    for line in lines:
        row = {"line": line, "locked": line.invoice_id is not None,
               "accepted_offer": services.is_accepted_offer_line(line, basis),
               "external": line.source != CostLine.Source.MANUAL, "form": None}
        row["editable"] = (not row["locked"] and not row["accepted_offer"] and not row["external"]
                           and _lines_editable(basis))
        if edit_line is not None and line.pk == edit_line.pk:
            row["form"] = edit_form or LineForm(initial=LineForm.initial_for(line), categories=categories,
                                                vat_codes=vat_codes, prefix=f"l{line.pk}",
                                                form_id=f"line-form-{line.pk}")
        rows.append(row)
    return rows


def _lines_editable(basis) -> bool:
    return basis.status not in (Status.CANCELLED, Status.PAID)


def _actions(basis, invoices) -> dict:
    """What the case worker may do now. Each action is offered only when the guard its service runs
    (`services.*_refusals`) finds nothing against it; `refusals` holds the reasons for the others."""
    issued = [i for i in invoices if i.number is not None and i.kind != Invoice.Kind.CREDIT_NOTE]
    payable = [i for i in issued if i.outstanding > 0]
    creditable = [i for i in issued if not services.invoice_credit_refusals(i, credited=i.credited, basis=basis)]
    offer = services.current_offer(basis)
    refusals = {
        "send_offer": services.offer_send_refusals(basis),
        "accept": services.offer_accept_refusals(basis, offer),
        "invoice": services.invoices_issue_refusals(basis),
        "credit": [] if creditable else (issued and services.buyer_refusals(basis.customer)
                                         or [services.Refusal(_("Ingen utstedte fakturaer å kreditere."))]),
        "payment": [] if payable else [services.Refusal(_("Ingen fakturaer med utestående beløp."))],
        "cancel": services.status_refusals(basis, "cancel"),
    }
    return {
        **{action: not reasons for action, reasons in refusals.items()},
        "refusals": {action: [str(r) for r in reasons if str(r)] for action, reasons in refusals.items()},
        # What stops a sendable status from sending: shown beside the buttons.
        "offer_blockers": [str(r) for r in refusals["send_offer"] if r.code == "offer_not_ready"],
        # A buyer without postal address or org.nr. stops invoices and credit notes: said once, beside them.
        "buyer_blockers": list(dict.fromkeys(str(r) for action in ("invoice", "credit") for r in refusals[action]
                                             if r.code.startswith("buyer_"))),
        "offer_outdated": offer if basis.status == Status.OFFER_SENT and services.offer_outdated(offer, basis)
        else None,
        "settled_at": basis.settled_at,
        "payable": payable, "creditable": creditable,
    }


def _basis_context(request, basis, **extra) -> dict:
    lines = list(basis.lines.all())
    categories = list(CostCategory.objects.select_related("default_vat"))
    vat_codes = list(VatCode.objects.all())
    invoices = list(basis.invoices.all())
    context = {
        "basis": basis, "lines": lines, "totals": services.basis_totals(basis, lines),
        "line_rows": _line_rows(basis, lines, categories, vat_codes, edit_line=extra.pop("edit_line", None),
                                edit_form=extra.pop("edit_form", None)),
        "add_form": extra.pop("add_form", None) or LineForm(categories=categories, vat_codes=vat_codes,
                                                            prefix="new", initial={"unit": "stk"}),
        "lines_editable": _lines_editable(basis),
        "invoices": invoices, "actions": _actions(basis, invoices),
        "events": list(basis.events.all()), "related_cases": list(basis.related_cases.all()),
        "offers": list(basis.offers.all()), "participations": list(basis.shared_participations.all()),
        "emails_template": _emails_template(),
        "billing": _billing_summary(invoices), "overpayments": selectors.overpayment_attention(basis),
        "refunds": [p for i in invoices for p in i.payments.all() if p.direction == Payment.Direction.REFUND],
    }
    _mark_credited(context["line_rows"], invoices)
    context.update(extra)
    return context


def _billing_summary(invoices) -> dict | None:
    """Invoiced, credited, paid, refunded and what is still owed (selectors.amount_owed per invoice)."""
    issued = [i for i in invoices if i.number is not None]
    if not issued:
        return None
    charges = [i for i in issued if i.kind != Invoice.Kind.CREDIT_NOTE]
    payments = [p for i in charges for p in i.payments.all() if p.status == Payment.Status.CONFIRMED]
    refunds = [p for p in payments if p.direction == Payment.Direction.REFUND]
    return {
        "invoiced": sum((i.gross_total for i in charges), services.ZERO),
        "credited": sum((i.gross_total for i in issued if i.kind == Invoice.Kind.CREDIT_NOTE), services.ZERO),
        "paid": sum((p.amount for p in payments if p.direction == Payment.Direction.PAYMENT), services.ZERO),
        "refunded": sum((p.amount for p in refunds), services.ZERO),
        "owed": sum((selectors.amount_owed(i) for i in charges), services.ZERO),
    }


def _mark_credited(rows, invoices) -> None:
    """A cost line credited by an issued credit note is marked with that note's number."""
    credited: dict[int, list[int]] = {}
    for cn in invoices:
        if cn.kind == Invoice.Kind.CREDIT_NOTE and cn.number is not None:
            for ln in cn.lines.all():
                if ln.cost_line_id:
                    credited.setdefault(ln.cost_line_id, []).append(cn.number)
    for row in rows:
        row["credited_by"] = credited.get(row["line"].pk, [])


def _emails_template():
    try:
        get_template(EMAILS_TEMPLATE)
    except TemplateDoesNotExist:
        return None
    return EMAILS_TEMPLATE


def _basis_form_initial(basis) -> dict:
    return {"title": basis.title, "customer": basis.customer_id, "site_street": basis.site_street,
            "site_postal_code": basis.site_postal_code, "site_city": basis.site_city,
            "metering_point_id": basis.metering_point_id, "order_date": basis.order_date,
            "prepayment_required": basis.prepayment_required, **BasisForm.customer_initial(basis.customer)}


@caseworker_required
@require_http_methods(["GET", "POST"])
def basis_detail(request, pk):
    """The basis page; POST saves the header (customer, site, metering point, order date, prepayment)."""
    basis = _get_basis(pk)
    status = 200
    if request.method == "POST":
        form = BasisForm(request.POST)
        if form.is_valid():
            try:
                with transaction.atomic():
                    customer = _customer_for(form, request.user)
                    services.basis_update(basis=basis, by=request.user, title=form.cleaned_data["title"],
                                          customer=customer, **form.basis_fields())
            except BillingError as exc:
                _apply_billing_error(form, exc)
                status = exc.status_code
            else:
                messages.success(request, _("Grunnlaget er lagret."))
                return redirect("billing:basis_detail", pk=basis.pk)
        else:
            status = 422
        basis = _get_basis(pk)
    else:
        form = BasisForm(initial=_basis_form_initial(basis))
    context = _basis_context(request, basis, basis_form=form, picked_customer=basis.customer,
                             header_open=request.method == "POST")
    return render(request, "workspace/basis_detail.html", context, status=status)


def _get_basis(pk) -> InvoiceBasis:
    try:
        return selectors.basis_detail(pk)
    except InvoiceBasis.DoesNotExist:
        raise Http404 from None


# --- customer picker (htmx) ---------------------------------------------------------------------------


@caseworker_required
@require_GET
def customer_search(request):
    customers = selectors.customer_search(request.GET.get("customer_q", ""))
    return render(request, "workspace/_customer_results.html",
                  {"customers": customers, "q": request.GET.get("customer_q", "")})


@caseworker_required
@require_GET
def customer_pick(request, pk):
    customer = get_object_or_404(Customer, pk=pk) if pk else None
    form = BasisForm(initial={"customer": customer.pk if customer else None, **BasisForm.customer_initial(customer)})
    return render(request, "workspace/_customer_picker.html", {"form": form, "picked_customer": customer})


# --- cost lines, inline (htmx) ------------------------------------------------------------------------


def _lines_response(request, basis_pk, *, status=200, **extra):
    basis = _get_basis(basis_pk)
    context = _basis_context(request, basis, **extra)
    if not request.htmx:
        if status >= 400:
            return render(request, "workspace/basis_detail.html",
                          {**context, "basis_form": BasisForm(initial=_basis_form_initial(basis)),
                           "picked_customer": basis.customer}, status=status)
        return redirect("billing:basis_detail", pk=basis.pk)
    html = render_to_string("workspace/_lines.html", context, request=request)
    html += render_to_string("workspace/_totals.html", {**context, "oob": True}, request=request)
    html += render_to_string("workspace/_actions.html", {**context, "oob": True}, request=request)
    html += render_to_string("workspace/_timeline.html", {**context, "oob": True}, request=request)
    return HttpResponse(html, status=status)


@caseworker_required
@require_GET
def lines_section(request, pk):
    edit_pk = request.GET.get("edit")
    basis = _get_basis(pk)
    edit_line = next((ln for ln in basis.lines.all() if str(ln.pk) == edit_pk), None)
    context = _basis_context(request, basis, edit_line=edit_line)
    return render(request, "workspace/_lines.html", context)


@caseworker_required
@require_POST
def line_add(request, pk):
    basis = get_object_or_404(InvoiceBasis, pk=pk)
    form = LineForm(request.POST, prefix="new")
    if form.is_valid():
        try:
            services.line_add(basis=basis, by=request.user, **form.service_kwargs())
        except BillingError as exc:
            _apply_billing_error(form, exc)
            return _lines_response(request, pk, status=exc.status_code, add_form=form)
        return _lines_response(request, pk)
    return _lines_response(request, pk, status=422, add_form=form)


@caseworker_required
@require_http_methods(["GET", "POST"])
def line_edit(request, pk, line_pk):
    line = get_object_or_404(CostLine, pk=line_pk, basis_id=pk)
    if request.method == "GET":
        return _lines_response(request, pk, edit_line=line) if request.htmx else \
            redirect(reverse("billing:basis_detail", args=[pk]) + f"?edit={line.pk}#lines")
    if "cancel" in request.POST:
        return _lines_response(request, pk)
    form = LineForm(request.POST, prefix=f"l{line.pk}", form_id=f"line-form-{line.pk}")
    if form.is_valid():
        try:
            services.line_update(line=line, by=request.user, **{
                k: v for k, v in form.service_kwargs().items() if k != "vat_code" or v})
        except BillingError as exc:
            _apply_billing_error(form, exc)
            return _lines_response(request, pk, status=exc.status_code, edit_line=line, edit_form=form)
        return _lines_response(request, pk)
    return _lines_response(request, pk, status=422, edit_line=line, edit_form=form)


@caseworker_required
@require_POST
def line_delete(request, pk, line_pk):
    line = CostLine.objects.filter(pk=line_pk, basis_id=pk).first()
    if line is None:
        get_object_or_404(InvoiceBasis, pk=pk)
        return _lines_response(request, pk)  # already gone
    try:
        services.line_remove(line=line, by=request.user)
    except BillingError as exc:
        return _lines_response(request, pk, status=exc.status_code, line_error=exc.message)
    return _lines_response(request, pk)


# --- actions with a confirmation step -------------------------------------------------------------------

ACTION_FORMS = {
    "send_offer": SendOfferForm, "accept": AcceptForm, "invoice": IssueForm, "payment": PaymentForm,
    "cancel": CancelForm, "credit": CreditForm,
}
ACTION_TITLES = {
    "send_offer": _("Send tilbud"), "accept": _("Registrer aksept på kundens vegne"),
    "invoice": _("Utsted faktura"), "payment": _("Registrer manuell betaling"),
    "cancel": _("Kanseller grunnlaget"), "credit": _("Krediter faktura"),
}


def _action_form(action, data, actions):
    cls = ACTION_FORMS[action]
    if action == "payment":
        return cls(data, invoices=actions["payable"])
    if action == "credit":
        return cls(data, invoices=actions["creditable"])
    return cls(data)


def _perform(action, basis, form, request, actions) -> str:
    """Call the one service behind an action; returns the success message."""
    d, by = form.cleaned_data, request.user
    if action == "send_offer":
        offer = services.offer_send(basis=basis, by=by, valid_until=d.get("valid_until"))
        return _("Tilbud sendt (versjon %(v)s, gyldig til %(d)s).") % {
            "v": offer.version, "d": offer.valid_until.strftime("%d.%m.%Y")}
    if action == "accept":
        services.offer_accept(basis=basis, by=by, channel=d["channel"], note=d.get("note") or "")
        return _("Aksept registrert på kundens vegne.")
    if action == "invoice":
        invoices = services.invoices_issue(basis=basis, by=by, issue_date=d.get("issue_date"))
        return _("Utstedt: %s.") % ", ".join(f"{i.get_kind_display()} {i.number}" for i in invoices)
    if action == "payment":
        invoice = next(i for i in actions["payable"] if i.pk == d["invoice"])
        services.payment_register(invoice=invoice, by=by, amount=d["amount"], method="manual",
                                  note=d.get("note") or "")
        return _("Betaling registrert på faktura %s.") % invoice.number
    if action == "cancel":
        services.basis_cancel(basis=basis, by=by, reason=d.get("reason") or "")
        return _("Grunnlaget er kansellert.")
    if action == "credit":
        invoice = next(i for i in actions["creditable"] if i.pk == d["invoice"])
        kwargs = {}
        if d["mode"] == "amount":
            kwargs["amount"] = d["amount"]
        elif d["mode"] == "lines":
            kwargs["line_ids"] = d["lines"]
        credit = services.invoice_credit(invoice=invoice, by=by, reason=d.get("reason") or "", **kwargs)
        return _("Kreditnota %(c)s utstedt for faktura %(n)s.") % {"c": credit.number, "n": invoice.number}
    raise Http404


@caseworker_required
@require_http_methods(["GET", "POST"])
def basis_action(request, pk, action):
    if action not in ACTION_FORMS:
        raise Http404
    basis = _get_basis(pk)
    actions = _actions(basis, list(basis.invoices.all()))
    context = {"basis": basis, "action": action, "title": ACTION_TITLES[action], "actions": actions}
    if not actions[action]:
        if actions["refusals"][action]:
            reason = _("Handlingen «%(a)s» er ikke tilgjengelig: %(r)s") % {
                "a": ACTION_TITLES[action], "r": " ".join(actions["refusals"][action])}
        else:
            reason = _("Handlingen «%(a)s» er ikke tilgjengelig når status er «%(s)s».") % {
                "a": ACTION_TITLES[action], "s": basis.status_label}
        template = "workspace/_action_form.html" if request.htmx else "workspace/action_confirm.html"
        return render(request, template, {**context, "refused": reason}, status=409)
    form = _action_form(action, request.POST if request.method == "POST" else None, actions)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                message = _perform(action, basis, form, request, actions)
            except BillingError as exc:
                _apply_billing_error(form, exc)
                status = exc.status_code
            else:
                messages.success(request, message)
                if request.htmx:
                    return HttpResponseClientRedirect(_back_to(basis))
                return redirect("billing:basis_detail", pk=basis.pk)
        else:
            status = 422
    template = "workspace/_action_form.html" if request.htmx else "workspace/action_confirm.html"
    return render(request, template, {**context, "form": form}, status=status)


# --- shared costs --------------------------------------------------------------------------------------


@caseworker_required
@require_GET
def shared_list(request):
    return render(request, "workspace/shared_list.html", {"shared_costs": selectors.shared_cost_list()[:200]})


@caseworker_required
@require_http_methods(["GET", "POST"])
def shared_create(request):
    form = SharedCostForm(request.POST or None)
    line_form = SharedLineForm(request.POST or None, prefix="line")
    status = 200
    if request.method == "POST":
        wants_line = bool(request.POST.get("line-description") or request.POST.get("line-unit_price"))
        if form.is_valid() and (not wants_line or line_form.is_valid()):
            d = form.cleaned_data
            try:
                shared, _created = services.shared_cost_create(
                    by=request.user, description=d["description"], capacity=d["capacity"],
                    capacity_unit=d["capacity_unit"], allocation=d["allocation"],
                    expected_count=d.get("expected_count"), energised_on=d.get("energised_on"),
                    lines=[line_form.service_data()] if wants_line else None)
            except BillingError as exc:
                _apply_billing_error(form, exc)
                status = exc.status_code
            else:
                messages.success(request, _("Felles anlegg «%s» er opprettet.") % shared.description)
                return redirect("billing:shared_detail", pk=shared.pk)
        else:
            status = 422
    if not request.POST:
        line_form = SharedLineForm(prefix="line")
    return render(request, "workspace/shared_create.html", {"form": form, "line_form": line_form}, status=status)


def _shared_context(shared, **extra):
    participants = list(shared.participants.all())
    try:
        allocation = services.shared_cost_allocation(shared, participants)
    except ValueError as exc:
        allocation, extra["allocation_error"] = None, str(exc)
    rows = [{"participant": p, "share": allocation["shares"].get(p.pk, services.ZERO) if allocation else None}
            for p in participants]
    context = {"shared": shared, "lines": list(shared.lines.all()), "participants": participants,
               "rows": rows, "allocation": allocation, "refunds": list(shared.refunds.all()),
               "line_form": SharedLineForm(prefix="line"), "participant_form": ParticipantForm()}
    context.update(extra)
    return context


@caseworker_required
@require_GET
def shared_detail(request, pk):
    try:
        shared = selectors.shared_cost_detail(pk)
    except SharedCost.DoesNotExist:
        raise Http404 from None
    return render(request, "workspace/shared_detail.html", _shared_context(shared))


def _shared_error(request, pk, status, **extra):
    shared = selectors.shared_cost_detail(pk)
    return render(request, "workspace/shared_detail.html", _shared_context(shared, **extra), status=status)


@caseworker_required
@require_POST
def shared_line_add(request, pk):
    shared = get_object_or_404(SharedCost, pk=pk)
    form = SharedLineForm(request.POST, prefix="line")
    if not form.is_valid():
        return _shared_error(request, pk, 422, line_form=form)
    try:
        services.shared_cost_add_line(shared_cost=shared, by=request.user, **form.service_data())
    except BillingError as exc:
        _apply_billing_error(form, exc)
        return _shared_error(request, pk, exc.status_code, line_form=form)
    messages.success(request, _("Kostnadslinjen er lagt til; andelene er beregnet på nytt."))
    return redirect("billing:shared_detail", pk=pk)


@caseworker_required
@require_GET
def shared_basis_search(request, pk):
    shared = get_object_or_404(SharedCost, pk=pk)
    taken = shared.participants.values_list("basis_id", flat=True)
    q = request.GET.get("basis_q", "")
    bases = selectors.basis_search(q, exclude_ids=taken) if q.strip() else []
    return render(request, "workspace/_basis_results.html", {"bases": bases, "shared": shared, "q": q})


@caseworker_required
@require_POST
def shared_participant_add(request, pk):
    shared = get_object_or_404(SharedCost, pk=pk)
    form = ParticipantForm(request.POST)
    if not form.is_valid():
        return _shared_error(request, pk, 422, participant_form=form)
    basis = InvoiceBasis.objects.filter(pk=form.cleaned_data["basis"]).first()
    if basis is None:
        form.add_error(None, _("Velg et fakturagrunnlag."))
        return _shared_error(request, pk, 422, participant_form=form)
    try:
        services.shared_cost_add_participant(shared_cost=shared, basis=basis, by=request.user,
                                             capacity=form.cleaned_data["capacity"],
                                             connected_on=form.cleaned_data.get("connected_on"))
    except BillingError as exc:
        _apply_billing_error(form, exc)
        return _shared_error(request, pk, exc.status_code, participant_form=form)
    messages.success(request, _("%s er lagt til som deltaker.") % basis.number)
    return redirect("billing:shared_detail", pk=pk)


@caseworker_required
@require_POST
def shared_refund_issue(request, pk, refund_pk):
    refund = get_object_or_404(TenYearRefund.objects.select_related("credit_note"), pk=refund_pk,
                               shared_cost_id=pk)
    if refund.credit_note is None:
        raise Http404
    try:
        credit = services.credit_note_issue_draft(credit_note=refund.credit_note, by=request.user)
    except BillingError as exc:
        return _shared_error(request, pk, exc.status_code, refund_error=exc.message)
    messages.success(request, _("Kreditnota %s er utstedt.") % credit.number)
    return redirect("billing:shared_detail", pk=pk)


# --- bulk: send several offers ------------------------------------------------------------------------


@caseworker_required
@require_POST
def bulk_send_offers(request):
    ids = [int(x) for x in request.POST.getlist("ids") if x.isdigit()]
    try:
        job = services.bulk_offer_send_start(bases=ids, by=request.user)
    except BillingError as exc:
        messages.error(request, exc.message)
        return redirect("billing:worklist")
    return redirect("billing:bulk_detail", pk=job.pk)


@caseworker_required
@require_GET
def bulk_detail(request, pk):
    job = get_object_or_404(BulkJob, pk=pk)
    items = list(job.items.select_related("basis", "basis__customer"))
    done = sum(1 for i in items if i.status in ("done", "failed"))
    context = {"job": job, "items": items, "done": done, "finished": done >= len(items),
               "failed": sum(1 for i in items if i.status == "failed")}
    if request.htmx:
        # The finished partial has no hx-trigger, so swapping it in ends the polling.
        return render(request, "workspace/_bulk_progress.html", context)
    return render(request, "workspace/bulk_detail.html", context)


# --- company settings --------------------------------------------------------------------------------------


@company_admin_required
@require_http_methods(["GET", "POST"])
def company_settings(request):
    profile = CompanyProfile.objects.filter(pk=1).first()
    form = CompanyProfileForm(request.POST or None, request.FILES or None, instance=profile)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            services.company_profile_save(profile=form.save(commit=False), by=request.user)
            messages.success(request, _("Selskapsprofilen er lagret."))
            return redirect("billing:company_settings")
        status = 422
    history = AuditEvent.objects.filter(action="billing.company.updated").select_related("actor_user")[:50]
    return render(request, "workspace/company_settings.html", {"form": form, "history": history}, status=status)

