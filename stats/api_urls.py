from django.urls import URLPattern, path

from core.replica import replica_reads
from stats.api import MonthlyStatsView


def register() -> list[URLPattern]:
    """Plain (non-router) API paths of this app, mounted under /api/v1/."""
    return [path("stats/monthly/", replica_reads(MonthlyStatsView.as_view()), name="stats-monthly")]
