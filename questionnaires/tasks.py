"""Celery tasks of the questionnaires app: thin, take ids, idempotent (see services)."""

from __future__ import annotations

from celery import shared_task
from django.db import transaction

from questionnaires import selectors, services
from trial.celery import MESSAGE_RETRY


@shared_task(**MESSAGE_RETRY)
def link_deliver_task(link_id: int) -> bool:
    return services.link_deliver(link_id=link_id)


@shared_task
def link_remind_task(link_id: int) -> bool:
    return services.link_remind(link_id=link_id)


@shared_task
def link_reminders_send() -> int:
    """Beat: enqueue the one reminder of every link unused for QUESTIONNAIRE_REMINDER_AFTER_DAYS.

    Twin: ``manage.py questionnaire_reminders``."""
    ids = selectors.links_due_for_reminder()
    for link_id in ids:
        transaction.on_commit(lambda link_id=link_id: link_remind_task.delay(link_id))
    return len(ids)
