"""Mounted at /api/v1/ by kundefaktura/urls.py."""

from django.urls import path

from .api import api

urlpatterns = [path("", api.urls)]
