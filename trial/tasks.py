"""Trial-wide Celery tasks. Tasks take ids, never model instances, and call services.

Each capability keeps its own tasks next to its services (trial.treatment.tasks,
trial.exports.tasks) and imports them from its wiring, so a worker registers them too.
"""

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


@shared_task(name="trial.outbox_sweep", ignore_result=True)
def outbox_sweep() -> int:
    """Beat: publish the outbox rows the broker refused or lost (trial.outbox)."""
    from trial.outbox.services import outbox_sweep as sweep

    return sweep()
