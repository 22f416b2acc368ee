"""Events of the randomisation for the participant's timeline (registered in apps.py)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from randomization import selectors
from randomization.models import Allocation, ProtocolDeviation
from trial.registry import TimelineEvent


def allocation_events(user, participant) -> list[TimelineEvent]:
    events: list[TimelineEvent] = []
    allocation = (
        Allocation.objects.select_related("envelope").filter(participant=participant).first()
    )
    if allocation is not None:
        events.append(
            TimelineEvent(
                when=allocation.randomised_at,
                title=_("Randomised: envelope %(serial)s") % {"serial": allocation.envelope.serial},
                kind="randomised",
            )
        )
        # Revealed means confirmed, so confirmed_at is set; the check keeps the type checker sure.
        if selectors.allocation_revealed(allocation) and allocation.confirmed_at is not None:
            events.append(
                TimelineEvent(
                    when=allocation.confirmed_at,
                    title=_("Envelope confirmed: %(arm)s") % {"arm": allocation.get_arm_display()},
                    kind="randomised",
                )
            )
    for deviation in ProtocolDeviation.objects.filter(participant=participant):
        events.append(
            TimelineEvent(
                when=deviation.reported_at,
                title=_("Protocol deviation: %(kind)s") % {"kind": deviation.get_kind_display()},
                detail=deviation.sentence,
                kind="deviation",
            )
        )
    return events
