from django.urls import URLPattern, path
from rest_framework.routers import DefaultRouter

from jobs.api import PostingViewSet, ScreenView, SuspectsView


def register(router: DefaultRouter) -> list[URLPattern]:
    """Register this app's viewsets on the v1 router; answer its plain API paths, mounted under /api/v1/."""
    router.register("jobs/postings", PostingViewSet, basename="job-posting")
    return [
        path("jobs/suspects/", SuspectsView.as_view(), name="job-suspects"),
        path("jobs/screen/", ScreenView.as_view(), name="job-screen"),
    ]
