"""Trial-wide Celery tasks. Tasks take ids, never model instances, and call services."""

from __future__ import annotations

from celery import shared_task

from trial.celery import MESSAGE_RETRY
from trial.models import Participant


@shared_task(name="trial.participant_count")
def participant_count(site_code: str | None = None) -> int:
    """A cheap task that touches the database: the worker health probe used by tests and ops."""
    qs = Participant.objects.all()
    if site_code:
        qs = qs.filter(site__code=site_code)
    return qs.count()


# --- treatment and clinical events (issue 7) ---


@shared_task(name="trial.sae_notify", **MESSAGE_RETRY)
def sae_notify(event_id: int) -> bool:
    """E-mail the coordinators about a serious adverse event; a second run sends nothing."""
    from trial.treatment.services import sae_notify as notify

    return notify(event_id=event_id)


@shared_task(name="trial.outbox_sweep", ignore_result=True)
def outbox_sweep() -> int:
    """Beat: publish the outbox rows the broker refused or lost (trial.outbox)."""
    from trial.outbox.services import outbox_sweep as sweep

    return sweep()
