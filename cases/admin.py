"""Admins may search the personal data access log but never change it, nor see whose data it was."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from cases.models import PiiAccessLog


@admin.register(PiiAccessLog)
class PiiAccessLogAdmin(admin.ModelAdmin):
    list_display = ["at", "user", "action", "client_ref", "view", "ip_address"]
    list_filter = ["action", "view"]
    search_fields = ["user__username", "=client__id", "view", "ip_address"]
    date_hierarchy = "at"
    list_select_related = ["user"]
    fields = ["seq", "at", "user", "action", "client_ref", "view", "ip_address", "reason", "row_hash"]
    readonly_fields = ["seq", "at", "user", "action", "client_ref", "view", "ip_address", "reason", "row_hash"]
    show_full_result_count = False

    @admin.display(description=_("client number"), ordering="client_id")
    def client_ref(self, obj: PiiAccessLog) -> int:
        # The id only: the admin role has no access to the client's personal data itself.
        return obj.client_id

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: PiiAccessLog | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: PiiAccessLog | None = None) -> bool:
        return False
