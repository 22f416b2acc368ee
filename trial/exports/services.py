"""Writes around exports: request, render, download and expiry of an ExportRun.

The run is the export log. Rendering claims the run with a conditional update, so a task
delivered twice renders once; an expected failure (ExportError) becomes the run's message.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from trial import access
from trial.audit import ReasonRequired, require_reason
from trial.exports.models import ExportFormat, ExportRun, ExportStatus
from trial.exports.registry import autodiscover
from trial.exports.writer import ExportError, ExportSpec, write_export
from trial.models import User
from trial.monitoring.locks import export_lock_note

# The Celery name of trial.exports.tasks.export_render. The services enqueue by name, so that
# they need not import the task module (which imports them).
EXPORT_RENDER_TASK = "trial.export_render"

logger = logging.getLogger(__name__)


def export_root() -> Path:
    return Path(settings.EXPORT_ROOT)


def export_request(
    *,
    user: User,
    exporter: str,
    format: str,
    identified: bool = False,
    reason: str = "",
    language: str | None = None,
) -> ExportRun:
    """Log the export and enqueue its rendering once the log row is committed."""
    if not access.can(user, "export_run"):
        raise PermissionDenied(_("Only coordinators and data managers start exports."))
    if identified and not access.can(user, "export_identified"):
        raise PermissionDenied(_("Only data managers may export identifying data."))
    if identified:
        try:
            reason = require_reason(reason)
        except ReasonRequired as exc:
            raise ValidationError({"reason": exc.messages}) from None
    registry = autodiscover()
    if exporter not in dict(registry.choices()):
        raise ValidationError({"exporter": _("Pick one of the exports listed.")})
    if format not in ExportFormat.values:
        raise ValidationError({"format": _("Pick one of the formats listed.")})
    with transaction.atomic():
        run = ExportRun(
            exporter=exporter,
            format=format,
            identified=identified,
            reason=reason.strip(),
            requested_by=user,
            options={"language": language or translation.get_language() or "en"},
        )
        run.full_clean()
        run.save()
        from trial.outbox.services import task_enqueue

        task_enqueue(name=EXPORT_RENDER_TASK, args=[str(run.id)])
    return run


def export_run_render(run_id: str) -> bool:
    """Render a queued run to its ZIP; False when another worker has it already."""
    claimed = ExportRun.objects.filter(id=run_id, status=ExportStatus.QUEUED).update(
        status=ExportStatus.RUNNING, progress=1
    )
    if claimed != 1:
        return False
    run = ExportRun.objects.select_related("requested_by").get(id=run_id)
    name = f"{run.id}.zip"
    target = export_root() / name
    last = [1]

    def progress(percent: int) -> None:
        if percent - last[0] >= 5 or percent == 100:
            last[0] = percent
            ExportRun.objects.filter(id=run.id).update(progress=min(percent, 99))

    spec = ExportSpec(
        exporter=run.exporter,
        format=run.format,
        identified=run.identified,
        run_id=str(run.id),
        requested_by=run.requested_by.username,
        database_lock=export_lock_note(),
    )
    try:
        language = run.options.get("language") or settings.LANGUAGE_CODE
        with translation.override(language), timezone.override(settings.TIME_ZONE):
            write_export(spec, target, progress)
    except ExportError as exc:
        target.unlink(missing_ok=True)
        ExportRun.objects.filter(id=run.id).update(
            status=ExportStatus.FAILED, error=str(exc), finished_at=timezone.now()
        )
        return True
    except Exception:
        logger.exception("export %s failed", run.id)
        target.unlink(missing_ok=True)
        ExportRun.objects.filter(id=run.id).update(
            status=ExportStatus.FAILED,
            error=_("The export failed unexpectedly. The error has been logged; try again."),
            finished_at=timezone.now(),
        )
        return True
    now = timezone.now()
    ExportRun.objects.filter(id=run.id).update(
        status=ExportStatus.DONE,
        progress=100,
        file_name=name,
        file_size=target.stat().st_size,
        finished_at=now,
        database_lock=spec.database_lock,
        expires_at=now + dt.timedelta(hours=settings.EXPORT_EXPIRY_HOURS),
    )
    return True


def export_download_name(run: ExportRun) -> str:
    """The file name a downloaded export gets (the page and the API give the same)."""
    stamp = run.requested_at.strftime("%Y%m%d-%H%M")
    return f"vertebra-{run.exporter}-{run.format}-{stamp}.zip"


def export_download_record(*, run: ExportRun) -> None:
    ExportRun.objects.filter(id=run.id).update(
        download_count=F("download_count") + 1, last_downloaded_at=timezone.now()
    )


def files_expire(model, root: Path, *, now: dt.datetime | None = None) -> int:
    """Delete the files of ``model``'s runs (exports, casebooks) past their expiry and mark them
    expired, each claimed by a conditional update so two runs delete once; returns how many."""
    now = now or timezone.now()
    count = 0
    due = model.objects.filter(status=ExportStatus.DONE, expires_at__lte=now)
    for run_id, file_name in due.values_list("id", "file_name"):
        if model.objects.filter(id=run_id, status=ExportStatus.DONE).update(
            status=ExportStatus.EXPIRED
        ):
            if file_name:
                (root / file_name).unlink(missing_ok=True)
            count += 1
    return count


def exports_expire(*, now: dt.datetime | None = None) -> int:
    """Delete the files of exports past their expiry; returns how many."""
    return files_expire(ExportRun, export_root(), now=now)
