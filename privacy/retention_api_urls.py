from django.urls import URLPattern, URLResolver, path
from rest_framework.urlpatterns import format_suffix_patterns

from privacy import access_records_api as records_api
from privacy import requests_api
from privacy.retention_api import DestructionApproveView


def register() -> list[URLPattern | URLResolver]:
    """Plain (non-router) API paths of the privacy app, mounted under /api/v1/ before the router's."""
    plain = [
        path(
            "privacy/destructions/<int:id>/approve/",
            DestructionApproveView.as_view(),
            name="privacy-destruction-approve",
        ),
        path("clients/<str:id>/requests/", requests_api.ClientRequestsView.as_view(), name="client-requests"),
        path("clients/<str:id>/provisions/", requests_api.ClientProvisionsView.as_view(), name="client-provisions"),
        path("privacy/requests/", requests_api.RequestListView.as_view(), name="privacy-requests"),
        path(
            "privacy/requests/<int:id>/answer/", requests_api.RequestAnswerView.as_view(), name="privacy-request-answer"
        ),
        path(
            "privacy/requests/<int:id>/report/", requests_api.RequestReportView.as_view(), name="privacy-request-report"
        ),
        path("privacy/provisions/", requests_api.ProvisionExportView.as_view(), name="privacy-provisions"),
        path("privacy/access-log/", records_api.AccessLogView.as_view(), name="privacy-access-log"),
        path("privacy/access-log/verify/", records_api.AccessLogVerifyView.as_view(), name="privacy-access-log-verify"),
        path("privacy/access-log/export/", records_api.AccessLogExportView.as_view(), name="privacy-access-log-export"),
        path("privacy/destructions/", records_api.DestructionListView.as_view(), name="privacy-destructions"),
        path("privacy/reviews/", records_api.ReviewView.as_view(), name="privacy-reviews"),
        path("privacy/reviews/<str:month>/sign/", records_api.ReviewSignView.as_view(), name="privacy-review-sign"),
        path(
            "staff/<str:id>/permission-history/",
            records_api.StaffPermissionHistoryView.as_view(),
            name="staff-permission-history",
        ),
    ]
    # The requests' and provisions' GETs answer `…/1.json` too, like the router's routes.
    return plain[:1] + list(format_suffix_patterns(plain[1:], allowed=["json"]))
