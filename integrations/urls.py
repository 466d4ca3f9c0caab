from django.urls import path

from . import views

app_name = "integrations"

urlpatterns = [
    path("installator/", views.installer_home, name="installer_home"),
]
