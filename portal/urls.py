from django.urls import path

from kundefaktura.accounts.roles import CUSTOMER
from offers.views import document_pdf_view

from .views import accessibility, account, bankid, bases, changes, invoices, language, webhooks

app_name = "portal"

urlpatterns = [
    path("", bases.home, name="home"),
    path("grunnlag/<int:pk>/", bases.basis_detail, name="basis"),
    path("grunnlag/<int:pk>/aksepter/", bases.offer_accept, name="accept"),
    path("grunnlag/<int:pk>/akseptert/", bases.offer_accepted, name="accepted"),
    path("grunnlag/<int:pk>/avslaa/", bases.offer_decline, name="decline"),
    path("tilbud/<int:pk>/pdf/", document_pdf_view("offer", CUSTOMER), name="offer_pdf"),
    path("fakturaer/", invoices.invoice_list, name="invoices"),
    path("fakturaer/<int:pk>/", invoices.invoice_detail, name="invoice"),
    path("fakturaer/<int:pk>/pdf/", document_pdf_view("invoice", CUSTOMER), name="invoice_pdf"),
    path("fakturaer/<int:pk>/betal/", invoices.invoice_pay, name="invoice_pay"),
    path("fakturaer/<int:pk>/betaling-fullfort/", invoices.payment_done, name="payment_done"),
    path("fakturaer/<int:pk>/betaling-avbrutt/", invoices.payment_cancelled, name="payment_cancelled"),
    path("betaling/<int:pk>/testbetaling/", invoices.local_checkout, name="local_checkout"),
    path("endring/", changes.change_list, name="change_notices"),
    path("endring/<int:pk>/", changes.change_detail, name="change_notice"),
    path("endring/<int:pk>/pdf/", document_pdf_view("change_notice", CUSTOMER), name="change_notice_pdf"),
    path("kvittering/<int:pk>/pdf/", document_pdf_view("receipt", CUSTOMER), name="receipt_pdf"),
    path("stripe/webhook/", webhooks.stripe_webhook, name="stripe_webhook"),
    path("innlogging/lenke/", account.login_link_request, name="login_link"),
    path("innlogging/lenke/<str:token>/", account.login_link_confirm, name="login_link_confirm"),
    path("passord/<uidb64>/<token>/", account.set_password, name="set_password"),
    path("passord/", account.password_change, name="password_change"),
    path("bankid/", bankid.bankid_settings, name="bankid"),
    path("bankid/logg-inn/", bankid.bankid_login, name="bankid_login"),
    path("bankid/koble-til/", bankid.bankid_connect, name="bankid_connect"),
    path("bankid/bekreft/", bankid.bankid_confirm, name="bankid_confirm"),
    path("bankid/koble-til/<uidb64>/<token>/", bankid.bankid_connect_by_link, name="bankid_connect_by_link"),
    path("bankid/callback/", bankid.bankid_callback, name="bankid_callback"),
    path("sprak/", language.language_set, name="language"),
    path("tilgjengelighet/", accessibility.accessibility_statement, name="accessibility"),
]
