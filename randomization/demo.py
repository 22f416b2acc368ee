"""The demo's envelopes and allocations (a seed_demo step, registered in apps.py).

Idempotent: a stratum that already has stock gets no new batch, and a participant already
randomised is left alone. Participants the demo shows as randomised (or later states) are
randomised through the one service, participant_randomize, when their screening path and
baseline are complete; others are skipped quietly.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.utils import timezone

from randomization import services
from randomization.models import Allocation, ProtocolDeviation, StratumStock, envelope_serial
from trial.audit import audited_save
from trial.models import Participant, ParticipantStatus, SiteKind
from trial.participants.demo import cohort_member
from trial.participants.selectors import randomisation_blocker_details
from trial.screening.demo import PATH_DAYS, past_start_days

logger = logging.getLogger(__name__)

DEMO_BATCH_SIZE = 20
_LATER_STATES = {
    ParticipantStatus.RANDOMISED,
    ParticipantStatus.COMPLETED,
    ParticipantStatus.WITHDRAWN,
    ParticipantStatus.DECEASED,
}


def seed_envelopes(context: dict) -> None:
    users = context["users"]
    coordinator = users.get("coordinator")
    rng = context.get("rng")
    participants = list(
        Participant.objects.filter(site__kind=SiteKind.HEMATOLOGY)
        .select_related("site")
        .order_by("site__code", "sequence")
    )
    wanted: set[tuple[int, str]] = set()
    for participant in participants:
        stratum, _problems = services.participant_stratum_check(participant)
        if stratum is not None:
            wanted.add((participant.site_id, stratum.code))
    sites = {p.site_id: p.site for p in participants}
    for site_id, code in sorted(wanted):
        if not StratumStock.objects.filter(site_id=site_id, stratum=code).exists():
            services.envelope_batch_generate(
                site=sites[site_id],
                stratum=code,
                count=DEMO_BATCH_SIZE,
                user=coordinator,
                note="demo",
                rng=rng,
            )

    for participant in participants:
        if participant.status not in _LATER_STATES:
            continue
        if Allocation.objects.filter(participant=participant).exists():
            continue
        # The demo shows them in a later state already; only that status may stand in the way.
        blockers = [b for b in randomisation_blocker_details(participant) if b.code != "status"]
        if blockers:
            continue
        clinician = _clinician(users, participant)
        final_status = participant.status
        # Their path began months ago (trial.screening.demo.past_start_days): the allocation is
        # dated two weeks after that start, so the deaths and withdrawals recorded later in the
        # demo fall between randomisation and today, and the analysis cohort has its follow-up.
        # The base participants still randomised are dated by the follow-up replay instead.
        days_ago = (
            past_start_days(participant) - PATH_DAYS
            if final_status != ParticipantStatus.RANDOMISED or cohort_member(participant)
            else None
        )
        participant.status = ParticipantStatus.SCREENING
        audited_save(participant, user=clinician, reason="demo: randomised through the service")
        try:
            allocation = services.participant_randomize(participant=participant, user=clinician)
        except services.RandomisationRefused as exc:
            logger.info("Demo: %s not randomised: %s", participant.trial_number, exc)
            participant.refresh_from_db()
            participant.status = final_status
            audited_save(participant, user=clinician, reason="demo: status restored")
            continue
        # One clinician opened the envelope behind the one named and kept the named one sealed:
        # the demo's protocol deviation, waiting on the coordinator's deviations page.
        typo = not ProtocolDeviation.objects.exists()
        services.allocation_confirm(
            allocation=allocation,
            user=clinician,
            serial=envelope_serial(
                participant.site.code, allocation.stratum, allocation.envelope.sequence + 1
            )
            if typo
            else allocation.envelope.serial,
            arm=allocation.arm,
            named_still_sealed=typo,
        )
        if days_ago is not None:
            Allocation.objects.filter(pk=allocation.pk).update(
                randomised_at=timezone.now() - dt.timedelta(days=days_ago)
            )
        if final_status != ParticipantStatus.RANDOMISED:
            participant.refresh_from_db()
            participant.status = final_status
            audited_save(participant, user=clinician, reason="demo: later state")


def _clinician(users: dict, participant: Participant):
    for user in users.values():
        if (
            user.role == "hematologist"
            and user.memberships.filter(site_id=participant.site_id).exists()
        ):
            return user
    return users.get("hematologist")
