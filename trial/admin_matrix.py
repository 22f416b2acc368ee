"""Every ModelAdmin of the project asks the permission matrix, through this mixin."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from trial.access import admin_may
from trial.audit import guard_writes, write_refusal

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
        return admin_may(request.user, self.model, "add") and not _locked(
            obj if obj is not None else self.model()
        )

    def has_change_permission(self, request, obj=None):
        return admin_may(request.user, self.model, "change") and not _locked(obj)

    def has_delete_permission(self, request, obj=None):
        return admin_may(request.user, self.model, "delete") and not _locked(obj)

    # Locked data stays as it is for everyone, superusers too: the permissions above hide the
    # buttons, and a save or delete that gets here anyway is refused by the same guard.
    def save_model(self, request, obj, form, change):
        guard_writes([obj])
        return super().save_model(request, obj, form, change)  # type: ignore[misc]

    def delete_model(self, request, obj):
        guard_writes([obj])
        return super().delete_model(request, obj)  # type: ignore[misc]

    def delete_queryset(self, request, queryset):
        guard_writes(list(queryset))
        return super().delete_queryset(request, queryset)  # type: ignore[misc]

    def history_view(self, request, object_id, extra_context=None):
        # Django and simple-history look the object up before asking for permission, so a
        # refused user could tell existing ids from missing ones; ask first.
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        _pk_or_404(self.model, object_id)
        # Only a ModelAdmin has a history page (an inline has none): mypy cannot see the
        # ModelAdmin this mixin is placed before.
        return super().history_view(request, object_id, extra_context)  # type: ignore[misc]

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        _pk_or_404(self.model, object_id)
        history = getattr(self.model, self.model._meta.simple_history_manager_attribute)
        _pk_or_404(history.model, version_id)
        # As history_view: only a ModelAdmin has this page.
        return super().history_form_view(  # type: ignore[misc]
            request, object_id, version_id, extra_context
        )


def _locked(obj) -> bool:
    """Whether the write guard refuses ``obj`` (a participant's locked data, or any trial data
    under the database lock)."""
    return obj is not None and bool(write_refusal([obj]))


def _pk_or_404(model, value) -> None:
    """simple-history filters its tables by the ids in the URL as given: one that cannot be a
    primary key of the model (a word where a number belongs) names nothing, and is a 404
    rather than the ValueError of the query."""
    try:
        model._meta.pk.to_python(unquote(value))
    except ValidationError as exc:
        raise Http404 from exc
