from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.utils.translation import gettext_lazy as _

from centers.models import Center, Desk, DeskClosure, Region, Service, ServiceOutcome, StaffProfile


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "name_en"]
    search_fields = ["code", "name", "name_en"]


class DeskInline(admin.StackedInline):
    model = Desk
    extra = 0
    fields = [
        ("code", "name"),
        ("domain", "outreach", "operator_kind"),
        "services",
        ("open_days", "opens_at", "closes_at"),
        ("slot_minutes", "slot_places"),
        ("capacity", "active"),
    ]
    filter_horizontal = ["services"]
    show_change_link = True


class DeskClosureInline(admin.TabularInline):
    """Days the desk is closed (no bookable slots); public holidays need no row."""

    model = DeskClosure
    extra = 1
    fields = ["date", "reason"]


@admin.register(Center)
class CenterAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "kind", "region", "sigungu", "active"]
    list_filter = ["kind", "region", "active"]
    search_fields = ["code", "name", "name_en", "sigungu", "address"]
    list_select_related = ["region"]
    inlines = [DeskInline]


@admin.register(Desk)
class DeskAdmin(admin.ModelAdmin):
    list_display = [
        "code",
        "name",
        "center",
        "domain",
        "outreach",
        "operator_kind",
        "capacity",
        "slot_minutes",
        "slot_places",
        "active",
    ]
    list_filter = ["domain", "outreach", "operator_kind", "active", "center__kind", "center__region"]
    search_fields = ["code", "name", "center__name", "center__code"]
    list_select_related = ["center"]
    filter_horizontal = ["services"]
    autocomplete_fields = ["center"]
    inlines = [DeskClosureInline]


@admin.register(DeskClosure)
class DeskClosureAdmin(admin.ModelAdmin):
    list_display = ["date", "desk", "reason"]
    list_filter = ["desk__center__region", "desk__outreach"]
    search_fields = ["desk__code", "desk__name", "desk__center__name", "reason"]
    list_select_related = ["desk__center"]
    autocomplete_fields = ["desk"]
    date_hierarchy = "date"


class ServiceOutcomeInline(admin.TabularInline):
    model = ServiceOutcome
    extra = 0


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "name_en", "domain", "sort_order"]
    list_filter = ["domain"]
    search_fields = ["code", "name", "name_en"]
    inlines = [ServiceOutcomeInline]


class StaffProfileInline(admin.StackedInline):
    """Its form runs StaffProfile.clean: the role rules (center or none, staff status) hold here too."""

    model = StaffProfile
    can_delete = False
    verbose_name_plural = _("role and center")
    autocomplete_fields = ["center"]
    filter_horizontal = ["desks"]


User = get_user_model()
admin.site.unregister(User)


@admin.register(User)
class StaffUserAdmin(UserAdmin):
    inlines = [StaffProfileInline]
    list_display = ["username", "email", "staff_role", "staff_center", "is_active", "last_login"]
    list_filter = ["staff__role", "staff__center__kind", "is_active"]
    search_fields = ["username", "email", "first_name", "last_name", "staff__center__name", "staff__center__code"]
    list_select_related = ["staff__center"]
    # Staff status goes with the admin role (StaffProfile.clean), so it can be set when the user is added.
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("username", "usable_password", "password1", "password2")}),
        (_("Permissions"), {"fields": ("is_staff",)}),
    )

    @admin.display(description=_("role"), ordering="staff__role")
    def staff_role(self, obj: User) -> str:  # type: ignore[valid-type]
        profile = getattr(obj, "staff", None)
        return profile.get_role_display() if profile else "-"

    @admin.display(description=_("center"), ordering="staff__center__name")
    def staff_center(self, obj: User) -> str:  # type: ignore[valid-type]
        profile = getattr(obj, "staff", None)
        return str(profile.center) if profile and profile.center else "-"


admin.site.site_header = _("Yeongye administration")
admin.site.site_title = _("Yeongye")
