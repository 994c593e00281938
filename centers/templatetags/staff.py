"""`{{ user|staff_name }}`: a colleague's name as every page shows it (a template builtin, see settings)."""

from django import template

from centers.models import staff_name as _staff_name

register = template.Library()


@register.filter
def staff_name(user: object) -> str:
    return _staff_name(user)
