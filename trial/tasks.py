"""Trial-wide Celery tasks. Tasks take ids, never model instances, and call services."""

from __future__ import annotations

from celery import shared_task

from trial.models import Participant


@shared_task(name="trial.participant_count")
def participant_count(site_code: str | None = None) -> int:
    """A cheap task that touches the database: the worker health probe used by tests and ops."""
    qs = Participant.objects.all()
    if site_code:
        qs = qs.filter(site__code=site_code)
    return qs.count()


# --- treatment and clinical events (issue 7) ---


@shared_task(
    name="trial.sae_notify",
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=5,
)
def sae_notify(event_id: int) -> bool:
    """E-mail the coordinators about a serious adverse event; a second run sends nothing."""
    from trial.treatment.services import sae_notify as notify

    return notify(event_id=event_id)


# --- exports (issue 8) ---
@shared_task(name="trial.export_render", acks_late=True, time_limit=3600, soft_time_limit=3500)
def export_render(run_id: str) -> bool:
    """Render one export run to its ZIP (idempotent: a second delivery is a no-op)."""
    from trial.export_services import export_run_render

    return export_run_render(run_id)


@shared_task(name="trial.exports_expire")
def exports_expire() -> int:
    from trial.export_services import exports_expire as expire

    return expire()


# --- end exports (issue 8) ---
