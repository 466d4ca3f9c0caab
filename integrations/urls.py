from django.urls import path

from . import views

app_name = "integrations"

urlpatterns = [
    path("installator/", views.installer_home, name="installer_home"),
    path("installator/saker/<int:pk>/", views.installer_case, name="installer_case"),
    path("installator/lenke/<str:token>/", views.installer_link, name="installer_link"),
    path("integrasjoner/varsler/", views.notification_log, name="notification_log"),
    path("integrasjoner/saker/", views.related_cases, name="related_cases"),
]
