from django.urls import URLPattern, path

from stats.api import MonthlyStatsView


def register() -> list[URLPattern]:
    """Plain (non-router) API paths of this app, mounted under /api/v1/."""
    return [path("stats/monthly/", MonthlyStatsView.as_view(), name="stats-monthly")]
