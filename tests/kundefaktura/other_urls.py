"""A second URL configuration for tests/kundefaktura/test_addresses.py: the billing pages under another path."""

from django.urls import include, path

urlpatterns = [path("annen/", include("billing.urls"))]
