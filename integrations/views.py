"""Pages: the installer's own cases (login or signed link), the notification delivery log, and the case
worker's related cases and installers of a basis."""

from urllib.parse import urlencode, urlsplit

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from billing import services as billing
from billing.errors import BillingError
from billing.models import AuditEvent, InvoiceBasis
from kundefaktura.accounts.roles import caseworker_required, installer_required

from . import selectors, services
from .forms import CaseLinkForm
from .models import Installer, Notification, RelatedCase


def _case_context(case, *, via_link=False):
    basis = case.basis
    show_amounts = selectors.installer_sees_amounts()
    totals = billing.basis_totals(basis) if show_amounts else None
    return {"case": case, "basis": basis, "timeline": selectors.case_timeline(basis),
            "show_amounts": show_amounts, "totals": totals, "via_link": via_link}


@installer_required
def installer_home(request):
    cases = list(selectors.installer_cases(request.user))
    return render(request, "installer/home.html", {"cases": cases})


@installer_required
def installer_case(request, pk):
    case = selectors.installer_case(request.user, pk)
    if case is None:
        raise Http404
    return render(request, "installer/case.html", _case_context(case))


@never_cache
def installer_link(request, token):
    """Read-only view of one case through the signed, expiring link sent with the notifications."""
    case = services.installer_link_case(token)
    if case is None:
        return render(request, "installer/link_invalid.html", status=404)
    response = render(request, "installer/case.html", _case_context(case, via_link=True))
    response["X-Robots-Tag"] = "noindex"
    response["Referrer-Policy"] = "no-referrer"
    return response


installer_link.public = True


@caseworker_required
def notification_log(request):
    status = request.GET.get("status") or ""
    page = Paginator(selectors.notification_log(status=status), 50).get_page(request.GET.get("side"))
    return render(request, "integrations/notification_log.html",
                  {"page": page, "status": status, "statuses": Notification.Status.choices})


@caseworker_required
def related_cases(request):
    q = (request.GET.get("q") or "").strip()[:100]
    page = Paginator(selectors.related_case_list(q=q), 50).get_page(request.GET.get("side"))
    return render(request, "integrations/related_cases.html", {"page": page, "q": q, "query": urlencode({"q": q})})


# --- related cases and installers on the case worker's basis page -----------------------------------


# The basis page holds other forms (its header form has a "title" too): this form's ids are its own.
AUTO_ID = "rc_%s"


def _basis_or_404(pk) -> InvoiceBasis:
    basis = selectors.basis_get(pk)
    if basis is None:
        raise Http404
    return basis


def _installer_choices(cases, form) -> tuple[list, int | None, str]:
    """The installers offered as radio buttons: the search hits for what was typed, else the installers
    already on this basis; the chosen one is always among them."""
    if form.is_bound:
        q = (form.data.get("installer_q") or "").strip()
        raw = (form.data.get("installer") or "").strip()
    else:
        q = (form.initial.get("installer_q") or "").strip()
        raw = str(form.initial.get("installer") or "")
    selected = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 12 else None
    hits = selectors.installer_search(q) if q else []
    if not q:
        seen = set()
        for case in cases:
            if case.installer and case.installer_id not in seen:
                seen.add(case.installer_id)
                hits.append(case.installer)
    if selected and all(inst.pk != selected for inst in hits):
        chosen = Installer.objects.filter(pk=selected).first()
        hits = [chosen, *hits] if chosen else hits
    return hits, selected, q


def _case_form_initial(case: RelatedCase | None) -> dict:
    if case is None:
        return {}
    return {"source": case.source, "external_id": case.external_id, "title": case.title,
            "installer": case.installer_id or ""}


def _cases_response(request, basis, *, form=None, status=200, message="", editing=None, changed=False):
    cases = selectors.basis_related_cases(basis)
    form = form or CaseLinkForm(initial=_case_form_initial(editing), auto_id=AUTO_ID)
    hits, selected, q = _installer_choices(cases, form)
    context = {
        "basis": basis, "cases": [(c, services.installer_link_url(c)) for c in cases], "form": form,
        "hits": hits, "selected": selected, "installer_q": q, "message": message, "editing": editing,
        "show_new_installer": form.is_bound and form.has_new_installer_input(),
        "open": bool(editing or form.is_bound or not request.htmx),  # on its own page the form is the point
    }
    if request.htmx:
        html = render_to_string("integrations/_basis_cases_panel.html", context, request=request)
        if changed and _on_basis_page(request, basis):  # the basis page's Historikk shows the event just written
            events = list(AuditEvent.objects.filter(basis=basis).select_related("actor_user").order_by("-at", "-id"))
            html += render_to_string("workspace/_timeline.html", {"events": events, "oob": True}, request=request)
        return HttpResponse(html, status=status)
    return render(request, "integrations/basis_cases.html", {**context, "full_page": True}, status=status)


def _on_basis_page(request, basis) -> bool:
    current = urlsplit(request.htmx.current_url or "").path
    return current == reverse("billing:basis_detail", args=[basis.pk])


def _apply_error(form, exc: BillingError) -> None:
    placed = False
    for name in exc.fields:
        target = {"installer.name": "new_installer_name", "installer.orgnr": "new_installer_orgnr",
                  "installer.email": "new_installer_email", "installer.phone": "new_installer_phone",
                  "installer": "installer_q"}.get(name, name)
        if target in form.fields and target not in form.errors:
            form.add_error(target, exc.message)
            placed = True
    if not placed:
        form.add_error(None, exc.message)


@caseworker_required
@require_http_methods(["GET", "POST"])
def basis_cases(request, pk):
    """The related cases of a basis and their installers: list, link (with an installer found by search or
    created here), change. The basis page loads it as a panel (htmx); without JavaScript it is a page."""
    basis = _basis_or_404(pk)
    if request.method == "GET":
        editing = None
        if request.GET.get("endre"):
            editing = RelatedCase.objects.select_related("installer").filter(
                pk=_int_or_none(request.GET["endre"]), basis_id=basis.pk).first()
        return _cases_response(request, basis, editing=editing)
    editing = None
    if request.POST.get("endre"):  # changing one case: its source and case number stay
        editing = RelatedCase.objects.select_related("installer").filter(
            pk=_int_or_none(request.POST["endre"]), basis_id=basis.pk).first()
        if editing is None:
            return _cases_response(request, basis, message=_("Saken er fjernet fra grunnlaget i mellomtiden."))
    if request.POST.get("do") == "search":  # the search button without JavaScript: show hits, save nothing
        return _cases_response(request, basis, form=CaseLinkForm(initial=request.POST.dict(), auto_id=AUTO_ID),
                               editing=editing)
    data = request.POST.copy()
    if editing is not None:
        data["source"], data["external_id"] = editing.source, editing.external_id
    form = CaseLinkForm(data, auto_id=AUTO_ID)
    if not form.is_valid():
        return _cases_response(request, basis, form=form, status=422, editing=editing)
    try:
        case, created = services.related_case_link(basis=basis, by=request.user, **form.service_kwargs())
    except BillingError as exc:
        _apply_error(form, exc)
        return _cases_response(request, basis, form=form, status=exc.status_code, editing=editing)
    label = f"{case.get_source_display()} {case.external_id}"
    if created:
        message = _("%(case)s er knyttet til grunnlaget.") % {"case": label}
    else:
        message = _("%(case)s er oppdatert.") % {"case": label}
    if case.installer:
        message += " " + _("Installatør: %(name)s.") % {"name": case.installer.name}
    if not request.htmx:
        messages.success(request, message)
        return redirect(reverse("billing:basis_detail", args=[basis.pk]) + "#related-cases")
    return _cases_response(request, basis, message=message, changed=True)


@caseworker_required
@require_POST
def basis_case_unlink(request, pk):
    basis = _basis_or_404(pk)
    case = RelatedCase.objects.filter(pk=_int_or_none(request.POST.get("case")), basis_id=basis.pk).first()
    label = f"{case.get_source_display()} {case.external_id}" if case else ""
    removed = services.related_case_unlink(basis=basis, by=request.user, case_id=case.pk) if case else False
    message = (_("%(case)s er fjernet fra grunnlaget.") % {"case": label} if removed
               else _("Saken var allerede fjernet."))
    if not request.htmx:
        messages.success(request, message)
        return redirect(reverse("billing:basis_detail", args=[basis.pk]) + "#related-cases")
    return _cases_response(request, basis, message=message, changed=removed)


@caseworker_required
@require_GET
def installer_search(request):
    q = (request.GET.get("installer_q") or "").strip()[:100]
    selected = _int_or_none(request.GET.get("installer"))
    return render(request, "integrations/_installer_hits.html",
                  {"hits": selectors.installer_search(q), "installer_q": q, "selected": selected, "searched": True})


def _int_or_none(value) -> int | None:
    value = (value or "").strip()
    return int(value) if value.isascii() and value.isdigit() and len(value) < 12 else None
