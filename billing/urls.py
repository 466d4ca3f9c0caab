from django.urls import path

from . import views

app_name = "billing"

urlpatterns = [
    path("", views.worklist, name="worklist"),
    path("grunnlag/ny/", views.basis_create, name="basis_create"),
    path("grunnlag/<int:pk>/", views.basis_detail, name="basis_detail"),
    path("grunnlag/<int:pk>/linjer/", views.lines_section, name="lines"),
    path("grunnlag/<int:pk>/linjer/ny/", views.line_add, name="line_add"),
    path("grunnlag/<int:pk>/linjer/<int:line_pk>/", views.line_edit, name="line_edit"),
    path("grunnlag/<int:pk>/linjer/<int:line_pk>/slett/", views.line_delete, name="line_delete"),
    path("grunnlag/<int:pk>/handling/<slug:action>/", views.basis_action, name="basis_action"),
    path("kunder/sok/", views.customer_search, name="customer_search"),
    path("kunder/<int:pk>/velg/", views.customer_pick, name="customer_pick"),
    path("felles/", views.shared_list, name="shared_list"),
    path("felles/ny/", views.shared_create, name="shared_create"),
    path("felles/<int:pk>/", views.shared_detail, name="shared_detail"),
    path("felles/<int:pk>/linjer/", views.shared_line_add, name="shared_line_add"),
    path("felles/<int:pk>/grunnlag/", views.shared_basis_search, name="shared_basis_search"),
    path("felles/<int:pk>/deltakere/", views.shared_participant_add, name="shared_participant_add"),
    path("felles/<int:pk>/tilbakebetaling/<int:refund_pk>/utsted/", views.shared_refund_issue,
         name="shared_refund_issue"),
    path("masse/send-tilbud/", views.bulk_send_offers, name="bulk_send_offers"),
    path("masse/<int:pk>/", views.bulk_detail, name="bulk_detail"),
    path("innstillinger/", views.company_settings, name="company_settings"),
]
