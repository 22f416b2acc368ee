"""Admin for set-up data only: sites and reference lists; accounts for superusers.

Clinical records are never edited or deleted here; they change through the trial's own pages,
which ask for a reason and keep the audit trail. Participants are shown read-only.

What a user may do on each admin page is decided by ``trial.access.admin_may`` (the admin part
of the permission matrix), never by Django's per-user model permissions: every ModelAdmin and
inline registered on the site, the third-party ones included, uses ``MatrixAdminMixin``
(a test checks this). Accounts, second factors, groups and lock-outs are for superusers only;
the coordinator manages staff on the trial's staff pages.
"""

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

from trial.access import admin_may
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


class MatrixAdminMixin:
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
        return super().history_view(request, object_id, extra_context)


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
        *BaseUserAdmin.fieldsets,
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


@admin.register(Participant)
class ParticipantAdmin(MatrixAdminMixin, SimpleHistoryAdmin):
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

    def has_add_permission(self, request):
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
    inlines = []


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
