"""Admin of sites and accounts, and the third-party admins (second factors, groups, lock-outs)
with the permission matrix in front. Accounts are for superusers only; the coordinator manages
staff on the trial's staff pages."""

from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin as BaseGroupAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_static.admin import StaticDeviceAdmin as BaseStaticDeviceAdmin
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.admin import TOTPDeviceAdmin as BaseTOTPDeviceAdmin
from django_otp.plugins.otp_totp.models import TOTPDevice
from simple_history.admin import SimpleHistoryAdmin

from trial.admin_matrix import MatrixAdminMixin
from trial.models import (
    Site,
    SiteMembership,
    User,
)


@admin.register(Site)
class SiteAdmin(MatrixAdminMixin, SimpleHistoryAdmin):
    list_display = ("code", "name", "kind", "surgical_partner", "active")
    list_filter = ("kind", "active")
    search_fields = ("code", "name")

    def has_delete_permission(self, request, obj=None):
        return False  # a site with history is deactivated, never deleted


class MembershipInline(MatrixAdminMixin, admin.TabularInline):
    model = SiteMembership
    extra = 1


@admin.register(User)
class UserAdmin(MatrixAdminMixin, SimpleHistoryAdmin, BaseUserAdmin):
    """Accounts: superusers only (ADMIN_MATRIX lists no role for them).

    Even a superuser cannot tick "superuser status" here: superusers are made with
    ``createsuperuser`` on the server, so that no form (and no stolen session) can make one.
    The change form says nothing about second factors; devices have their own (superuser)
    pages, which never show a key.
    """

    list_display = ("username", "first_name", "last_name", "role", "is_active")
    list_filter = ("role", "is_active", "memberships__site")
    inlines = [MembershipInline]
    fieldsets = (
        # django-stubs gives UserAdmin the ModelAdmin's "fieldsets or None"; Django's is a tuple.
        *BaseUserAdmin.fieldsets,  # type: ignore[misc]
        (_("Trial role"), {"fields": ("role",)}),
    )
    add_fieldsets = (
        *BaseUserAdmin.add_fieldsets,
        (_("Trial role"), {"fields": ("role", "email", "first_name", "last_name")}),
    )

    def get_readonly_fields(self, request, obj=None):
        return (*super().get_readonly_fields(request, obj), "is_superuser", "last_login")

    def has_delete_permission(self, request, obj=None):
        return False  # deactivate instead: the audit trail refers to the account


# --- Third-party admins: the same matrix, and no secrets -----------------------------------
# django-otp, django.contrib.auth and django-axes register their own ModelAdmins, which check
# Django's model permissions; they are registered again here with the matrix in front (none of
# their models is in ADMIN_MATRIX, so superusers only).


def _reregister(model, admin_class) -> None:
    if admin.site.is_registered(model):
        admin.site.unregister(model)
    admin.site.register(model, admin_class)


class GroupAdmin(MatrixAdminMixin, BaseGroupAdmin):
    pass


class TOTPDeviceAdmin(MatrixAdminMixin, BaseTOTPDeviceAdmin):
    """Second-factor devices without their keys (OTP_ADMIN_HIDE_SENSITIVE_DATA is set), and
    a 404 rather than a server error for a device that does not exist."""

    def get_fieldsets(self, request, obj=None):
        # django-otp still shows a new device's key on the add form; an administrator has no
        # business knowing anyone's key, so the key is never a field here (its default is a
        # fresh random key, and the user enrols on their own account page).
        return [
            (name, {**options, "fields": [f for f in options["fields"] if f != "key"]})
            for name, options in super().get_fieldsets(request, obj)
        ]

    def _device_or_404(self, request, pk):
        device = TOTPDevice.objects.filter(pk=pk).first()
        if device is None:
            raise Http404
        if not self.has_view_or_change_permission(request, device):
            raise PermissionDenied
        return device

    def config_view(self, request, pk):
        self._device_or_404(request, pk)
        return super().config_view(request, pk)

    def qrcode_view(self, request, pk):
        self._device_or_404(request, pk)
        return super().qrcode_view(request, pk)


class StaticDeviceAdmin(MatrixAdminMixin, BaseStaticDeviceAdmin):
    # Static tokens are one-time backup codes: as secret as a key, so never listed.
    inlines = ()


_reregister(Group, GroupAdmin)
_reregister(TOTPDevice, TOTPDeviceAdmin)
_reregister(StaticDevice, StaticDeviceAdmin)

from axes import admin as axes_admin  # noqa: E402 - after the trial's own admins, on purpose
from axes.models import AccessAttempt, AccessFailureLog, AccessLog  # noqa: E402


class _AxesAdmin(MatrixAdminMixin):
    def has_add_permission(self, request, obj=None):
        return False  # attempts and logs are written by axes only


class AccessAttemptAdmin(_AxesAdmin, axes_admin.AccessAttemptAdmin):
    @admin.action(description=_("Clean up expired attempts"))
    def cleanup_expired_attempts(self, request, queryset):
        # axes' own action reads the attempt time its login middleware sets on a login
        # request; on an admin request it is missing and the action would fail with a 500.
        if not hasattr(request, "axes_attempt_time"):
            request.axes_attempt_time = timezone.now()
        return super().cleanup_expired_attempts(request, queryset)


class AccessLogAdmin(_AxesAdmin, axes_admin.AccessLogAdmin):
    pass


class AccessFailureLogAdmin(_AxesAdmin, axes_admin.AccessFailureLogAdmin):
    pass


# axes registers these only when AXES_ENABLE_ADMIN is on (the default); follow its choice.
for _model, _admin_class in (
    (AccessAttempt, AccessAttemptAdmin),
    (AccessLog, AccessLogAdmin),
    (AccessFailureLog, AccessFailureLogAdmin),
):
    if admin.site.is_registered(_model):
        _reregister(_model, _admin_class)
