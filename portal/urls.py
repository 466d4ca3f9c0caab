from django.urls import path

from kundefaktura.accounts.roles import CUSTOMER
from offers.views import document_pdf_view

from . import views

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("grunnlag/<int:pk>/", views.basis_detail, name="basis"),
    path("grunnlag/<int:pk>/aksepter/", views.offer_accept, name="accept"),
    path("grunnlag/<int:pk>/akseptert/", views.offer_accepted, name="accepted"),
    path("grunnlag/<int:pk>/avslaa/", views.offer_decline, name="decline"),
    path("tilbud/<int:pk>/pdf/", document_pdf_view("offer", CUSTOMER), name="offer_pdf"),
    path("fakturaer/", views.invoice_list, name="invoices"),
    path("fakturaer/<int:pk>/", views.invoice_detail, name="invoice"),
    path("fakturaer/<int:pk>/pdf/", document_pdf_view("invoice", CUSTOMER), name="invoice_pdf"),
    path("fakturaer/<int:pk>/betal/", views.invoice_pay, name="invoice_pay"),
    path("fakturaer/<int:pk>/betaling-fullfort/", views.payment_done, name="payment_done"),
    path("fakturaer/<int:pk>/betaling-avbrutt/", views.payment_cancelled, name="payment_cancelled"),
    path("betaling/<int:pk>/testbetaling/", views.local_checkout, name="local_checkout"),
    path("stripe/webhook/", views.stripe_webhook, name="stripe_webhook"),
    path("innlogging/lenke/", views.login_link_request, name="login_link"),
    path("innlogging/lenke/<str:token>/", views.login_link_confirm, name="login_link_confirm"),
    path("passord/<uidb64>/<token>/", views.set_password, name="set_password"),
    path("passord/", views.password_change, name="password_change"),
    path("tilgjengelighet/", views.accessibility_statement, name="accessibility"),
]
