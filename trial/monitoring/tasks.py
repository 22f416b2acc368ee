"""Celery tasks of monitoring. Tasks take ids, never model instances, and call services."""

from __future__ import annotations

from celery import shared_task

from trial.celery import MESSAGE_RETRY
from trial.monitoring import checks, digest

EDIT_CHECKS_NIGHTLY_TASK = "trial.edit_checks_nightly"
QUERY_DIGEST_WEEKLY_TASK = "trial.query_digest_weekly"


@shared_task(name=EDIT_CHECKS_NIGHTLY_TASK)
def edit_checks_nightly() -> dict[str, int]:
    """Every participant's edit checks: catches what no save triggered (a check added, a date
    that became wrong because another form changed). Running it twice changes nothing."""
    return checks.edit_checks_run_all()


@shared_task(name=QUERY_DIGEST_WEEKLY_TASK)
def query_digest_weekly() -> dict[str, int]:
    """Queue this week's digest of every site with queries not closed (Monday morning);
    each site's digest is queued once per week however often this runs."""
    return digest.query_digests_queue()


@shared_task(name=digest.QUERY_DIGEST_SEND_TASK, **MESSAGE_RETRY)
def query_digest_send(digest_id: int) -> bool:
    """Send one site's digest (an outbox job); a second run sends nothing."""
    return digest.query_digest_send(digest_id=digest_id)
