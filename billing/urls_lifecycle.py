from django.urls import path

from . import views_lifecycle as views

app_name = "lifecycle"

urlpatterns = [
    path("grunnlag/<int:pk>/endringer/", views.changes, name="changes"),
    path("grunnlag/<int:pk>/sluttoppgjor/", views.settlement, name="settlement"),
    path("forfalte/", views.overdue, name="overdue"),
    path("tilbakebetalinger/", views.refunds, name="refunds"),
    path("tilbakebetalinger/<int:pk>/utbetalt/", views.refund_paid_out, name="refund_paid_out"),
    path("utlopte-tilbud/", views.expired, name="expired"),
    path("utlopte-tilbud/<int:pk>/forny/", views.renew, name="renew"),
]
