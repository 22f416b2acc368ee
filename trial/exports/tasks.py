"""The export Celery tasks (issue 8). Tasks take ids, never model instances, and call services.

Their names are the ones they had in trial.tasks: queued messages and beat's schedule
(CELERY_BEAT_SCHEDULE) name them, so they must not change with the module.
"""

from __future__ import annotations

from celery import shared_task


@shared_task(name="trial.export_render", acks_late=True, time_limit=3600, soft_time_limit=3500)
def export_render(run_id: str) -> bool:
    """Render one export run to its ZIP (idempotent: a second delivery is a no-op)."""
    from trial.exports.services import export_run_render

    return export_run_render(run_id)


@shared_task(name="trial.exports_expire")
def exports_expire() -> int:
    """Delete the files of expired export runs. Twin: ``manage.py exports_expire``."""
    from trial.exports.services import exports_expire as expire

    return expire()
