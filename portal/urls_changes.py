from django.urls import path

from . import views_changes as views

app_name = "portal_changes"

urlpatterns = [
    path("", views.change_list, name="list"),
    path("<int:pk>/", views.change_detail, name="detail"),
    path("<int:pk>/pdf/", views.change_pdf, name="pdf"),
]
