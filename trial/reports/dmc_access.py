"""Who may open the DMC's closed report (the coordinator's setting), and the log of looks at
either version: the selector the access matrix reads, and the services that write."""

from __future__ import annotations

from django.db import transaction
from django.db.models import QuerySet

from trial.audit import audited_save, require_reason
from trial.reports.models import (
    DMC_DEFAULT_CLOSED_ROLES,
    DMC_NAMEABLE_ROLES,
    DmcReportAccess,
    DmcSettings,
)


def dmc_settings() -> DmcSettings:
    """The one settings row; before the coordinator saves one, the default (not stored)."""
    row = DmcSettings.objects.order_by("pk").first()
    return row or DmcSettings(closed_report_roles=list(DMC_DEFAULT_CLOSED_ROLES))


def dmc_closed_roles() -> frozenset[str]:
    """The roles that may open the closed report now (one query). Only central roles count,
    whatever a stored row says."""
    return frozenset(dmc_settings().closed_report_roles) & frozenset(DMC_NAMEABLE_ROLES)


def dmc_closed_roles_set(*, user, roles: list[str], reason: str) -> DmcSettings:
    """Name the roles that may open the closed report; the change is audited with a reason."""
    reason = require_reason(reason)
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


def dmc_report_accesses(limit: int = 50) -> QuerySet[DmcReportAccess]:
    return DmcReportAccess.objects.select_related("user").order_by("-accessed_at", "-pk")[:limit]
