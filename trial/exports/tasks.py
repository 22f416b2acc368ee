"""The export Celery tasks. Tasks take ids, never model instances, and call services.

Their names are the ones they had in trial.tasks: queued messages and beat's schedule
(CELERY_BEAT_SCHEDULE) name them, so they must not change with the module.
"""

from __future__ import annotations

from celery import shared_task

from trial.exports import services
from trial.exports.services import EXPORT_RENDER_TASK


@shared_task(name=EXPORT_RENDER_TASK, acks_late=True, time_limit=3600, soft_time_limit=3500)
def export_render(run_id: str) -> bool:
    """Render one export run to its ZIP (idempotent: a second delivery is a no-op)."""
    return services.export_run_render(run_id)


@shared_task(name="trial.exports_expire")
def exports_expire() -> int:
    """Delete the files of expired export runs. Twin: ``manage.py exports_expire``."""
    return services.exports_expire()
