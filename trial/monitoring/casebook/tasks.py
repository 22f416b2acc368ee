"""The casebook Celery tasks: they take ids and call the services."""

from __future__ import annotations

from celery import shared_task

from trial.monitoring.casebook import services
from trial.monitoring.casebook.services import CASEBOOK_RENDER_TASK


@shared_task(name=CASEBOOK_RENDER_TASK, acks_late=True, time_limit=3600, soft_time_limit=3500)
def casebook_render_run(run_id: str) -> bool:
    """Render one casebook or site archive (idempotent: a second delivery is a no-op)."""
    return services.casebook_run_render(run_id)


@shared_task(name="trial.casebooks_expire")
def casebooks_expire() -> int:
    """Delete the files of expired casebooks."""
    return services.casebooks_expire()
