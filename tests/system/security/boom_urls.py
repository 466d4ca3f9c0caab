"""The real URLs plus two views that fail, to see the error pages as a user does."""

from django.urls import path

from kundefaktura.urls import handler400, handler500, public  # noqa: F401
from kundefaktura.urls import urlpatterns as real


@public
def boom(request):
    raise RuntimeError("boom")


urlpatterns = [path("__boom__/", boom), path("api/__boom__/", boom), *real]
