"""The data monitoring committee's report: who may open the closed (by-arm) version, and the
log of every look at either version.

The models belong to the trial app (app label "trial"); trial.models imports them so Django
finds them. The closed report groups safety data by allocated arm, so the roles allowed to
open it are a row the coordinator edits (with its history), read by the access matrix at
request time (``trial.access_matrix``, rule ``trial:dmc_closed``).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from trial.staff.models import Role

# Which roles may be named (central roles only) is trial.access's question
# (``dmc_nameable_roles``). The default: the trial statistician, whose role here is the data
# manager (the role that may also see the allocation lists).
DMC_DEFAULT_CLOSED_ROLES = [Role.DATA_MANAGER.value]


class DmcReportVersion(models.TextChoices):
    OPEN = "open", _("Open report (pooled)")
    CLOSED = "closed", _("Closed report (by arm)")


class DmcReportFormat(models.TextChoices):
    PAGE = "page", _("Page")
    PDF = "pdf", _("PDF")


class DmcSettings(models.Model):
    """One row: the roles, named by the coordinator, that may open the closed report."""

    closed_report_roles = models.JSONField(
        _("roles that may open the closed report"), default=list, blank=True
    )

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("DMC report setting")
        verbose_name_plural = _("DMC report settings")

    def __str__(self) -> str:
        return ", ".join(self.closed_report_roles) or "-"


class DmcReportAccess(models.Model):
    """Each look at a DMC report, page or PDF: who, when, which version."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("user")
    )
    accessed_at = models.DateTimeField(_("opened"), auto_now_add=True)
    version = models.CharField(_("version"), max_length=8, choices=DmcReportVersion.choices)
    format = models.CharField(_("format"), max_length=8, choices=DmcReportFormat.choices)

    class Meta:
        ordering = ["-accessed_at", "-id"]
        verbose_name = _("look at a DMC report")
        verbose_name_plural = _("looks at DMC reports")

    def __str__(self) -> str:
        return f"{self.user} {self.accessed_at:%Y-%m-%d %H:%M} {self.version} {self.format}"
