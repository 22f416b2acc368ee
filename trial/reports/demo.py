"""Demo data for the dashboard and the outcome report (a step of ``seed_demo``, idempotent).

The demo trial shows some randomised participants as deceased or withdrawn by status alone
(they were created before deaths and withdrawals were recorded as events). The CONSORT flow
and the survival table count the recorded events, so this step records them through the
services, dated between randomisation and today: the dashboard then shows deaths and
withdrawals, and the Kaplan-Meier table has events. One withdrawal does not allow use of the
data, so the analysis population visibly differs from the randomised one.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.core.exceptions import ValidationError
from django.utils import timezone

from trial.audit import audited_save
from trial.models import Death, Participant, ParticipantStatus, Withdrawal
from trial.participants import services
from trial.registry import dashboard

logger = logging.getLogger(__name__)


def _event_day(randomised_on: dt.date, today: dt.date, share: float) -> dt.date:
    return randomised_on + dt.timedelta(days=max(1, int((today - randomised_on).days * share)))


def seed_outcomes(context: dict) -> None:
    allocations = dashboard.report_source("allocations") or {}
    user = context["users"].get("coordinator")
    if user is None or not allocations:
        return
    today = timezone.localdate()
    ended = (
        Participant.objects.filter(
            pk__in=list(allocations),
            status__in=(ParticipantStatus.DECEASED, ParticipantStatus.WITHDRAWN),
        )
        .exclude(pk__in=Death.objects.values("participant_id"))
        .exclude(pk__in=Withdrawal.objects.values("participant_id"))
        .order_by("site__code", "sequence")
    )
    withdrawals = 0
    for participant in ended:
        randomised_on = allocations[participant.pk]["randomised_on"]
        if randomised_on >= today:
            continue
        status = participant.status
        participant.status = ParticipantStatus.RANDOMISED
        audited_save(participant, user=user, reason="demo: record the end as an event")
        try:
            if status == ParticipantStatus.DECEASED:
                services.death_record(
                    participant=participant,
                    user=user,
                    date_of_death=_event_day(randomised_on, today, 0.7),
                    relation="myeloma",
                    cause="Progressive multiple myeloma (demo)",
                )
            else:
                withdrawals += 1
                services.withdrawal_record(
                    participant=participant,
                    user=user,
                    withdrawn_on=_event_day(randomised_on, today, 0.5),
                    reason="Too tired to continue the calls (demo)",
                    data_use_allowed=withdrawals != 2,
                )
        except ValidationError as exc:
            logger.info("Demo: end of %s not recorded: %s", participant.trial_number, exc)
            participant.refresh_from_db()
            participant.status = status
            audited_save(participant, user=user, reason="demo: status restored")
