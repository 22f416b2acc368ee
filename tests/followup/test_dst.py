"""Europe/Copenhagen across the daylight-saving changes of 2026 (29 March, 25 October):
windows are whole calendar days, and "today" is the Copenhagen date, not the UTC one."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from followup import selectors, services
from followup.models import Contact
from tests.followup.conftest import allocate
from trial.models import Role
from trial.protocol.schedule import local_today

CPH = ZoneInfo("Europe/Copenhagen")
UTC = dt.UTC


@pytest.mark.parametrize(
    ("local_time", "day"),
    [
        # Spring forward: 02:00 CET becomes 03:00 CEST on 29 March.
        (dt.datetime(2026, 3, 28, 23, 30, tzinfo=CPH), dt.date(2026, 3, 28)),
        (dt.datetime(2026, 3, 29, 0, 30, tzinfo=CPH), dt.date(2026, 3, 29)),
        (dt.datetime(2026, 3, 29, 23, 30, tzinfo=CPH), dt.date(2026, 3, 29)),
        # Fall back: 03:00 CEST becomes 02:00 CET on 25 October.
        (dt.datetime(2026, 10, 24, 23, 30, tzinfo=CPH), dt.date(2026, 10, 24)),
        (dt.datetime(2026, 10, 25, 23, 30, tzinfo=CPH), dt.date(2026, 10, 25)),
    ],
)
def test_a_late_evening_randomisation_anchors_on_the_copenhagen_date(world, local_time, day):
    allocate(world.own_participant, local_time.astimezone(UTC))
    services.contacts_create_due(today=day, catch_up_days=-1)
    w1 = Contact.objects.get(participant=world.own_participant, visit_code="W1")
    assert w1.anchor_date == day
    assert w1.target_date == day + dt.timedelta(days=7)
    assert (w1.target_date - w1.window_opens).days == 3 == (w1.window_closes - w1.target_date).days


@pytest.mark.parametrize(
    ("instant", "day"),
    [
        # 22:30 UTC on 28 March is 23:30 CET: still the 28th in Copenhagen.
        (dt.datetime(2026, 3, 28, 22, 30, tzinfo=UTC), dt.date(2026, 3, 28)),
        # 22:30 UTC on 29 March is 00:30 CEST on the 30th: UTC would still say the 29th.
        (dt.datetime(2026, 3, 29, 22, 30, tzinfo=UTC), dt.date(2026, 3, 30)),
        # 22:30 UTC on 24 October is 00:30 CEST on the 25th.
        (dt.datetime(2026, 10, 24, 22, 30, tzinfo=UTC), dt.date(2026, 10, 25)),
        # 23:30 UTC on 25 October is 00:30 CET on the 26th.
        (dt.datetime(2026, 10, 25, 23, 30, tzinfo=UTC), dt.date(2026, 10, 26)),
        (dt.datetime(2026, 10, 25, 22, 30, tzinfo=UTC), dt.date(2026, 10, 25)),
    ],
)
def test_today_is_the_copenhagen_date_across_the_changes(instant, day):
    assert local_today(instant) == day


@pytest.mark.parametrize("change", [dt.date(2026, 3, 29), dt.date(2026, 10, 25)])
def test_the_worklist_tabs_hold_whole_days_across_a_change(world, change):
    """A W1 targeted on the change day: due from three days before to three days after,
    in the today tab on each of those days and in the week tab of its week."""
    allocate(
        world.own_participant, dt.datetime.combine(change - dt.timedelta(days=7), dt.time(12), CPH)
    )
    services.contacts_create_due(today=change - dt.timedelta(days=4))
    nurse = world.users[Role.NURSE]
    for offset in range(-5, 6):
        day = change + dt.timedelta(days=offset)
        services.contacts_update_status(today=day)
        listed = selectors.worklist(nurse, tab="today", today=day).filter(visit_code="W1").exists()
        assert listed == (-3 <= offset <= 3), (day, listed)
        if offset == -3:
            assert selectors.worklist(nurse, tab="week", today=day).filter(visit_code="W1").exists()
    assert Contact.objects.get(visit_code="W1").status == "missed"


def test_the_monday_beat_runs_at_copenhagen_time_in_summer_and_winter(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["followup-weekly-lists"]
    assert settings.CELERY_TIMEZONE == "Europe/Copenhagen"
    schedule = entry["schedule"]
    assert schedule.day_of_week == {1} and schedule.hour == {6}
