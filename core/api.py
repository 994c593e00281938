"""API plumbing shared by every app: pagination and the mapping of domain errors to responses."""

from __future__ import annotations

import copy
from typing import Any

from django.db import DatabaseError, DataError, InterfaceError, OperationalError
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.errors import DomainError
from core.replica import reading_replica

_FIELDS: dict[type, dict[str, serializers.Field]] = {}


class ModelSerializer(serializers.ModelSerializer):
    """DRF's ModelSerializer with the fields it derives from the model built once per class.

    DRF rebuilds them from the model on every instantiation (about half of a serializer's time: an
    intake's four answers spent ~1.7 of ~3.2 ms there). What it builds depends only on the class
    (Meta and the declared fields), never on the instance or the context, so each serializer gets a
    deep copy of the per-class result — the same copy DRF itself makes of declared fields every time.
    """

    def get_fields(self) -> dict[str, serializers.Field]:
        template = _FIELDS.get(type(self))
        if template is None:
            # Two threads may both build it the first time; either result is the same.
            template = _FIELDS[type(self)] = super().get_fields()
        return copy.deepcopy(template)


class BlankAsNullChoiceField(serializers.ChoiceField):
    """A choice not (yet) made is stored as "" (a gender not stated, the result of an open case); the API
    answers null for it, so the schema's enum plus null is the truth (never "" in an answer)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)

    def to_representation(self, value: Any) -> Any:
        if value in ("", None):
            return None
        return super().to_representation(value)


class Pagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    def get_page_size(self, request: Any) -> int | None:
        # DRF silently ignores a bad page_size; say so instead (found by the schemathesis fuzz test).
        # Above the maximum it is capped, as before (centers/tests/test_api.py relies on that).
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not (raw.isascii() and raw.isdigit()) or int(raw) < 1:
            raise ValidationError({self.page_size_query_param: [f"Use a whole number from 1 to {self.max_page_size}."]})
        return min(int(raw), self.max_page_size)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"]["minimum"] = 1
                parameter["description"] = f"Results per page, capped at {self.max_page_size}."
        return parameters


def page_of(item: type[serializers.Serializer], name: str) -> type[serializers.Serializer]:
    """The schema of a page `Pagination` answers for views that paginate by hand (APIView): count, next,
    previous and the page's items. `name` is the component's name in the schema."""
    fields: dict[str, Any] = {
        "count": serializers.IntegerField(),
        "next": serializers.URLField(allow_null=True),
        "previous": serializers.URLField(allow_null=True),
        "results": item(many=True),
    }
    return type(name, (serializers.Serializer,), fields)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, OperationalError | InterfaceError) and reading_replica():
        raise exc  # core.replica.replica_reads runs the view again on the primary
    if isinstance(exc, DomainError):
        return Response(exc.as_payload(), status=exc.status_code)
    if isinstance(exc, DataError):
        # A value the database cannot hold (out of range, malformed): the client's fault, nothing saved.
        return Response(
            {"detail": "A value in the request is out of range or malformed; nothing was saved.", "code": "invalid"},
            status=status.HTTP_400_BAD_REQUEST,
        )
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


_ERROR_SCHEMA = {
    "type": "object",
    "description": "`detail` is a sentence a person can read; `code` names domain errors; "
    "field errors map a field name to a list of messages.",
    "properties": {"detail": {"type": "string"}, "code": {"type": "string"}},
    "additionalProperties": True,
}
_ERROR_RESPONSES = {
    "400": "Invalid input: field errors or a domain error.",
    "401": "Not logged in or bad token.",
    "403": "The role or scope does not allow it.",
    "404": "Not found, or not visible to the caller.",
    "409": "Not allowed from the current state.",
    "429": "Too many requests or failed logins; see Retry-After.",
}


def document_error_responses(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """drf-spectacular hook: give every operation the error answers API.md promises, so clients and
    the schemathesis fuzz test can rely on the schema for 4xx too. New endpoints get them for free."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("Error", _ERROR_SCHEMA)
    ref = {"$ref": "#/components/schemas/Error"}
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            responses = operation.setdefault("responses", {})
            for code, description in _ERROR_RESPONSES.items():
                responses.setdefault(
                    code, {"description": description, "content": {"application/json": {"schema": ref}}}
                )
    return result
