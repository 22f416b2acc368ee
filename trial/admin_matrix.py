"""Every ModelAdmin of the project asks the permission matrix, through this mixin."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied

from trial.access import admin_may

if TYPE_CHECKING:
    from django.contrib.admin.options import BaseModelAdmin

    # For the checker, what the mixin is mixed into: a ModelAdmin or an inline, both
    # BaseModelAdmins (``model``, ``has_view_or_change_permission``). At run time a plain
    # class, so that it can come first in the bases of either.
    _AdminBase = BaseModelAdmin[Any]
else:
    _AdminBase = object


class MatrixAdminMixin(_AdminBase):
    """Admin permissions from the matrix (trial.access.admin_may) instead of model permissions.

    Placed first in the bases, so that it replaces Django's checks; a ModelAdmin that forbids
    more (no deletion, read-only records) overrides these and may call ``super()``.
    """

    def has_module_permission(self, request):
        return any(
            admin_may(request.user, self.model, action) for action in ("view", "add", "change")
        )

    def has_view_permission(self, request, obj=None):
        return admin_may(request.user, self.model, "view")

    def has_add_permission(self, request, obj=None):
        # ``obj`` is an inline's parent (a ModelAdmin passes none): overrides keep the argument.
        return admin_may(request.user, self.model, "add")

    def has_change_permission(self, request, obj=None):
        return admin_may(request.user, self.model, "change")

    def has_delete_permission(self, request, obj=None):
        return admin_may(request.user, self.model, "delete")

    def history_view(self, request, object_id, extra_context=None):
        # Django and simple-history look the object up before asking for permission, so a
        # refused user could tell existing ids from missing ones; ask first.
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        # Only a ModelAdmin has a history page (an inline has none): mypy cannot see the
        # ModelAdmin this mixin is placed before.
        return super().history_view(request, object_id, extra_context)  # type: ignore[misc]
