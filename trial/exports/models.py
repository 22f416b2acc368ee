"""The export log: one ExportRun per export, with its format and status.

The models belong to the trial app (app label "trial", tables ``trial_export*``); trial.models
imports them so that Django finds them. They refer to the user through AUTH_USER_MODEL and
import only the registry, which imports no models, so nothing here imports trial.models.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from trial.exports.registry import FULL, autodiscover


class ExportFormat(models.TextChoices):
    CSV = "csv", _("CSV")
    XLSX = "xlsx", _("Excel (XLSX)")
    STATA = "stata", _("Stata (.dta)")
    ODM = "odm", _("CDISC ODM 1.3.2 (XML)")


class ExportStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Ready")
    FAILED = "failed", _("Failed")
    EXPIRED = "expired", _("Expired")


class ExportRun(models.Model):
    """One export: the run is itself the export log (who, when, what, with which options)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    exporter = models.CharField(_("export"), max_length=64)
    format = models.CharField(_("format"), max_length=16, choices=ExportFormat.choices)
    options = models.JSONField(_("options"), default=dict, blank=True)
    identified = models.BooleanField(_("identified"), default=False)
    reason = models.TextField(_("reason"), blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="export_runs",
        verbose_name=_("requested by"),
    )
    requested_at = models.DateTimeField(_("requested"), default=timezone.now, db_index=True)
    status = models.CharField(
        _("status"), max_length=16, choices=ExportStatus.choices, default=ExportStatus.QUEUED
    )
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    file_name = models.CharField(_("file"), max_length=255, blank=True)
    file_size = models.BigIntegerField(_("file size (bytes)"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)
    # What the README said of the database lock when the export was rendered (see
    # trial.monitoring.locks.export_lock_note): whether it was taken from a locked database.
    database_lock = models.TextField(_("database lock"), blank=True)
    download_count = models.PositiveIntegerField(_("downloads"), default=0)
    last_downloaded_at = models.DateTimeField(_("last downloaded"), null=True, blank=True)

    class Meta:
        ordering = ["-requested_at"]
        verbose_name = _("export")
        verbose_name_plural = _("exports")

    def __str__(self) -> str:
        return f"{self.exporter} ({self.format}) {self.requested_at:%Y-%m-%d %H:%M}"

    @property
    def exporter_label(self) -> str:
        """What was exported, in words: "Full export" or the form's label."""
        if self.exporter == FULL:
            return str(_("Full export"))
        try:
            return str(autodiscover().get(self.exporter).label)
        except KeyError:  # an exporter since removed: the log still says what it was
            return self.exporter
