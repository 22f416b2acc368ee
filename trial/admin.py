"""Admin for set-up data only: sites, staff and their site memberships.

Clinical records are never edited or deleted here; they change through the trial's own pages,
which ask for a reason and keep the audit trail. Participants are shown read-only.
"""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from trial.models import (
    EligibilityCriteriaVersion,
    EligibilityCriterion,
    InformationSheetVersion,
    Participant,
    Site,
    SiteMembership,
    User,
)

admin.site.site_header = _("VERTEBRA administration")
admin.site.site_title = _("VERTEBRA")


@admin.register(Site)
class SiteAdmin(SimpleHistoryAdmin):
    list_display = ("code", "name", "kind", "surgical_partner", "active")
    list_filter = ("kind", "active")
    search_fields = ("code", "name")

    def has_delete_permission(self, request, obj=None):
        return False  # a site with history is deactivated, never deleted


class MembershipInline(admin.TabularInline):
    model = SiteMembership
    extra = 1


@admin.register(User)
class UserAdmin(SimpleHistoryAdmin, BaseUserAdmin):
    list_display = ("username", "first_name", "last_name", "role", "is_active")
    list_filter = ("role", "is_active", "memberships__site")
    inlines = [MembershipInline]
    fieldsets = (
        *BaseUserAdmin.fieldsets,
        (_("Trial role"), {"fields": ("role",)}),
    )
    add_fieldsets = (
        *BaseUserAdmin.add_fieldsets,
        (_("Trial role"), {"fields": ("role", "email", "first_name", "last_name")}),
    )

    def has_delete_permission(self, request, obj=None):
        return False  # deactivate instead: the audit trail refers to the account


@admin.register(Participant)
class ParticipantAdmin(SimpleHistoryAdmin):
    list_display = ("trial_number", "initials", "site", "status")
    list_filter = ("site", "status")
    search_fields = ("trial_number",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# --- Reference lists of the screening path (issue 3): coordinator and data manager --------


class _VersionInUse:
    """A criteria version with answers stored against it is frozen: editing it would change
    what those answers meant. Start a new version instead (Eligibility criteria page)."""

    @staticmethod
    def in_use(version) -> bool:
        return version is not None and version.assessments.exists()


class EligibilityCriterionInline(admin.TabularInline):
    model = EligibilityCriterion
    extra = 0
    fields = ("order", "code", "kind", "assessed_by", "text_en", "text_da")

    def has_add_permission(self, request, obj=None):
        return not _VersionInUse.in_use(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return not _VersionInUse.in_use(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return not _VersionInUse.in_use(obj) and super().has_delete_permission(request, obj)


@admin.register(EligibilityCriteriaVersion)
class EligibilityCriteriaVersionAdmin(SimpleHistoryAdmin):
    list_display = ("version", "effective_from", "note")
    inlines = [EligibilityCriterionInline]
    readonly_fields = ("version",)

    def has_add_permission(self, request):
        return False  # new versions are copies of the last one: the Eligibility criteria page

    def has_change_permission(self, request, obj=None):
        return not _VersionInUse.in_use(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(InformationSheetVersion)
class InformationSheetVersionAdmin(SimpleHistoryAdmin):
    list_display = ("label", "dated", "active")
    list_filter = ("active",)

    def has_delete_permission(self, request, obj=None):
        return False  # consents refer to it; mark it as no longer in use instead
