"""The reference lists of the screening path (eligibility criteria, information sheets),
kept by the coordinator and the data manager."""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from trial.admin_matrix import MatrixAdminMixin
from trial.models import (
    EligibilityCriteriaVersion,
    EligibilityCriterion,
    InformationSheetVersion,
)


class _VersionInUse:
    """A criteria version with answers stored against it is frozen: editing it would change
    what those answers meant. Start a new version instead (Eligibility criteria page)."""

    @staticmethod
    def in_use(version) -> bool:
        return version is not None and version.assessments.exists()


class EligibilityCriterionInline(MatrixAdminMixin, admin.TabularInline):
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
class EligibilityCriteriaVersionAdmin(MatrixAdminMixin, SimpleHistoryAdmin):
    list_display = ("version", "effective_from", "note")
    inlines = [EligibilityCriterionInline]
    readonly_fields = ("version",)

    def has_add_permission(self, request, obj=None):
        return False  # new versions are copies of the last one: the Eligibility criteria page

    def has_change_permission(self, request, obj=None):
        return not _VersionInUse.in_use(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(InformationSheetVersion)
class InformationSheetVersionAdmin(MatrixAdminMixin, SimpleHistoryAdmin):
    list_display = ("label", "dated", "active")
    list_filter = ("active",)

    def has_delete_permission(self, request, obj=None):
        return False  # consents refer to it; mark it as no longer in use instead
