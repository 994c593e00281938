"""`{% form_key %}`: the one-time key of a page form that creates something (core.idempotency)."""

from __future__ import annotations

import uuid

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

from core.idempotency import FORM_FIELD

register = template.Library()


@register.simple_tag
def form_key() -> SafeString:
    return format_html('<input type="hidden" name="{}" value="{}">', FORM_FIELD, uuid.uuid4().hex)
