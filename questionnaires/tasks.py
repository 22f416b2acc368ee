"""Celery tasks of the questionnaires app: thin, take ids, idempotent (see services)."""

from __future__ import annotations

from celery import shared_task
from django.db import transaction

from questionnaires import links, selectors
from questionnaires.links import LINK_DELIVER_TASK, LINK_REMIND_TASK
from trial.celery import MESSAGE_RETRY
from trial.outbox.services import task_enqueue


@shared_task(name=LINK_DELIVER_TASK, **MESSAGE_RETRY)
def link_deliver_task(link_id: int) -> bool:
    return links.link_deliver(link_id=link_id)


@shared_task(name=LINK_REMIND_TASK)
def link_remind_task(link_id: int) -> bool:
    return links.link_remind(link_id=link_id)


@shared_task
def link_reminders_send() -> int:
    """Beat: enqueue the one reminder of every link unused for QUESTIONNAIRE_REMINDER_AFTER_DAYS.

    Twin: ``manage.py questionnaire_reminders``."""
    ids = selectors.links_due_for_reminder()
    with transaction.atomic():  # one outbox row per link (its one reminder), all or none
        for link_id in ids:
            task_enqueue(name=LINK_REMIND_TASK, args=[link_id])
    return len(ids)
