"""Second factor enforcement and the django-axes lockout answer. (NUL bytes: config.middleware.)"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse

from centers.services import staff_may_use_otp

# Paths a password-authenticated but not yet verified user may still reach.
_OTP_EXEMPT_PREFIXES = ("/static/", "/i18n/", "/accounts/otp/verify/", "/accounts/logout/")


class OTPRequiredMiddleware:
    """Managers and admins who enrolled an authenticator must enter a code after the password.

    Runs after django_otp's OTPMiddleware. Only the roles offered a second factor are looked up, and
    whether they enrolled one is cached, so a page costs no extra query (the staff profile comes with the
    user, centers.auth).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if (
            user.is_authenticated
            and not request.path.startswith(_OTP_EXEMPT_PREFIXES)
            and staff_may_use_otp(user)  # type: ignore[arg-type]
            and not user.is_verified()  # type: ignore[union-attr,attr-defined]
            and _has_confirmed_device(user)
        ):
            if request.path.startswith("/api/"):
                return JsonResponse(
                    {"detail": "Enter your authenticator code on the login page first.", "code": "otp_required"},
                    status=403,
                )
            return redirect(f"{reverse('otp-verify')}?next={quote(request.get_full_path())}")
        return self.get_response(request)


CONFIRMED_DEVICE_SECONDS = 300


def confirmed_device_key(user_id: object) -> str:
    return f"otp:confirmed:{user_id}"


def _has_confirmed_device(user: object) -> bool:
    """Whether the user enrolled an authenticator: asked on every page of a manager or admin not yet
    verified, so kept in the cache (best effort) and forgotten whenever one of the user's devices is saved
    or deleted (centers.permission_history's receivers); at most 5 minutes old otherwise."""
    from django_otp import user_has_device

    key = confirmed_device_key(getattr(user, "pk", None))
    cached = cache.get(key)
    if isinstance(cached, bool):
        return cached
    found = bool(user_has_device(user, confirmed=True))
    cache.set(key, found, CONFIRMED_DEVICE_SECONDS)
    return found


LOCKOUT_DETAIL = "Too many failed logins; this account is locked for a while."


def lockout_response(request: HttpRequest, original_response: HttpResponse | None, credentials: dict | None):
    """django-axes lockout answer: JSON with `detail` for the API, the lockout page for browsers."""
    from django.conf import settings
    from django.shortcuts import render

    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    if request.path.startswith("/api/"):
        response: HttpResponse = JsonResponse({"detail": LOCKOUT_DETAIL, "code": "locked"}, status=429)
    else:
        response = render(request, "registration/lockout.html", {"cooloff_minutes": minutes}, status=429)
    response["Retry-After"] = str(minutes * 60)
    return response
