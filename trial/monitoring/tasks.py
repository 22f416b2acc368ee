"""Celery tasks of monitoring. Tasks take ids, never model instances, and call services."""

from __future__ import annotations

from celery import shared_task

from trial.celery import MESSAGE_RETRY
from trial.monitoring import checks, digest, signature_services
from trial.monitoring.signature_services import SIGNATURE_RENEWAL_NOTIFY_TASK

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


@shared_task(name=SIGNATURE_RENEWAL_NOTIFY_TASK, **MESSAGE_RETRY)
def signature_renewal_notify(signature_id: int) -> bool:
    """E-mail the signer that their signature needs renewal; a second run sends nothing."""
    return signature_services.signature_renewal_notify(signature_id=signature_id)
