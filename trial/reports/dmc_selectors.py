"""Reads for the DMC report's access: the coordinator's setting of who may open the closed
version (the access matrix and ``trial.access`` ask it at request time, so this module
imports models only) and the log of looks at either version."""

from __future__ import annotations

from django.db.models import QuerySet

from trial.reports.models import DMC_DEFAULT_CLOSED_ROLES, DmcReportAccess, DmcSettings
from trial.staff.models import CENTRAL_ROLES


def dmc_settings() -> DmcSettings:
    """The one settings row; before the coordinator saves one, the default (not stored)."""
    row = DmcSettings.objects.order_by("pk").first()
    return row or DmcSettings(closed_report_roles=list(DMC_DEFAULT_CLOSED_ROLES))


def dmc_closed_roles() -> frozenset[str]:
    """The roles that may open the closed report now (one query). Only central roles count,
    whatever a stored row says."""
    return frozenset(dmc_settings().closed_report_roles) & frozenset(CENTRAL_ROLES)


def dmc_report_accesses(limit: int = 50) -> QuerySet[DmcReportAccess]:
    return DmcReportAccess.objects.select_related("user").order_by("-accessed_at", "-pk")[:limit]
