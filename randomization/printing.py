"""Printing a batch of envelopes: the request (logged at once, since the PDF is the one
document that shows the arms of unused envelopes), its rendering by a task after the commit,
and each download.
"""

from __future__ import annotations

import logging
import secrets
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone, translation

from randomization.models import (
    BatchPrint,
    EnvelopeBatch,
    PrintStatus,
)
from trial.models import (
    User,
)

logger = logging.getLogger(__name__)


@transaction.atomic
def batch_print_request(*, batch: EnvelopeBatch, user: User, language: str = "") -> BatchPrint:
    """Ask for a batch's PDF: logged at once (it is the one document showing unused arms) and
    rendered by a task after the commit; the batch page offers it when it is ready."""
    record = BatchPrint.objects.create(
        batch=batch, user=user, language=language or settings.LANGUAGE_CODE
    )
    _enqueue_batch_pdf(record.pk)
    return record


# The Celery name of randomization.tasks.batch_pdf_render: enqueued by name, so this module
# need not import the task module (which imports it); outbox rows refer to it, so it never
# changes.
BATCH_PDF_RENDER_TASK = "randomization.batch_pdf_render"


def _enqueue_batch_pdf(print_id: int) -> None:
    from trial.outbox.services import task_enqueue

    task_enqueue(name=BATCH_PDF_RENDER_TASK, args=[print_id])


def batch_pdf_path(record: BatchPrint) -> Path:
    return Path(str(settings.RANDOMISATION_PDF_ROOT)) / record.file_name


def batch_print_render(*, print_id: int) -> bool:
    """Render a requested batch PDF into a private file. Claimed by a conditional update, so
    a second run (a retried task) does nothing; a failure is recorded, not raised."""
    from randomization import pdf

    claimed = BatchPrint.objects.filter(
        pk=print_id, status=PrintStatus.PENDING, file_name=""
    ).update(file_name=f"batch-{print_id}-{secrets.token_hex(12)}.pdf")
    if claimed != 1:
        return False
    record = BatchPrint.objects.select_related("batch", "batch__site").get(pk=print_id)
    try:
        with translation.override(record.language or settings.LANGUAGE_CODE):
            data = pdf.batch_pdf(record.batch)
        path = batch_pdf_path(record)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        path.chmod(0o600)
    except Exception as exc:  # any failure becomes a visible status, not a lost task
        logger.exception("Batch PDF %s failed", print_id)
        BatchPrint.objects.filter(pk=print_id).update(
            status=PrintStatus.FAILED, error=str(exc)[:2000], finished_at=timezone.now()
        )
        return False
    BatchPrint.objects.filter(pk=print_id).update(
        status=PrintStatus.READY, finished_at=timezone.now()
    )
    return True


def batch_print_downloaded(*, record: BatchPrint) -> None:
    BatchPrint.objects.filter(pk=record.pk).update(
        download_count=F("download_count") + 1, last_downloaded_at=timezone.now()
    )
