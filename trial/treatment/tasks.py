"""Celery tasks of treatment. Tasks take ids, never model instances, and call services.

The name is the one the task had when it lived in trial.tasks: queued messages and outbox rows
refer to tasks by name, so it never changes.
"""

from __future__ import annotations

from celery import shared_task

from trial.celery import MESSAGE_RETRY
from trial.treatment import adverse_events
from trial.treatment.adverse_events import SAE_NOTIFY_TASK


@shared_task(name=SAE_NOTIFY_TASK, **MESSAGE_RETRY)
def sae_notify(event_id: int) -> bool:
    """E-mail the coordinators about a serious adverse event; a second run sends nothing."""
    return adverse_events.sae_notify(event_id=event_id)
