"""Labels of the referral app's codes for templates: `{% load referral_labels %}{{ code|reason_label }}`."""

from django import template

from referral.lifecycle import reason_label as _reason_label

register = template.Library()


@register.filter
def reason_label(code: str) -> str:
    return _reason_label(code)
