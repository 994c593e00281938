"""API plumbing shared by every app: pagination and the mapping of domain errors to responses."""

from __future__ import annotations

from typing import Any

from django.db import DatabaseError, OperationalError
from rest_framework import status
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from centers.errors import DomainError


class Pagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DomainError):
        return Response(exc.as_payload(), status=exc.status_code)
    if isinstance(exc, OperationalError | DatabaseError) and not isinstance(exc, DomainError):
        return Response(
            {"detail": "The database is not reachable right now; nothing was saved. Try again.", "code": "unavailable"},
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
        )
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(response.data, dict) and "detail" in response.data:
        detail = response.data["detail"]
        code = getattr(detail, "code", None)
        if code and "code" not in response.data:
            response.data["code"] = code
    return response
