"""URLs of the benchmark run: the site's own URLs plus a trivial view, the baseline of every page figure."""

from django.http import HttpResponse
from django.urls import include, path


def noop(request):
    """The least a Django request can cost here: middleware, URL resolving and a small response."""
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [
    path("bench/noop/", noop, name="bench-noop"),
    path("", include("config.urls")),
]
