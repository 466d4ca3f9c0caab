"""Document views: the HTML preview and the PDF of every document kind (`offers/documents.py`), and
e-mail resend. Thin: parse, call a selector or service, render.

One PDF view serves every document link, here (`offers:pdf`, case workers and customers) and on the
other apps' pages (`document_pdf_view`: the portal's offer, invoice and change-notice links for
customers, the case worker's change-notice link); `selectors.document_for_user` decides who sees what."""

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kundefaktura.accounts.roles import CASEWORKER, CUSTOMER, caseworker_required, role_required

from . import documents, outbox, renderers, selectors
from .models import OutboundEmail


def _next_url(request, fallback="home"):
    url = request.POST.get("next") or request.META.get("HTTP_REFERER", "")
    if url and url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()},
                                               require_https=request.is_secure()):
        return url
    return fallback


@require_POST
@caseworker_required
def email_resend(request, pk):
    email = get_object_or_404(OutboundEmail, pk=pk)
    outbox.email_resend(email=email, by=request.user)
    messages.success(request, _("E-posten til %(to)s er lagt i kø for sending på nytt.") % {"to": email.to})
    return redirect(_next_url(request))


@role_required(CASEWORKER, CUSTOMER)
def document_preview(request, kind, pk):
    """The document as HTML (the same template the PDF is made from)."""
    doc = selectors.document_for_user(request.user, kind, pk)
    return HttpResponse(documents.document_html(kind, doc, preview=True))


@caseworker_required
def basis_rough_preview(request, pk):
    """What the offer letter would say now, before it is sent — labelled "grovt overslag"."""
    return document_preview(request, "rough_estimate", pk)


def _pdf_response(request, kind, pk, *, role=None):
    """The stored PDF (rendered and stored first if it does not exist yet)."""
    doc = selectors.document_for_user(request.user, kind, pk, role=role)
    filename, content = documents.document_pdf_bytes(kind, doc.pk)
    response = HttpResponse(content, content_type="application/pdf")
    disposition = "attachment" if request.GET.get("download") else "inline"
    response["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


@role_required(CASEWORKER, CUSTOMER)
def document_pdf(request, kind, pk):
    return _pdf_response(request, kind, pk)


def document_pdf_view(kind: str, role: str):
    """The PDF view for one kind of document linked from one role's pages (`/portal/tilbud/<pk>/pdf/`
    and the like): open to that role only, and the document seen through that role."""

    @role_required(role)
    def view(request, pk):
        return _pdf_response(request, kind, pk, role=role)

    view.__name__ = view.__qualname__ = f"{kind}_pdf_for_{role}"
    return view


def document_css(request):
    """The documents' stylesheet for the on-screen preview (the PDF inlines it). No data: public."""
    response = HttpResponse(renderers.document_css(), content_type="text/css; charset=utf-8")
    response["Cache-Control"] = "public, max-age=3600"
    return response


document_css.public = True
