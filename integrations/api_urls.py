"""Mounted at /api/v1/ by kundefaktura/urls.py. Unknown API paths answer in the API's error shape."""

from pathlib import Path

import ninja
from django.http import FileResponse, Http404, JsonResponse
from django.urls import path, re_path

from kundefaktura.errorpages import error_body

from .api import api


def not_found(request, rest=""):
    return JsonResponse(error_body("not_found", "Ukjent API-adresse."), status=404)


DOCS_ASSETS = {"swagger-ui.css": "text/css", "swagger-ui-bundle.js": "text/javascript",
               "swagger-ui-init.js": "text/javascript"}


def docs_asset(request, name):
    """The Swagger UI files shipped inside django-ninja (the docs page must not load from a CDN)."""
    if name not in DOCS_ASSETS:
        raise Http404
    path_ = Path(ninja.__file__).parent / "static" / "ninja" / name
    response = FileResponse(path_.open("rb"), content_type=DOCS_ASSETS[name])
    response["Cache-Control"] = "public, max-age=86400"
    return response


docs_asset.public = True

api_urls = api.urls  # built once: the property makes new view functions on every access
for pattern in api_urls[0]:
    # No session role: every operation authenticates its bearer token itself (docs/schema are open).
    pattern.callback.public = True
not_found.public = True

urlpatterns = [
    path("docs-assets/<str:name>", docs_asset, name="api_docs_asset"),
    path("", api_urls),
    re_path(r"^(?P<rest>.*)$", not_found),
]
