"""Mounted at /api/v1/ by kundefaktura/urls.py. Unknown API paths answer in the API's error shape."""

from django.http import JsonResponse
from django.urls import path, re_path

from .api import api, error_body


def not_found(request, rest=""):
    return JsonResponse(error_body("not_found", "Ukjent API-adresse."), status=404)


not_found.public = True  # answers nothing but a 404

urlpatterns = [
    path("", api.urls),
    re_path(r"^(?P<rest>.*)$", not_found),
]
