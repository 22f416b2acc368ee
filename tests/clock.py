"""The clock of tests that compare dates.

Code under test asks ``timezone.localdate()`` when it runs; a test that computed its dates
earlier (at import, or before a slow step) disagrees with it once the day changes in Copenhagen.
Such tests run on a fixed day instead (the ``fixed_day`` fixture in tests/conftest.py): the
clock stands at noon of ``FIXED_DAY`` and runs on, so no test reaches midnight.

``VERTEBRA_TEST_MIDNIGHT=<seconds>`` starts every test that many seconds before the coming
midnight in Copenhagen, so that the day changes while it runs: the way to prove a module
robust (see README "Tests").
"""

from __future__ import annotations

import datetime as dt
import os
from zoneinfo import ZoneInfo

COPENHAGEN = ZoneInfo("Europe/Copenhagen")

# A weekday well after the protocol's first criteria (2024-01-01) and with the fixtures'
# patients at the ages their CPR numbers give them.
FIXED_DAY = dt.date(2026, 9, 15)

MIDNIGHT_VARIABLE = "VERTEBRA_TEST_MIDNIGHT"


def noon(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(12), tzinfo=COPENHAGEN)


def seconds_before_midnight() -> float | None:
    """The lead asked for in VERTEBRA_TEST_MIDNIGHT, or None when the clock is left alone."""
    raw = os.environ.get(MIDNIGHT_VARIABLE, "").strip()
    if not raw:
        return None
    seconds = float(raw)
    if not 0 < seconds < 3600:
        raise ValueError(f"{MIDNIGHT_VARIABLE}={raw!r}: give seconds between 0 and 3600")
    return seconds


def before_midnight(seconds: float, now: dt.datetime | None = None) -> dt.datetime:
    """``seconds`` before the first midnight in Copenhagen after ``now`` (default: the real
    clock)."""
    local = (now or dt.datetime.now(tz=COPENHAGEN)).astimezone(COPENHAGEN)
    midnight = dt.datetime.combine(local.date() + dt.timedelta(days=1), dt.time(), COPENHAGEN)
    return midnight - dt.timedelta(seconds=seconds)
