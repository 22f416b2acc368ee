"""The nightly scheduler: contacts appear when due, exactly once, in Copenhagen dates."""

from __future__ import annotations

import datetime as dt
import json
import threading

import pytest
from django.db import connection

from followup import services
from followup.models import Contact
from tests.factories import ParticipantFactory
from tests.followup.conftest import allocate
from trial.models import ParticipantStatus
from trial.protocol import active_schedule

UTC = dt.UTC


def at(day: dt.date, hour=10) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=UTC)


def visits(participant) -> dict[str, str]:
    return dict(Contact.objects.filter(participant=participant).values_list("visit_code", "status"))


def test_the_first_weekly_call_is_created_on_the_day_of_randomisation(world):
    day = dt.date(2026, 5, 4)
    allocate(world.own_participant, at(day))
    assert services.contacts_create_due(today=day) == 1
    contact = Contact.objects.get()
    assert (contact.visit_code, contact.status) == ("W1", "planned")
    assert (contact.window_opens, contact.target_date, contact.window_closes) == (
        dt.date(2026, 5, 8),
        dt.date(2026, 5, 11),
        dt.date(2026, 5, 14),
    )


def test_running_the_scheduler_twice_changes_nothing(world):
    day = dt.date(2026, 5, 4)
    allocate(world.own_participant, at(day - dt.timedelta(days=40)))
    first = services.contacts_create_due(today=day)
    rows = list(Contact.objects.order_by("id").values())
    assert first > 0
    assert services.contacts_create_due(today=day) == 0
    assert list(Contact.objects.order_by("id").values()) == rows


def test_a_late_start_creates_past_visits_as_missed_and_current_ones_as_due(world):
    today = dt.date(2026, 5, 4)
    allocate(world.own_participant, at(today - dt.timedelta(days=28)))
    services.contacts_create_due(today=today)
    got = visits(world.own_participant)
    # W1-W3 windows closed; W4 (day 28) is due today; W5 opens within the coming week.
    assert got["W1"] == got["W2"] == got["W3"] == "missed"
    assert got["W4"] == "due"
    assert got["W5"] == "planned"
    assert "W6" not in got and "M3" not in got


def test_participants_who_died_or_withdrew_are_never_scheduled(world):
    day = dt.date(2026, 5, 4)
    for status in (ParticipantStatus.DECEASED, ParticipantStatus.WITHDRAWN):
        p = ParticipantFactory(site=world.own)
        allocate(p, at(day))
        p.status = status
        p.save(update_fields=["status"])
    assert services.contacts_create_due(today=day) == 0


def test_the_surgical_control_waits_for_a_procedure_date(world):
    day = dt.date(2026, 5, 4)
    allocate(world.own_participant, at(day - dt.timedelta(days=200)), arm="pvp")
    services.contacts_create_due(today=day)
    assert "SC" not in visits(world.own_participant)


@pytest.mark.parametrize(
    ("utc_moment", "local_day"),
    [
        # 00:30 local on the night clocks go forward (29 March 2026, CET -> CEST).
        (dt.datetime(2026, 3, 28, 23, 30, tzinfo=UTC), dt.date(2026, 3, 29)),
        # 00:30 local on the night clocks go back (25 October 2026, CEST -> CET).
        (dt.datetime(2026, 10, 24, 22, 30, tzinfo=UTC), dt.date(2026, 10, 25)),
        # 23:30 local on 25 October, after the change, is 22:30 UTC the same day.
        (dt.datetime(2026, 10, 25, 22, 30, tzinfo=UTC), dt.date(2026, 10, 25)),
    ],
)
def test_day_zero_is_the_copenhagen_date_of_randomisation_across_dst(world, utc_moment, local_day):
    allocate(world.own_participant, utc_moment)
    services.contacts_create_due(today=local_day)
    contact = Contact.objects.get(visit_code="W1")
    assert contact.anchor_date == local_day
    assert contact.target_date == local_day + dt.timedelta(days=7)


def test_a_visit_for_one_arm_only_is_created_only_in_that_arm(world, settings, tmp_path):
    schedule = {
        "code": "armtest",
        "label": "arm test",
        "visits": [
            {
                "code": "PVPONLY",
                "label": "PVP arm only",
                "anchor": "randomisation",
                "day": 1,
                "window_before": 0,
                "window_after": 2,
                "collects": ["vas_back"],
                "arms": ["pvp"],
                "primary": False,
                "contact_kind": "phone",
            },
        ],
    }
    path = tmp_path / "armtest.json"
    path.write_text(json.dumps(schedule))
    settings.FOLLOWUP_SCHEDULE = str(path)
    day = dt.date(2026, 5, 4)
    pvp = ParticipantFactory(site=world.own)
    conservative = ParticipantFactory(site=world.own)
    allocate(pvp, at(day), arm="pvp")
    allocate(conservative, at(day), arm="conservative")
    services.contacts_create_due(today=day)
    assert visits(pvp) == {"PVPONLY": "planned"}
    assert visits(conservative) == {}


def test_the_query_count_does_not_grow_with_participants(world, django_assert_max_num_queries):
    day = dt.date(2026, 5, 4)
    for _ in range(30):
        allocate(ParticipantFactory(site=world.own), at(day - dt.timedelta(days=50)))
    visits_in_schedule = len(active_schedule().visits)
    # Per visit: one SELECT of anchors, at most one INSERT batch (+ savepoint); plus counts.
    with django_assert_max_num_queries(visits_in_schedule * 4 + 2):
        services.contacts_create_due(today=day)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_create_each_contact_exactly_once():
    if connection.vendor != "postgresql":
        pytest.fail("needs PostgreSQL")
    from tests.factories import SiteFactory

    site = SiteFactory(code="TWO")
    day = dt.date(2026, 5, 4)
    for _ in range(40):
        allocate(ParticipantFactory(site=site), at(day - dt.timedelta(days=60)))
    barrier = threading.Barrier(2)
    errors = []

    def run():
        try:
            barrier.wait()
            services.contacts_create_due(today=day)
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    per_visit = Contact.objects.values("participant", "visit_code").distinct().count()
    # By day 67 the windows of W1..W10 have opened (W10: day 70 - 3), M3 not yet (day 77).
    assert Contact.objects.count() == per_visit == 40 * 10


def test_the_nightly_run_leaves_long_closed_visits_to_the_catch_up_run(world, settings):
    settings.FOLLOWUP_CATCH_UP_DAYS = 60
    today = dt.date(2026, 5, 4)
    allocate(world.own_participant, at(today - dt.timedelta(days=200)))
    assert services.contacts_create_due(today=today) == 0
    created = services.contacts_create_due(today=today, catch_up_days=-1)
    assert created == 13  # W1-W12 and M3, all missed; M12 is months away
    assert set(visits(world.own_participant).values()) == {"missed"}
