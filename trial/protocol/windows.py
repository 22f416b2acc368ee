"""Whether the schedule lets a visit's data be recorded now: the one rule behind phone and
paper entry, calls and personal links.

- Follow-up is for randomised participants only: an allocation whose opened envelope is
  confirmed (the concealment rule, ``trial.registry.revealed_allocation_q``). Before that the
  participant counts as not randomised, here as for the statistician.
- Each follow-up visit has its window: the schedule in force applied to the participant's
  anchor dates (``trial.protocol.anchors``). A visit anchored on an event not recorded yet
  (no procedure) has no window and is not scheduled.
- Data entered outside the window is refused unless the person entering it confirms, and it
  is then recorded as out of window for the data manager.
- Baseline is before randomisation and is exempt from all of it.

Day 0, windows and dates are the trial's Copenhagen calendar dates (``local_today``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from django.utils.formats import date_format
from django.utils.translation import gettext as _

from trial.errors import ServiceError
from trial.protocol.anchors import anchors_for, arm_lookup, participant_anchors
from trial.protocol.schedule import active_schedule, local_today, visit_windows, window_status
from trial.protocol.visits import BASELINE

Position = Literal["before", "inside", "after"]
_POSITION: dict[str, Position] = {"planned": "before", "due": "inside", "missed": "after"}


def _day(value: dt.date) -> str:
    return date_format(value, "SHORT_DATE_FORMAT")


class NotRandomised(ServiceError):
    """Follow-up data for a participant who is not randomised (or not confirmed yet)."""


class NotScheduled(ServiceError):
    """A visit whose anchor event (e.g. the procedure) has not been recorded."""


class OutOfWindow(ServiceError):
    """Data outside the visit's window, not confirmed by the person entering it."""

    def __init__(self, timing: VisitTiming) -> None:
        self.timing = timing
        super().__init__(
            _(
                "Visit %(visit)s is outside its window (opens %(opens)s, closes %(closes)s). "
                "Tick “Record anyway” to record it as out of window."
            )
            % timing.labels()
        )


@dataclass(frozen=True)
class VisitTiming:
    """One participant's visit as the schedule sees it: randomised or not, and its window
    (None for baseline, or while the event the visit follows has not been recorded)."""

    visit_code: str
    trial_number: str
    randomised: bool
    opens: dt.date | None = None
    target: dt.date | None = None
    closes: dt.date | None = None

    @property
    def exempt(self) -> bool:
        return self.visit_code == BASELINE

    def position(self, day: dt.date) -> Position | None:
        """Where ``day`` falls: before the window, inside it (both ends included), after it."""
        if self.opens is None or self.target is None or self.closes is None:
            return None
        return _POSITION[window_status(_Window(self.opens, self.closes), day)]

    def inside(self, day: dt.date) -> bool:
        return self.exempt or self.position(day) == "inside"

    def labels(self) -> dict[str, str]:
        return {
            "visit": self.visit_code,
            "number": self.trial_number,
            "opens": _day(self.opens) if self.opens else "",
            "closes": _day(self.closes) if self.closes else "",
        }

    def confirm_label(self) -> str:
        """The checkbox that records data outside the window anyway."""
        return (
            _("Record anyway: the visit is outside its window (opens %(opens)s, closes %(closes)s)")
            % self.labels()
        )

    def require_scheduled(self) -> None:
        """Refuse follow-up data for a participant who is not randomised or a visit without a
        window yet; baseline passes."""
        if self.exempt:
            return
        if not self.randomised:
            raise NotRandomised(
                _(
                    "%(number)s is not randomised, or the opened envelope is not confirmed yet: "
                    "nothing is recorded for follow-up visit %(visit)s before randomisation."
                )
                % self.labels()
            )
        if self.opens is None:
            raise NotScheduled(
                _(
                    "Visit %(visit)s is not scheduled for %(number)s yet: the event it follows "
                    "has not been recorded."
                )
                % self.labels()
            )

    def check(self, *, day: dt.date | None = None, confirmed: bool = False) -> bool:
        """The rule for entering the visit's data on ``day`` (default: today). Raises
        NotRandomised, NotScheduled or, unless ``confirmed``, OutOfWindow; returns whether the
        data is out of window, to be recorded with it."""
        self.require_scheduled()
        if self.inside(day or local_today()):
            return False
        if not confirmed:
            raise OutOfWindow(self)
        return True


@dataclass(frozen=True)
class _Window:
    # The two dates window_status reads (a VisitWindow without its definition).
    opens: dt.date
    closes: dt.date


def _allocation_prefix(arm_path: str) -> str:
    return f"{arm_path.rsplit('__', 1)[0]}__"


def revealed_arm(participant) -> tuple[bool, str | None]:
    """(randomised, arm): randomised once the allocation is confirmed, and only then its arm."""
    arms = revealed_arms([participant.pk])
    return (participant.pk in arms, arms.get(participant.pk))


def is_randomised(participant) -> bool:
    return revealed_arm(participant)[0]


def participant_timings(participant) -> tuple[bool, dict[str, VisitTiming]]:
    """Whether the participant is randomised, and the timing of every follow-up visit with a
    window, by visit code (none before randomisation). A fixed handful of queries."""
    randomised, arm = revealed_arm(participant)
    if not randomised:
        return False, {}
    return True, {
        window.visit.code: VisitTiming(
            visit_code=window.visit.code,
            trial_number=participant.trial_number,
            randomised=True,
            opens=window.opens,
            target=window.target,
            closes=window.closes,
        )
        for window in visit_windows(active_schedule(), participant_anchors(participant.pk), arm)
    }


def visit_timing(participant, visit_code: str) -> VisitTiming:
    """One visit's timing for one participant (no query for baseline)."""
    number = participant.trial_number
    if visit_code == BASELINE:
        return VisitTiming(visit_code=visit_code, trial_number=number, randomised=False)
    randomised, timings = participant_timings(participant)
    return timings.get(visit_code) or VisitTiming(
        visit_code=visit_code, trial_number=number, randomised=randomised
    )


def randomised_q(path: str = ""):
    """A filter keeping randomised participants (allocation confirmed), on a query reaching
    the participant by ``path`` (``""`` on Participant, ``"participant__"`` on a contact)."""
    from django.db.models import Q

    from trial.registry import revealed_allocation_q

    arm_path = arm_lookup()
    if arm_path is None:
        return Q(pk__in=[])
    return revealed_allocation_q(f"{path}{_allocation_prefix(arm_path)}")


def revealed_arms(participant_ids) -> dict[int, str | None]:
    """The randomised ones of these participants (allocation confirmed), with their arm: one
    query however many (``participant_ids``: ids or a queryset of them)."""
    from trial.models import Participant

    arm_path = arm_lookup()
    if arm_path is None:
        return {}
    return dict(
        Participant.objects.filter(pk__in=participant_ids)
        .filter(randomised_q())
        .values_list("pk", arm_path)
    )


def followup_over_many(participants, today: dt.date | None = None) -> dict[int, bool]:
    """Whether nothing more is to be collected from each of ``participants`` (by id): the
    follow-up ended (death, withdrawal, completion), the participant was never included, or
    the window of the last visit of the schedule in force has closed. Read by the data lock's
    conditions; a fixed number of queries however many participants."""
    from trial.models import ENDED_STATUSES, ParticipantStatus

    today = today or local_today()
    over = {
        p.pk: p.status in ENDED_STATUSES or p.status == ParticipantStatus.NOT_INCLUDED
        for p in participants
    }
    going = [pk for pk, ended in over.items() if not ended]
    if not going:
        return over
    arms = revealed_arms(going)
    anchors = anchors_for(list(arms))
    schedule = active_schedule()
    for pk, arm in arms.items():
        closes = [w.closes for w in visit_windows(schedule, anchors.get(pk, {}), arm) if w.closes]
        over[pk] = bool(closes) and max(closes) < today
    return over
