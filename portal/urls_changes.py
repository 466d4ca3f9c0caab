from django.urls import path

from kundefaktura.accounts.roles import CUSTOMER
from offers.views import document_pdf_view

from . import views_changes as views

app_name = "portal_changes"

urlpatterns = [
    path("", views.change_list, name="list"),
    path("<int:pk>/", views.change_detail, name="detail"),
    path("<int:pk>/pdf/", document_pdf_view("change_notice", CUSTOMER), name="pdf"),
]
