"""Thin Celery tasks over followup.services; each has a management-command twin."""

from __future__ import annotations

from celery import shared_task

from followup import links, services


@shared_task(name="followup.nightly", acks_late=True)
def nightly() -> dict:
    """Create due contacts, mark due and missed ones, complete the follow-up of those whose
    last window has closed, then send the links of the visits whose window opened. Safe to
    run twice or in parallel."""
    created = services.contacts_create_due()
    updated = services.contacts_update_status()
    completed = services.participants_complete()
    return {
        "created": created,
        **updated,
        "completed": completed,
        "links": links.visit_links_send_due(),
    }


@shared_task(name="followup.weekly_lists", acks_late=True)
def weekly_lists(week_start: str | None = None) -> dict:
    """E-mail each nurse the coming week's contact list. Claimed per nurse and week, so a
    second run or a second worker sends nothing."""
    import datetime as dt

    day = dt.date.fromisoformat(week_start) if week_start else None
    return services.weekly_lists_send(week_start=day)
