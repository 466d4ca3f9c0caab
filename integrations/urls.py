from django.urls import path

from . import views

app_name = "integrations"

urlpatterns = [
    path("installator/", views.installer_home, name="installer_home"),
    path("installator/saker/<int:pk>/", views.installer_case, name="installer_case"),
    path("installator/lenke/<str:token>/", views.installer_link, name="installer_link"),
    path("integrasjoner/varsler/", views.notification_log, name="notification_log"),
    path("integrasjoner/saker/", views.related_cases, name="related_cases"),
    path("integrasjoner/grunnlag/<int:pk>/saker/", views.basis_cases, name="basis_cases"),
    path("integrasjoner/grunnlag/<int:pk>/saker/fjern/", views.basis_case_unlink, name="basis_case_unlink"),
    path("integrasjoner/installatorer/sok/", views.installer_search, name="installer_search"),
]
