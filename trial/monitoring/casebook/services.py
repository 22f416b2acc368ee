"""Writes around casebooks: request one (a participant's, or a site's archive), render it with
progress, record its download, expire old files.

A run is claimed with a conditional update, so a task delivered twice renders once; the task
is enqueued through the outbox with the run, so a broker outage delays it and never loses it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import uuid
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from trial import access
from trial.exports.models import ExportStatus
from trial.models import Participant, Site, SiteKind, User
from trial.monitoring.casebook.models import CasebookKind, CasebookRun
from trial.monitoring.casebook.render import casebook_render, site_archive_write

# The Celery name of trial.monitoring.casebook.tasks.casebook_render_run; enqueued by name so
# that the services need not import the tasks module (which imports them).
CASEBOOK_RENDER_TASK = "trial.casebook_render"

logger = logging.getLogger(__name__)


def casebook_root() -> Path:
    """Casebooks are kept beside the exports, and leave only through the download view."""
    return Path(settings.EXPORT_ROOT) / "casebooks"


def _language(language: str) -> str:
    if language not in dict(settings.LANGUAGES):
        raise ValidationError({"language": _("Pick one of the languages listed.")})
    return language


def _queue(run: CasebookRun) -> CasebookRun:
    from trial.outbox.services import task_enqueue

    run.full_clean()
    run.save()
    task_enqueue(name=CASEBOOK_RENDER_TASK, args=[str(run.id)])
    return run


def casebook_request(*, user: User, participant: Participant, language: str) -> CasebookRun:
    """Log the request of ``participant``'s casebook and queue its rendering. Identified (name
    and CPR number on the cover) exactly when ``user`` reads them on the participant's pages."""
    if not access.can(user, "trial:casebook", participant):
        raise PermissionDenied
    with transaction.atomic():
        return _queue(
            CasebookRun(
                kind=CasebookKind.PARTICIPANT,
                participant=participant,
                language=_language(language),
                identified=access.can_see_identity(user, participant),
                requested_by=user,
            )
        )


def site_archive_request(*, user: User, site: Site, language: str) -> CasebookRun:
    """Log the request of a site's archive (pseudonymised, for its trial master file)."""
    if not access.can(user, "trial:casebook_archive"):
        raise PermissionDenied
    if site.kind != SiteKind.HEMATOLOGY:
        raise ValidationError({"site": _("Pick a hematology site: participants belong to one.")})
    with transaction.atomic():
        return _queue(
            CasebookRun(
                kind=CasebookKind.SITE_ARCHIVE,
                site=site,
                language=_language(language),
                identified=False,
                requested_by=user,
            )
        )


def casebook_run_render(run_id: str) -> bool:
    """Render a queued run to its file; False when another worker has it already."""
    claimed = CasebookRun.objects.filter(id=run_id, status=ExportStatus.QUEUED).update(
        status=ExportStatus.RUNNING, progress=1
    )
    if claimed != 1:
        return False
    run = CasebookRun.objects.select_related("participant__site", "site").get(id=run_id)
    casebook_root().mkdir(parents=True, exist_ok=True)
    suffix = "pdf" if run.kind == CasebookKind.PARTICIPANT else "zip"
    name = f"{run.id}.{suffix}"
    target = casebook_root() / name
    partial = target.with_name(f"{name}.{uuid.uuid4().hex}.part")
    last = [1]

    def progress(done: int, total: int) -> None:
        # The index is written after the last casebook: 95 % until it is.
        percent = done * 95 // max(total, 1)
        if percent - last[0] >= 5:
            last[0] = percent
            CasebookRun.objects.filter(id=run.id).update(progress=min(percent, 99))

    try:
        if run.kind == CasebookKind.PARTICIPANT:
            assert run.participant is not None
            with partial.open("wb") as out:
                casebook_render(
                    run.participant, language=run.language, identified=run.identified, out=out
                )
        else:
            assert run.site is not None
            site_archive_write(run.site, language=run.language, target=partial, progress=progress)
        partial.replace(target)
    except Exception:
        logger.exception("casebook %s failed", run.id)
        partial.unlink(missing_ok=True)
        CasebookRun.objects.filter(id=run.id).update(
            status=ExportStatus.FAILED,
            error=_("The casebook failed unexpectedly. The error has been logged; try again."),
            finished_at=timezone.now(),
        )
        return True

    with target.open("rb") as handle:
        sha256 = hashlib.file_digest(handle, "sha256").hexdigest()
    now = timezone.now()
    CasebookRun.objects.filter(id=run.id).update(
        status=ExportStatus.DONE,
        progress=100,
        file_name=name,
        file_size=target.stat().st_size,
        sha256=sha256,
        finished_at=now,
        expires_at=now + dt.timedelta(hours=settings.EXPORT_EXPIRY_HOURS),
    )
    return True


def casebook_download_record(*, run: CasebookRun) -> None:
    CasebookRun.objects.filter(id=run.id).update(download_count=F("download_count") + 1)


def casebooks_expire(*, now: dt.datetime | None = None) -> int:
    """Delete the files of casebooks and site archives past their expiry; returns how many."""
    from trial.exports.services import files_expire

    return files_expire(CasebookRun, casebook_root(), now=now)
