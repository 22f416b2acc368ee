"""The outbox row. Its own module so that trial/models.py imports it with one line."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class PendingTask(models.Model):
    """One logical background job, written in the same transaction as the data it is about.

    ``dedup_key`` is unique: enqueueing the same job twice (a double click, a retried request)
    leaves one row, hence one e-mail. ``args`` hold ids only, never personal data.
    A row is pending while ``done_at`` is empty; ``dispatched_at`` is when it was last handed
    to the broker (empty: never, or the broker refused it).
    """

    name = models.CharField(_("task"), max_length=200)
    args = models.JSONField(_("arguments"), default=list, blank=True)
    dedup_key = models.CharField(_("deduplication key"), max_length=255, unique=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)
    dispatched_at = models.DateTimeField(_("dispatched"), null=True, blank=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    done_at = models.DateTimeField(_("done"), null=True, blank=True)

    class Meta:
        app_label = "trial"
        verbose_name = _("pending task")
        verbose_name_plural = _("pending tasks")
        indexes = [
            models.Index(
                fields=["created_at"],
                name="pendingtask_open_idx",
                condition=models.Q(done_at__isnull=True),
            )
        ]

    def __str__(self) -> str:
        return f"{self.name}{self.args} ({'done' if self.done_at else 'pending'})"
