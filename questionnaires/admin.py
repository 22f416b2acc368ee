"""Read-only admin views of the questionnaire data, for coordinators and data managers.

Writes go through the services (patients' pages, staff pages); the admin never changes answers,
so the audit trail always says who changed what and why.
"""

from django.contrib import admin

from questionnaires.models import QuestionnaireLink, QuestionnaireResponse, TabletSession
from trial.admin_matrix import MatrixAdminMixin


class ReadOnlyAdmin(MatrixAdminMixin, admin.ModelAdmin):
    """Who may view is the admin matrix's (trial.access.ADMIN_MATRIX); nobody writes."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(QuestionnaireResponse)
class QuestionnaireResponseAdmin(ReadOnlyAdmin):
    list_display = [
        "participant",
        "visit_code",
        "instrument_code",
        "mode",
        "status",
        "submitted_at",
    ]
    list_filter = ["instrument_code", "visit_code", "mode", "status"]
    list_select_related = ["participant"]
    search_fields = ["participant__trial_number"]


@admin.register(QuestionnaireLink)
class QuestionnaireLinkAdmin(ReadOnlyAdmin):
    list_display = ["participant", "visit_code", "sent_via", "sent_at", "expires_at", "revoked_at"]
    list_filter = ["sent_via", "visit_code"]
    list_select_related = ["participant"]
    exclude = ["token_hash"]
    search_fields = ["participant__trial_number"]


@admin.register(TabletSession)
class TabletSessionAdmin(ReadOnlyAdmin):
    list_display = ["participant", "visit_code", "started_by", "started_at", "ended_at"]
    list_select_related = ["participant", "started_by"]
    exclude = ["token_hash"]
