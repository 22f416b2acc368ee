"""The one rule of when a visit's data may be recorded (trial/protocol/windows.py): only for a
randomised participant, inside the visit's window unless confirmed, baseline exempt."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from tests import clock
from tests.factories import allocate
from trial.protocol.windows import (
    NotRandomised,
    NotScheduled,
    OutOfWindow,
    is_randomised,
    participant_timings,
    visit_timing,
)

pytestmark = pytest.mark.django_db

DAY0 = dt.date(2026, 3, 2)
# W3: day 21 +/- 3, so the window is 20 to 26 March 2026, both ends included.
W3_OPENS, W3_CLOSES = dt.date(2026, 3, 20), dt.date(2026, 3, 26)


@pytest.fixture
def participant(world):
    allocate(world.own_participant, clock.noon(DAY0))
    return world.own_participant


def test_the_window_comes_from_the_schedule_and_day_0(participant):
    timing = visit_timing(participant, "W3")
    assert timing.randomised
    assert (timing.opens, timing.target, timing.closes) == (
        W3_OPENS,
        dt.date(2026, 3, 23),
        W3_CLOSES,
    )


@pytest.mark.parametrize(
    ("day", "position"),
    [
        (W3_OPENS - dt.timedelta(days=1), "before"),
        (W3_OPENS, "inside"),
        (W3_CLOSES, "inside"),
        (W3_CLOSES + dt.timedelta(days=1), "after"),
    ],
)
def test_window_edges(participant, day, position):
    timing = visit_timing(participant, "W3")
    assert timing.position(day) == position
    assert timing.inside(day) == (position == "inside")
    if position == "inside":
        assert timing.check(day=day) is False  # nothing to flag
    else:
        with pytest.raises(OutOfWindow) as refused:
            timing.check(day=day)
        assert "20" in str(refused.value) and "26" in str(refused.value)
        assert timing.check(day=day, confirmed=True) is True  # recorded as out of window


@pytest.mark.parametrize(
    ("today", "allowed"),
    [
        (W3_OPENS - dt.timedelta(days=1), False),
        (W3_OPENS, True),
        (W3_CLOSES, True),
        (W3_CLOSES + dt.timedelta(days=1), False),
    ],
)
def test_without_a_day_the_rule_reads_todays_copenhagen_date(participant, today, allowed):
    # Late in the evening in Copenhagen, when the server's UTC date is still the day before.
    evening = dt.datetime.combine(today, dt.time(23, 30), tzinfo=clock.COPENHAGEN)
    with time_machine.travel(evening, tick=False):
        timing = visit_timing(participant, "W3")
        if allowed:
            assert timing.check() is False
        else:
            with pytest.raises(OutOfWindow):
                timing.check()


def test_a_participant_not_randomised_has_no_follow_up(world):
    timing = visit_timing(world.own_participant, "W4")
    assert not timing.randomised and timing.opens is None
    with pytest.raises(NotRandomised):
        timing.check(day=DAY0, confirmed=True)  # confirming does not help
    assert participant_timings(world.own_participant) == (False, {})


def test_an_unconfirmed_allocation_counts_as_not_randomised(world):
    allocate(world.own_participant, clock.noon(DAY0), confirmed=False)
    assert not is_randomised(world.own_participant)
    with pytest.raises(NotRandomised):
        visit_timing(world.own_participant, "W1").check(day=DAY0 + dt.timedelta(days=7))


def test_baseline_is_exempt(world):
    timing = visit_timing(world.own_participant, "BL")
    assert timing.exempt
    assert timing.check(day=DAY0) is False


def test_a_visit_anchored_on_an_event_not_recorded_is_not_scheduled(participant):
    # The surgical control follows the procedure, which has not been recorded.
    timing = visit_timing(participant, "SC")
    assert timing.randomised and timing.opens is None
    with pytest.raises(NotScheduled):
        timing.check(day=DAY0, confirmed=True)
