"""Request guards shared by every page and endpoint."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse

logger = logging.getLogger(__name__)


class RejectNulBytesMiddleware:
    """PostgreSQL text cannot hold NUL; a query or form value with one would reach the database
    as a DataError (a 500). Refuse it up front with a 400 instead."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if self._has_nul(request):
            message = "Request parameters must not contain NUL characters."
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": message, "code": "invalid"}, status=400)
            return HttpResponseBadRequest(message)
        return self.get_response(request)

    @staticmethod
    def _has_nul(request: HttpRequest) -> bool:
        if "\x00" in request.path:
            return True
        for key, values in request.GET.lists():
            if "\x00" in key or any("\x00" in v for v in values):
                return True
        if request.method == "POST" and request.content_type in (
            "application/x-www-form-urlencoded",
            "multipart/form-data",
        ):
            for key, values in request.POST.lists():
                if "\x00" in key or any("\x00" in v for v in values):
                    return True
        return False


class DatabaseUnavailableMiddleware:
    """A lost database connection (restart, failover, a killed backend) answers 503 with a clear message,
    never a 500: JSON with `detail` under /api/, a plain error page elsewhere. The transaction that was
    running is rolled back by PostgreSQL, so nothing is half-saved; the next request reconnects."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        from django.db import InterfaceError, OperationalError
        from django.template.loader import render_to_string
        from django.utils.translation import gettext as _

        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        logger.warning("database unavailable during %s %s", request.method, request.path, exc_info=exception)
        message = _("The database is not reachable right now; nothing was saved. Try again in a moment.")
        if request.path.startswith("/api/"):
            response: HttpResponse = JsonResponse({"detail": message, "code": "unavailable"}, status=503)
        else:
            # No context processors: they may query the database that just failed.
            response = HttpResponse(render_to_string("503.html", {"message": message}), status=503)
        response["Retry-After"] = "5"
        return response


class ApiNotFoundJsonMiddleware:
    """Every 404 under /api/ answers JSON `{"detail", "code"}` like the API's other errors (API.md).

    DRF already answers JSON for the views it serves; an unmatched URL gets Django's HTML page instead,
    and with DEBUG on (the demo of `make run`) Django renders its technical page without calling
    handler404 at all. Here, just outside CommonMiddleware, every such page is seen after
    CommonMiddleware has had its chance to redirect to the URL with a trailing slash.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        from django.utils.translation import gettext as _

        response = self.get_response(request)
        if (
            response.status_code == 404
            and request.path.startswith("/api/")
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            return JsonResponse({"detail": _("Not found."), "code": "not_found"}, status=404)
        return response
