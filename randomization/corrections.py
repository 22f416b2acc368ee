"""What a correction after randomisation means for the allocation (issue 17).

``trial.screening.corrections`` saves a correction of a randomised participant's screening
records and runs the correction checks registered in ``trial.registry``; this is the
randomisation app's one. Before the save it notes the stratum computed from the recorded data
(``services.participant_stratum``, the strata rule) and the eligibility
(``trial.screening.selectors.eligibility_result``, the eligibility rule); after it, a stratum
that the correction moves away from the allocation's, or a participant the correction makes
ineligible, is recorded as a protocol deviation and the coordinator is told, as for every
deviation. The allocation, its arm and its envelope never change. The description names the
strata and criteria, never the arm (it may still be concealed).
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from randomization.models import Allocation, DeviationKind, ProtocolDeviation
from randomization.services import (
    DEVIATION_NOTIFY_TASK,
    deviation_build,
    participant_stratum,
)
from randomization.strata import StratumIncomplete
from trial.audit import audited_save
from trial.models import Participant, User
from trial.screening.selectors import eligibility_result


def _stratum_code(participant: Participant) -> str | None:
    try:
        return participant_stratum(participant).code
    except (StratumIncomplete, ValueError):
        return None


def correction_snapshot(participant: Participant) -> tuple[str | None, str]:
    """The stratum and eligibility status the recorded data give, before a correction."""
    return _stratum_code(participant), eligibility_result(participant).status


def correction_check(
    *,
    participant: Participant,
    before: tuple[str | None, str],
    user: User,
    reason: str,
    what: str,
) -> list[str]:
    """Record the deviations a correction causes; return a warning for each, in words."""
    allocation = (
        Allocation.objects.select_related("envelope").filter(participant=participant).first()
    )
    if allocation is None:
        return []
    stratum_before, eligible_before = before
    stratum = _stratum_code(participant)
    result = eligibility_result(participant)
    facts = {
        "what": what,
        "number": participant.trial_number,
        "user": user.username,
        "old": allocation.stratum,
        "serial": allocation.envelope.serial,
        "reason": reason,
    }
    warnings: list[str] = []
    if stratum != stratum_before and stratum != allocation.stratum:
        _deviation_record(
            participant=participant,
            user=user,
            kind=DeviationKind.CORRECTION_CHANGES_STRATUM,
            key="correction_changes_stratum",
            params={**facts, "new": stratum or ""},
        )
        warnings.append(
            _(
                "This correction changes the stratum from %(old)s to %(new)s. The allocation "
                "does not change; the correction is recorded as a protocol deviation and the "
                "coordinator is told."
            )
            % {"old": allocation.stratum, "new": stratum or "—"}
        )
    if result.status == "not_eligible" and eligible_before != "not_eligible":
        # The unmet criteria in the words of whoever corrected (the checklist's own text).
        criteria = "; ".join(result.reasons)
        _deviation_record(
            participant=participant,
            user=user,
            kind=DeviationKind.CORRECTION_MAKES_INELIGIBLE,
            key="correction_makes_ineligible",
            params={**facts, "criteria": criteria},
        )
        warnings.append(
            _(
                "After this correction the participant no longer meets the eligibility "
                "criteria (%(criteria)s). The allocation does not change; the correction is "
                "recorded as a protocol deviation and the coordinator is told."
            )
            % {"criteria": criteria}
        )
    return warnings


def _deviation_record(
    *, participant: Participant, user: User, kind: str, key: str, params: dict
) -> ProtocolDeviation:
    """Stored as facts (randomization.services.deviation_build), so each reader gets the
    sentence in their own language."""
    from trial.outbox.services import task_enqueue

    deviation = audited_save(
        deviation_build(participant=participant, kind=kind, key=key, params=params, user=user),
        user=user,
    )
    task_enqueue(name=DEVIATION_NOTIFY_TASK, args=[deviation.pk])
    return deviation
