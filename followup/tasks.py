"""Thin Celery tasks over followup.services; each has a management-command twin."""

from __future__ import annotations

from celery import shared_task

from followup import services


@shared_task(name="followup.nightly", acks_late=True)
def nightly() -> dict:
    """Create due contacts, then mark due and missed ones. Safe to run twice or in parallel."""
    created = services.contacts_create_due()
    updated = services.contacts_update_status()
    return {"created": created, **updated}
