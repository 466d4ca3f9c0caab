from django.urls import path

from . import views

app_name = "erp"

urlpatterns = [
    path("kunder/sok/", views.customer_search, name="customer_search"),
    path("eksport/", views.export_log, name="export_log"),
    path("eksport/kjor/", views.export_start, name="export_start"),
    path("eksport/fremdrift/", views.export_progress, name="export_progress"),
    path("eksport/<int:pk>/", views.export_detail, name="export_detail"),
    path("eksport/<int:pk>/lever-igjen/", views.export_redeliver, name="export_redeliver"),
    path("eksport/<int:pk>/csv/", views.export_download_csv, name="export_csv"),
    path("eksport/<int:pk>/ehf.zip", views.export_download_zip, name="export_zip"),
    path("eksport/<int:pk>/kvitteringer.zip", views.export_download_receipts, name="export_receipts"),
    path("eksport/<int:pk>/ehf/<str:name>", views.export_download_xml, name="export_xml"),
    path("bank/", views.bank_imports, name="bank_imports"),
    path("bank/<int:pk>/", views.bank_import_detail, name="bank_import_detail"),
    path("bank/<int:pk>/fil/", views.bank_import_download, name="bank_import_download"),
    path("bank/transaksjon/<int:pk>/behandlet/", views.bank_transaction_resolve, name="bank_transaction_resolve"),
]
