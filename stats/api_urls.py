from django.urls import URLPattern


def register() -> list[URLPattern]:
    """Plain (non-router) API paths of this app, mounted under /api/v1/."""
    return []
