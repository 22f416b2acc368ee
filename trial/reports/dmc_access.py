"""Writes for the DMC report's access: naming the roles that may open the closed version
(audited, with a reason) and logging each look at either version. Reads are in
``trial.reports.dmc_selectors``."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from trial import access
from trial.audit import audited_save, require_reason
from trial.reports.models import DmcReportAccess, DmcSettings


def dmc_closed_roles_set(*, user, roles: list[str], reason: str) -> DmcSettings:
    """Name the roles that may open the closed report; the change is audited with a reason."""
    reason = require_reason(reason)
    if set(roles) - set(access.dmc_nameable_roles()):
        raise ValidationError(
            {"roles": _("Only central roles can be named for the closed report.")}
        )
    with transaction.atomic():
        row = DmcSettings.objects.select_for_update().order_by("pk").first() or DmcSettings()
        row.closed_report_roles = sorted(set(roles))
        return audited_save(row, user=user, reason=reason)


def dmc_report_access_record(*, user, version: str, format: str) -> DmcReportAccess:
    """Log a look at a DMC report (who, when, which version, page or PDF)."""
    access = DmcReportAccess(user=user, version=version, format=format)
    access.full_clean(exclude=["user"])
    access.save()
    return access
