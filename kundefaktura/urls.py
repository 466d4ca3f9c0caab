from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import TemplateView

from billing import urls as billing_urls
from offers.views import document_pdf_view

from .accounts import views as account_views
from .accounts.roles import CASEWORKER
from .health import healthz
from .metrics import metrics_view

handler400 = "kundefaktura.errorpages.bad_request"
handler500 = "kundefaktura.errorpages.server_error"

admin.site.site_header = "Kundefaktura – administrasjon"
admin.site.site_title = "Kundefaktura"



def public(view):
    """Mark a view as open to anyone (tests/system/security walks the URLs; every view needs a marker)."""
    view.public = True
    return view


urlpatterns = [
    path("", account_views.home, name="home"),
    path("login/", public(account_views.LoginView.as_view()), name="login"),
    path("logout/", public(auth_views.LogoutView.as_view()), name="logout"),
    path("ingen-rolle/", public(TemplateView.as_view(template_name="registration/no_role.html")), name="no_role"),
    path("healthz", healthz, name="healthz"),
    path("metrics", public(metrics_view), name="metrics"),  # METRICS_TOKEN as bearer, else 404
    path("admin/", admin.site.urls),
    # The case worker's workspace, with the change-notice PDF from the documents app.
    path("arbeid/", include((billing_urls.urlpatterns + [
        path("livslop/endringsvarsel/<int:pk>/pdf/", document_pdf_view("change_notice", CASEWORKER),
             name="change_notice_pdf"),
    ], billing_urls.app_name))),
    path("dokumenter/", include("offers.urls")),
    path("portal/", include("portal.urls")),
    path("erp/", include("integrations.erp.urls")),
    path("", include("integrations.urls")),
    path("api/v1/", include("integrations.api_urls")),
]
