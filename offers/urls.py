from django.urls import path, register_converter

from . import views


class DocumentKind:
    regex = "offer|invoice|receipt"

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value


register_converter(DocumentKind, "dockind")

app_name = "offers"

urlpatterns = [
    path("dokument.css", views.document_css, name="css"),
    path("epost/<int:pk>/send-paa-nytt/", views.email_resend, name="email_resend"),
    path("grunnlag/<int:pk>/overslag/", views.basis_rough_preview, name="rough_preview"),
    path("<dockind:kind>/<int:pk>/", views.document_preview, name="preview"),
    path("<dockind:kind>/<int:pk>/pdf/", views.document_pdf, name="pdf"),
]
