"""Document views: preview (HTML) and PDF download of offers and invoices, and e-mail resend.
Thin: parse, call a selector or service, render."""

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kundefaktura.accounts.roles import CASEWORKER, CUSTOMER, caseworker_required, role_required

from . import selectors, services
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
    services.email_resend(email=email, by=request.user)
    messages.success(request, _("E-posten til %(to)s er lagt i kø for sending på nytt.") % {"to": email.to})
    return redirect(_next_url(request))


@role_required(CASEWORKER, CUSTOMER)
def document_preview(request, kind, pk):
    """The document as HTML (the same template the PDF is made from)."""
    from . import renderers

    doc = selectors.document_for_user(request.user, kind, pk)
    html = renderers.document_html(kind, doc, preview=True)
    return HttpResponse(html)


@caseworker_required
def basis_rough_preview(request, pk):
    """What the offer letter would say now, before it is sent — labelled "grovt overslag"."""
    from billing.models import InvoiceBasis

    from . import renderers

    basis = get_object_or_404(InvoiceBasis.objects.select_related("customer"), pk=pk)
    html = renderers.get_renderer().html(renderers.TEMPLATES["offer"], renderers.rough_estimate_context(basis),
                                         preview=True)
    return HttpResponse(html)


@role_required(CASEWORKER, CUSTOMER)
def document_pdf(request, kind, pk):
    """The stored PDF (rendered and stored first if it does not exist yet)."""
    from . import renderers

    doc = selectors.document_for_user(request.user, kind, pk)
    filename, content = renderers.document_pdf_bytes(kind, doc.pk)
    response = HttpResponse(content, content_type="application/pdf")
    disposition = "attachment" if request.GET.get("download") else "inline"
    response["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


def document_css(request):
    """The documents' stylesheet for the on-screen preview (the PDF inlines it). No data: public."""
    from . import renderers

    response = HttpResponse(renderers.document_css(), content_type="text/css; charset=utf-8")
    response["Cache-Control"] = "public, max-age=3600"
    return response


document_css.public = True
