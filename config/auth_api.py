"""Token login for API clients; failed attempts count toward the django-axes lockout."""

from __future__ import annotations

from typing import Any

from axes.handlers.proxy import AxesProxyHandler
from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=256, trim_whitespace=False, style={"input_type": "password"})


class ObtainToken(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []
    throttle_scope = "login"

    @extend_schema(
        request=TokenRequestSerializer,
        responses={200: inline_serializer("TokenResponse", {"token": serializers.CharField()})},
    )
    def post(self, request: Request) -> Response:
        serializer = TokenRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        credentials = {"username": serializer.validated_data["username"]}
        django_request = request._request
        if AxesProxyHandler.is_locked(django_request, credentials=credentials):
            return Response(
                {"detail": "Too many failed logins; this account is locked for a while.", "code": "locked"},
                status=status.HTTP_429_TOO_MANY_REQUESTS,
            )
        user = authenticate(
            django_request, username=credentials["username"], password=serializer.validated_data["password"]
        )
        if user is None:
            if AxesProxyHandler.is_locked(django_request, credentials=credentials):
                return Response(
                    {"detail": "Too many failed logins; this account is locked for a while.", "code": "locked"},
                    status=status.HTTP_429_TOO_MANY_REQUESTS,
                )
            return Response(
                {"non_field_errors": ["Unable to log in with the given username and password."]},
                status=status.HTTP_400_BAD_REQUEST,
            )
        if not user.is_active:
            return Response({"non_field_errors": ["This account is disabled."]}, status=status.HTTP_400_BAD_REQUEST)
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})
