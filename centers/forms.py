"""Forms for the account pages: they parse input; the services decide."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# Django's AuthenticationForm only sets max_length for the HTML attribute, and a failed login is
# recorded by django-axes in a varchar(255): an over-long username must stop at the form.
USERNAME_MAX_LENGTH = 150


class _BoundedUsernameMixin:
    def clean_username(self) -> str:
        username = self.cleaned_data.get("username") or ""  # type: ignore[attr-defined]
        if len(username) > USERNAME_MAX_LENGTH:
            raise ValidationError(
                _("A username has at most %(max)d characters."), code="max_length", params={"max": USERNAME_MAX_LENGTH}
            )
        return username


class LoginForm(_BoundedUsernameMixin, AuthenticationForm):
    pass


class AdminLoginForm(_BoundedUsernameMixin, AdminAuthenticationForm):
    pass


class PasswordChangeForm(forms.Form):
    old_password = forms.CharField(
        label=_("Current password"),
        max_length=256,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    new_password = forms.CharField(
        label=_("New password"),
        max_length=256,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    new_password_again = forms.CharField(
        label=_("New password again"),
        max_length=256,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("new_password") and data.get("new_password_again") != data["new_password"]:
            self.add_error("new_password_again", _("The two new passwords do not match."))
        return data


class OTPTokenForm(forms.Form):
    token = forms.RegexField(
        label=_("Code from your authenticator app"),
        regex=r"^\s*\d{6}\s*$",
        max_length=20,
        error_messages={"invalid": _("Enter the 6-digit code.")},
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )
