"""Admin: employers and postings may be corrected; decisions, reports, history and exports are read-only."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from jobs.models import Employer, JobExportLog, JobPosting, Report, Review, SuspectStatusChange


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Employer)
class EmployerAdmin(admin.ModelAdmin):
    list_display = ["name", "business_number", "suspect", "suspect_since"]
    list_filter = ["suspect"]
    search_fields = ["name", "=business_number"]
    # The suspect flag changes only through a review or jobs.services.employer_set_suspect (with its history).
    readonly_fields = ["suspect", "suspect_since"]


@admin.register(JobPosting)
class JobPostingAdmin(admin.ModelAdmin):
    list_display = ["title", "source", "external_id", "employer", "risk_level", "risk_score", "created_at"]
    list_filter = ["source", "risk_level"]
    search_fields = ["title", "=external_id", "employer__name"]
    list_select_related = ["employer"]
    raw_id_fields = ["employer"]
    readonly_fields = ["risk_level", "risk_score", "findings", "hourly_equivalent", "screened_at", "last_review"]


@admin.register(Review)
class ReviewAdmin(ReadOnlyAdmin):
    list_display = ["posting", "decision", "by", "at"]
    list_select_related = ["posting", "by"]


@admin.register(Report)
class ReportAdmin(ReadOnlyAdmin):
    list_display = ["posting", "center", "reason", "at"]
    list_select_related = ["posting", "center"]


@admin.register(SuspectStatusChange)
class SuspectStatusChangeAdmin(ReadOnlyAdmin):
    list_display = ["employer", "suspect", "by", "at"]
    list_select_related = ["employer", "by"]


@admin.register(JobExportLog)
class JobExportLogAdmin(ReadOnlyAdmin):
    list_display = ["at", "by", "rows", "reason"]
    list_select_related = ["by"]
