"""The casebook log: one CasebookRun per casebook or site archive requested, with its progress.

Registered under the ``trial`` app label (re-exported from trial/models.py). The file is kept
next to the exports' (``EXPORT_ROOT``) and expires like them (``EXPORT_EXPIRY_HOURS``).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from trial.exports.models import ExportStatus


class CasebookKind(models.TextChoices):
    PARTICIPANT = "participant", _("Casebook of one participant")
    SITE_ARCHIVE = "site_archive", _("Site archive")


class CasebookRun(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(_("kind"), max_length=16, choices=CasebookKind.choices)
    participant = models.ForeignKey(
        "trial.Participant",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("participant"),
    )
    site = models.ForeignKey(
        "trial.Site",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("site"),
    )
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES)
    # Names and CPR numbers on the cover and in the trail: only for a requester who reads them
    # on the participant's pages (trial.access.can_see_identity); a site archive never.
    identified = models.BooleanField(_("identified"), default=False)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("requested by"),
    )
    requested_at = models.DateTimeField(_("requested"), default=timezone.now, db_index=True)
    status = models.CharField(
        _("status"), max_length=16, choices=ExportStatus.choices, default=ExportStatus.QUEUED
    )
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    file_name = models.CharField(_("file"), max_length=255, blank=True)
    file_size = models.BigIntegerField(_("file size (bytes)"), null=True, blank=True)
    sha256 = models.CharField(_("SHA-256"), max_length=64, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)
    download_count = models.PositiveIntegerField(_("downloads"), default=0)

    class Meta:
        ordering = ["-requested_at"]
        verbose_name = _("casebook")
        verbose_name_plural = _("casebooks")
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(kind="participant", participant__isnull=False, site__isnull=True)
                    | Q(kind="site_archive", participant__isnull=True, site__isnull=False)
                ),
                name="casebook_run_names_its_subject",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.requested_at:%Y-%m-%d %H:%M}"

    @property
    def is_finished(self) -> bool:
        return self.status in (ExportStatus.DONE, ExportStatus.FAILED, ExportStatus.EXPIRED)
