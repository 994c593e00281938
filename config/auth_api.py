"""Token login for API clients; failed attempts count toward the django-axes lockout."""

from __future__ import annotations

from typing import Any

from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from centers.middleware import LOCKOUT_DETAIL


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=256, trim_whitespace=False, style={"input_type": "password"})
    otp_token = serializers.RegexField(
        r"^\d{6}$",
        required=False,
        help_text="The 6-digit authenticator code; required for accounts with two-step login on.",
    )


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
                {"detail": LOCKOUT_DETAIL, "code": "locked"},
                status=status.HTTP_429_TOO_MANY_REQUESTS,
                headers={"Retry-After": str(int(settings.AXES_COOLOFF_TIME.total_seconds()))},
            )
        user = authenticate(
            django_request, username=credentials["username"], password=serializer.validated_data["password"]
        )
        if user is None:
            if AxesProxyHandler.is_locked(django_request, credentials=credentials):
                return Response(
                    {"detail": LOCKOUT_DETAIL, "code": "locked"},
                    status=status.HTTP_429_TOO_MANY_REQUESTS,
                    headers={"Retry-After": str(int(settings.AXES_COOLOFF_TIME.total_seconds()))},
                )
            return Response(
                {"non_field_errors": ["Unable to log in with the given username and password."]},
                status=status.HTTP_400_BAD_REQUEST,
            )
        if not user.is_active:
            return Response({"non_field_errors": ["This account is disabled."]}, status=status.HTTP_400_BAD_REQUEST)
        otp_error = _second_factor_error(user, serializer.validated_data.get("otp_token"))
        if otp_error:
            return Response({"otp_token": [otp_error]}, status=status.HTTP_400_BAD_REQUEST)
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})


def _second_factor_error(user: Any, token: str | None) -> str | None:
    """Accounts with two-step login on need the code here too, or the token would bypass it."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from centers.services import staff_may_use_otp

    if not staff_may_use_otp(user):
        return None
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        return None
    if not token:
        return "This account uses two-step login: send otp_token, the code from the authenticator app."
    allowed, _extra = device.verify_is_allowed()
    if not allowed:
        return "Too many wrong codes. Wait a little and try again."
    if not device.verify_token(token):
        return "That code is not valid."
    return None
