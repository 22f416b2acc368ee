"""Celery tasks of staff: thin, take ids, idempotent (see trial.staff.services)."""

from __future__ import annotations

from celery import shared_task

from trial.celery import MESSAGE_RETRY
from trial.staff import services
from trial.staff.services import INVITATION_SEND_TASK


@shared_task(name=INVITATION_SEND_TASK, **MESSAGE_RETRY)
def staff_invitation_send(user_id: int, inviter_id: int) -> bool:
    """E-mail an invited staff member the set-password link; a second run sends nothing."""
    return services.staff_invitation_send(user_id=user_id, inviter_id=inviter_id)
