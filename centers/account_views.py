"""Account pages: password change and the optional TOTP second factor (thin; services decide)."""

from __future__ import annotations

import base64
import io

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from centers.forms import OTPTokenForm, PasswordChangeForm
from centers.services import (
    staff_change_password,
    staff_may_use_otp,
    staff_totp_begin,
    staff_totp_confirm,
    staff_totp_remove,
)
from core.errors import InvalidInput


def _safe_next(request: HttpRequest, default: str = "home") -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    from django.urls import reverse

    return reverse(default)


@login_required
@require_http_methods(["GET", "POST"])
def password_change(request: HttpRequest) -> HttpResponse:
    form = PasswordChangeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            staff_change_password(
                user=request.user,  # type: ignore[arg-type]
                old_password=form.cleaned_data["old_password"],
                new_password=form.cleaned_data["new_password"],
            )
        except InvalidInput as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.detail)
        else:
            # Keep this session; every other session of the user is now invalid.
            update_session_auth_hash(request, request.user)  # type: ignore[arg-type]
            messages.success(request, _("Your password was changed. You were logged out everywhere else."))
            return redirect("home")
    return render(request, "registration/password_change.html", {"form": form})


def _qr_data_uri(text: str) -> str:
    import qrcode
    import qrcode.image.svg

    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    buffer = io.BytesIO()
    image.save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


@login_required
@require_http_methods(["GET", "POST"])
def otp_setup(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not staff_may_use_otp(user):  # type: ignore[arg-type]
        messages.error(
            request, _("A second factor is offered to center managers, privacy officers and administrators only.")
        )
        return redirect("home")
    action = request.POST.get("action")
    form = OTPTokenForm(request.POST if action == "confirm" else None)
    if action == "remove":
        staff_totp_remove(user=user)  # type: ignore[arg-type]
        messages.success(request, _("The authenticator was removed; you log in with your password only."))
        return redirect("otp-setup")
    if action == "start":
        staff_totp_begin(user=user)  # type: ignore[arg-type]
        return redirect("otp-setup")
    if action == "confirm" and form.is_valid():
        try:
            device = staff_totp_confirm(user=user, token=form.cleaned_data["token"])  # type: ignore[arg-type]
        except InvalidInput as exc:
            form.add_error("token" if exc.field == "token" else None, exc.detail)
        else:
            otp_login(request, device)
            messages.success(request, _("Your authenticator is set up. You will be asked for a code at each login."))
            return redirect("otp-setup")
    confirmed = TOTPDevice.objects.filter(user=user, confirmed=True).exists()
    # A GET changes nothing: the pending device is made by the "start" POST, never by viewing this page.
    pending = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    context: dict[str, object] = {"form": form, "confirmed": confirmed, "pending": None}
    if pending is not None:
        context["pending"] = {
            "qr": _qr_data_uri(pending.config_url),
            "secret": base64.b32encode(pending.bin_key).decode("ascii").rstrip("="),
        }
    return render(request, "registration/otp_setup.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def otp_verify(request: HttpRequest) -> HttpResponse:
    user = request.user
    next_url = _safe_next(request)
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None or user.is_verified():  # type: ignore[union-attr]
        return redirect(next_url)
    form = OTPTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        allowed, _extra = device.verify_is_allowed()
        if not allowed:
            form.add_error("token", _("Too many wrong codes. Wait a little and try again."))
        elif device.verify_token(form.cleaned_data["token"].strip()):
            otp_login(request, device)
            return redirect(next_url)
        else:
            form.add_error("token", _("That code is not valid. Check the time on your phone and try again."))
    return render(request, "registration/otp_verify.html", {"form": form, "next": next_url})
