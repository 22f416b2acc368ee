"""Read-only admin for the randomisation records: nothing here can be added, changed or
deleted, and envelopes (whose arms are concealed) are not registered at all."""

from django.contrib import admin

from randomization.models import AllocationListView, BatchPrint, EnvelopeBatch
from trial.admin_matrix import MatrixAdminMixin


class ReadOnlyAdmin(MatrixAdminMixin, admin.ModelAdmin):
    """Who may view is the admin matrix's (trial.access.ADMIN_MATRIX); nobody writes."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(EnvelopeBatch)
class EnvelopeBatchAdmin(ReadOnlyAdmin):
    list_display = (
        "__str__",
        "site",
        "stratum",
        "size",
        "first_sequence",
        "created_by",
        "created_at",
    )
    list_filter = ("site", "stratum")


@admin.register(AllocationListView)
class AllocationListViewAdmin(ReadOnlyAdmin):
    list_display = ("viewed_at", "user", "what")


@admin.register(BatchPrint)
class BatchPrintAdmin(ReadOnlyAdmin):
    list_display = ("printed_at", "user", "batch")
