"""Participants in the admin: read-only; they change through the trial's own pages."""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from trial.admin_matrix import MatrixAdminMixin
from trial.models import (
    Participant,
)


@admin.register(Participant)
class ParticipantAdmin(MatrixAdminMixin, SimpleHistoryAdmin):
    list_display = ("trial_number", "initials", "site", "status")
    list_filter = ("site", "status")
    search_fields = ("trial_number",)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
