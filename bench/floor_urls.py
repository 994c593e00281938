"""The product's URLs plus one bare view, for the floor's comparison in bench_pages (never served)."""

from django.http import HttpRequest, HttpResponse
from django.urls import include, path


def bare(request: HttpRequest) -> HttpResponse:
    """What a Django view costs with nothing of the product: the full middleware stack, the session read."""
    request.session.get("_auth_user_id")
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [
    path("bench/bare/", bare),
    path("", include("config.urls")),
]
