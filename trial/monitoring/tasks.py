"""Celery tasks of monitoring. Tasks take ids, never model instances, and call services."""

from __future__ import annotations

from celery import shared_task

from trial.monitoring import checks

EDIT_CHECKS_NIGHTLY_TASK = "trial.edit_checks_nightly"


@shared_task(name=EDIT_CHECKS_NIGHTLY_TASK)
def edit_checks_nightly() -> dict[str, int]:
    """Every participant's edit checks: catches what no save triggered (a check added, a date
    that became wrong because another form changed). Running it twice changes nothing."""
    return checks.edit_checks_run_all()
