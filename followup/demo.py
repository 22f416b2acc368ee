"""The demo's follow-up (a seed_demo step after randomisation, registered in apps.py).

The demo randomises everyone "now"; a follow-up without history would show an empty worklist.
So this step moves the demo allocations back in time (demo data only, never a real trial) and
replays the nights since then: each simulated day runs the nightly job, and the nurse reaches
most patients whose contact is due, through the same service the call page uses. Today's calls
(a no-answer, a death reported by a relative) come in a last step, seed_followup_today. The
worklist, weekly list and completeness page then show every state. Idempotent: once calls are
logged it does nothing.

The analysis cohort (trial.participants.demo.ANALYSIS_COHORT) is randomised on its own dates
by the envelopes step; those still in follow-up take part in the replay without being moved.

Confirming an allocation creates the participant's contacts at once, anchored on the day it
happened; the demo then dates the allocations back, so before the replay it drops those
untouched contacts and lets the replayed nights create them on the moved dates.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
from typing import Any

from django.conf import settings
from django.db.models import Case, Min, When
from django.utils import timezone

from followup import services
from followup.call_items import conservative_arm
from followup.models import CallOutcome, Contact, ContactStatus, MissingReason
from trial.models import ParticipantStatus
from trial.protocol.schedule import local_today

logger = logging.getLogger(__name__)

# Days before today each randomised demo participant is moved to, in trial-number order:
# some in the weekly calls, one at three months, one past the surgical control.
DEMO_DAYS_AGO = (9, 26, 45, 95, 130, 16, 4, 60, 33, 75)
# How often the simulated nurse reaches a due patient on a given day.
REACH_RATE = 0.3
# How often a reached patient declines the longer questionnaires (ODI, EQ-5D), which the call
# then records as missing with a reason.
DECLINE_RATE = 0.15


def seed_followup(context: dict) -> None:
    from questionnaires.models import QuestionnaireResponse
    from randomization.models import Allocation
    from trial.participants.demo import cohort_member

    nurse = context["users"].get("nurse")
    rng = context.get("rng") or random.Random(6)
    from followup.models import CallLog

    if CallLog.objects.exists():
        return
    Contact.objects.filter(attempts=0, calls__isnull=True).delete()
    allocations = list(
        Allocation.objects.filter(participant__status=ParticipantStatus.RANDOMISED)
        .select_related("participant__site")
        .order_by("participant__trial_number")
    )
    moved = [a for a in allocations if cohort_member(a.participant) is None]
    now = timezone.now()
    for allocation, days in zip(moved, DEMO_DAYS_AGO, strict=False):
        Allocation.objects.filter(pk=allocation.pk).update(
            randomised_at=now - dt.timedelta(days=days)
        )
    today = local_today()
    first = Allocation.objects.filter(pk__in=[a.pk for a in allocations]).aggregate(
        first=Min("randomised_at")
    )["first"]
    start = min(today, local_today(first)) if first else today
    # The nightly job creates the contacts whose window opens within the coming
    # FOLLOWUP_HORIZON_DAYS; the replay creates them once per horizon, which gives the same
    # contacts for a fraction of the queries. Their status moves every simulated night.
    stride = max(1, settings.FOLLOWUP_HORIZON_DAYS)
    profiles: dict[int, Any] = {}  # each participant's outcome profile, read once
    day = start
    while day < today:
        if (day - start).days % stride == 0:
            services.contacts_create_due(today=day, horizon_days=stride, catch_up_days=-1)
        services.contacts_update_status(today=day)
        if nurse is not None:
            # Windows still open today are left for today's nurse: the worklist opens with
            # the calls that are to be made now, as it would in a clinic.
            for contact in Contact.objects.filter(
                status=ContactStatus.DUE, window_closes__lt=today
            ).select_related("participant"):
                if rng.random() > REACH_RATE:
                    continue
                answered = set(
                    QuestionnaireResponse.objects.filter(
                        participant=contact.participant, visit_code=contact.visit_code
                    ).values_list("instrument_code", flat=True)
                )
                _reach(contact, nurse, rng, answered, day, profiles)
        day += dt.timedelta(days=1)
    services.contacts_create_due(today=today, catch_up_days=-1)
    services.contacts_update_status(today=today)
    # As in the trial, everyone in follow-up has their whole schedule, not only this week's.
    for allocation in allocations:
        services.contacts_create_for(participant=allocation.participant, today=today)


def seed_followup_today(context: dict) -> None:
    """Today's calls, run last (after treatment and outcomes, which need the participants
    alive): the nightly job again (procedures recorded since add the surgical control), a
    no-answer, and a death reported by a relative."""
    from followup.models import CallLog

    nurse = context["users"].get("nurse")
    today = local_today()
    services.contacts_create_due(today=today, catch_up_days=-1)
    services.contacts_update_status(today=today)
    if nurse is None or CallLog.objects.exclude(notes="demo").exists():
        return
    due = list(
        Contact.objects.filter(status=ContactStatus.DUE, participant__site__in=nurse.sites.all())
        .select_related("participant")
        .order_by("window_closes", "id")
    )
    if due:
        services.call_log_record(
            contact=due[0], user=nurse, outcome=CallOutcome.NO_ANSWER, notes="demo: voicemail"
        )
    # A relative reports a death, on the call of a participant with nothing due today, so the
    # worklist keeps its due contacts and the completeness page shows cancelled ones.
    busy = {contact.participant_id for contact in due}
    later = (
        Contact.objects.filter(status=ContactStatus.PLANNED)
        .exclude(participant_id__in=busy)
        # Another site's participant, so the demo nurse's own list stays full.
        .order_by(
            Case(When(participant__site__in=nurse.sites.all(), then=1), default=0),
            "-window_opens",
            "id",
        )
        .first()
    )
    if later is not None:
        try:
            services.call_log_record(
                contact=later,
                user=nurse,
                outcome=CallOutcome.DIED,
                notes="demo: the daughter answered",
                death=services.DeathInput(
                    date_of_death=today - dt.timedelta(days=2), relation="myeloma"
                ),
            )
        except Exception as exc:  # demo only: a refused death must not stop seed_demo
            logger.info("Demo: death not recorded: %s", exc)


def _reach(
    contact: Contact, nurse, rng: random.Random, answered: set[str], day, profiles: dict
) -> None:
    from questionnaires.demo import outcome_profile, visit_answers

    # The patient's answers follow the demo's outcome model (questionnaires.demo); now and then
    # the longer questionnaires are declined and left out with a reason, so the worklist and
    # completeness show visits done with items missing.
    participant = contact.participant
    if participant.pk not in profiles:
        profiles[participant.pk] = outcome_profile(participant)
    questionnaires = {
        code: answers
        for code, answers in visit_answers(
            participant, contact.visit_code, profiles[participant.pk], contact.target_date
        ).items()
        if code not in answered
    }
    missing: dict[str, str] = {}
    if rng.random() < DECLINE_RATE:
        for code in ("odi", "eq5d3l"):
            if questionnaires.pop(code, None) is not None:
                missing[code] = rng.choice([MissingReason.DECLINED, MissingReason.TOO_ILL])
    try:
        services.call_log_record(
            contact=contact,
            user=nurse,
            outcome=CallOutcome.REACHED,
            notes="demo",
            # Called on the simulated day, inside the window, as the nurse would have.
            called_at=dt.datetime.combine(day, dt.time(11), tzinfo=timezone.get_default_timezone()),
            items=services.VisitItemsInput(
                opioid_omeq_mg=rng.choice([0, 10, 20, 30, 60]),
                pain_medication="Paracetamol 1 g x 4",
                new_adverse_events=False,
                crossover_wish=False if conservative_arm(contact.participant) else None,
                questionnaires=questionnaires,
                missing=missing,
            ),
        )
    except Exception as exc:  # demo only
        logger.info("Demo: call for %s not logged: %s", contact, exc)
