from django.urls import URLPattern, path

from privacy.retention_api import DestructionApproveView


def register() -> list[URLPattern]:
    """Plain (non-router) API paths of retention, mounted under /api/v1/."""
    return [
        path(
            "privacy/destructions/<int:id>/approve/",
            DestructionApproveView.as_view(),
            name="privacy-destruction-approve",
        )
    ]
