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
from django.utils.translation import gettext_lazy as _

# Django autodiscovers only this module; each capability keeps its own registrations, and
# importing them here is what puts them on the site.
from trial.participants import admin as participants_admin  # noqa: F401
from trial.screening import admin as screening_admin  # noqa: F401
from trial.staff import admin as staff_admin  # noqa: F401

admin.site.site_header = _("VERTEBRA administration")
admin.site.site_title = _("VERTEBRA")
