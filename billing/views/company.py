"""The company's profile (name, org.nr., bank account, logo on the documents): company admins only."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from .. import services
from ..access import company_admin_required
from ..forms import CompanyProfileForm
from ..models import AuditEvent, CompanyProfile


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
