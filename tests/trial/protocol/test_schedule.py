"""The follow-up schedule as data: the default from DOMAIN.md, another protocol from JSON, and the
window arithmetic in the trial's local calendar. Pure Python: runs without Django settings."""

import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trial.protocol import schedule as sched
from trial.protocol.schedule import (
    ANCHORS,
    COLLECT_ITEMS,
    Schedule,
    VisitDefinition,
    VisitWindow,
    bundled_schedule,
    load_schedule,
    local_today,
    schedule_to_json,
    visit_windows,
    window_status,
)

SCHEDULES_DIR = Path(sched.__file__).parent / "schedules"
# The trial's own schedule, as shipped; the code reads the one in force (active_schedule()).
VERTEBRA_SCHEDULE = bundled_schedule("vertebra")
WEEKLY_ITEMS = {
    "vas_back",
    "vas_leg",
    "pain_medication",
    "health_service_use",
    "adverse_events",
    "crossover",
}
RANDOMISED = date(2026, 3, 2)


def _by_code(windows: list[VisitWindow]) -> dict[str, VisitWindow]:
    return {window.visit.code: window for window in windows}


def _visit(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "code": "V1",
        "label": "Visit 1",
        "anchor": "randomisation",
        "day": 7,
        "window_before": 3,
        "window_after": 3,
        "collects": ["vas_back"],
    }
    data.update(overrides)
    return data


def _schedule(*visits: dict[str, Any]) -> dict[str, Any]:
    return {"code": "test", "label": "Test schedule", "visits": list(visits) or [_visit()]}


# The default schedule -------------------------------------------------------------------------


def test_default_schedule_has_weekly_calls_for_twelve_weeks() -> None:
    for week in range(1, 13):
        visit = VERTEBRA_SCHEDULE.visit(f"W{week}")
        assert visit.anchor == "randomisation"
        assert visit.day == 7 * week
        assert (visit.window_before, visit.window_after) == (3, 3)
        assert visit.contact_kind == "phone"
        assert visit.arms is None
        assert set(visit.collects) >= WEEKLY_ITEMS


def test_week_four_is_the_only_primary_visit_and_adds_odi_and_eq5d() -> None:
    w4 = VERTEBRA_SCHEDULE.visit("W4")
    assert w4.primary
    assert set(w4.collects) == WEEKLY_ITEMS | {"odi", "eq5d3l"}
    assert [visit.code for visit in VERTEBRA_SCHEDULE.visits if visit.primary] == ["W4"]
    for week in (1, 2, 3, 5, 12):
        assert set(VERTEBRA_SCHEDULE.visit(f"W{week}").collects) == WEEKLY_ITEMS


def test_each_schedule_states_its_primary_outcome() -> None:
    # VERTEBRA: the ODI at week 4; the kyphoplasty example: the back-pain VAS at D15.
    assert (VERTEBRA_SCHEDULE.primary_measure, VERTEBRA_SCHEDULE.primary_visit.code) == (
        "odi",
        "W4",
    )
    kyphoplasty = bundled_schedule("kyphoplasty_example")
    # Its primary visit collects no ODI: the primary outcome there is the back-pain VAS.
    assert "odi" not in kyphoplasty.visit("D15").collects
    assert (kyphoplasty.primary_measure, kyphoplasty.primary_visit.code) == ("vas_back", "D15")


def test_a_schedule_without_a_primary_visit_needs_no_primary_measure() -> None:
    schedule = Schedule.from_dict(_schedule())
    assert (schedule.primary_measure, schedule.primary_visit) == (None, None)
    eq5d = Schedule.from_dict(
        {**_schedule(_visit(primary=True, collects=["eq5d3l"])), "primary_measure": "eq5d_index"}
    )
    assert (eq5d.primary_measure, eq5d.primary_visit.code) == ("eq5d_index", "V1")


def test_three_and_twelve_month_visits() -> None:
    m3 = VERTEBRA_SCHEDULE.visit("M3")
    assert (m3.anchor, m3.day, m3.window_before, m3.window_after) == ("randomisation", 91, 14, 14)
    assert set(m3.collects) == {"odi", "vas_back", "vas_leg", "eq5d3l", "health_service_use"}
    m12 = VERTEBRA_SCHEDULE.visit("M12")
    assert (m12.anchor, m12.day, m12.window_before, m12.window_after) == (
        "randomisation",
        365,
        30,
        30,
    )
    assert set(m12.collects) == set(m3.collects) | {"xray"}


def test_surgical_control_is_anchored_on_the_procedure_not_on_an_arm() -> None:
    control = VERTEBRA_SCHEDULE.visit("SC")
    assert control.anchor == "procedure"
    assert (control.day, control.window_before, control.window_after) == (84, 14, 14)
    assert control.contact_kind == "clinic"
    assert control.collects == ("radiographs_standing",)
    assert control.arms is None


def test_default_schedule_has_no_other_visits() -> None:
    expected = {f"W{week}" for week in range(1, 13)} | {"M3", "M12", "SC"}
    assert {visit.code for visit in VERTEBRA_SCHEDULE.visits} == expected


def test_default_schedule_is_the_shipped_json() -> None:
    path = SCHEDULES_DIR / "vertebra.json"
    assert load_schedule(path) == VERTEBRA_SCHEDULE
    # Byte-for-byte canonical, so the file and a re-export never drift apart in formatting either.
    assert path.read_text(encoding="utf-8") == schedule_to_json(VERTEBRA_SCHEDULE)


def test_every_collect_item_has_a_label_and_the_default_uses_only_known_items() -> None:
    assert set(COLLECT_ITEMS) == {
        "vas_back",
        "vas_leg",
        "pain_medication",
        "health_service_use",
        "adverse_events",
        "crossover",
        "odi",
        "eq5d3l",
        "xray",
        "radiographs_standing",
    }
    assert all(label.strip() for label in COLLECT_ITEMS.values())


# Who gets which visits ------------------------------------------------------------------------


def test_pvp_arm_gets_a_surgical_control_84_days_after_the_procedure() -> None:
    procedure = date(2026, 3, 9)
    windows = _by_code(
        visit_windows(
            VERTEBRA_SCHEDULE, {"randomisation": RANDOMISED, "procedure": procedure}, "pvp"
        )
    )
    control = windows["SC"]
    assert control.target == date(2026, 6, 1) == procedure + timedelta(days=84)
    assert (control.opens, control.closes) == (date(2026, 5, 18), date(2026, 6, 15))
    assert len(windows) == 15


def test_conservative_arm_without_a_procedure_gets_no_surgical_control() -> None:
    for anchors in (
        {"randomisation": RANDOMISED},
        {"randomisation": RANDOMISED, "procedure": None},
    ):
        windows = _by_code(visit_windows(VERTEBRA_SCHEDULE, anchors, "conservative"))
        assert "SC" not in windows
        assert len(windows) == 14


def test_crossover_gets_a_surgical_control_anchored_on_its_own_procedure() -> None:
    crossover_procedure = RANDOMISED + timedelta(days=40)
    windows = _by_code(
        visit_windows(
            VERTEBRA_SCHEDULE,
            {"randomisation": RANDOMISED, "procedure": crossover_procedure},
            "conservative",
        )
    )
    assert windows["SC"].target == crossover_procedure + timedelta(days=84)
    # The randomisation-anchored calls do not move with the crossover.
    assert windows["W4"].target == RANDOMISED + timedelta(days=28)
    assert windows["M12"].target == date(2027, 3, 2)


def test_nothing_is_scheduled_before_randomisation() -> None:
    assert visit_windows(VERTEBRA_SCHEDULE, {}, None) == []


def test_windows_are_sorted_by_target_then_code() -> None:
    windows = visit_windows(VERTEBRA_SCHEDULE, {"randomisation": RANDOMISED}, "pvp")
    assert [window.visit.code for window in windows] == [
        *(f"W{week}" for week in range(1, 13)),
        "M3",
        "M12",
    ]
    same_day = Schedule.from_dict(_schedule(_visit(code="B"), _visit(code="A")))
    assert [w.visit.code for w in visit_windows(same_day, {"randomisation": RANDOMISED}, None)] == [
        "A",
        "B",
    ]


def test_arm_restricted_visits_follow_the_allocation() -> None:
    schedule = Schedule.from_dict(
        _schedule(_visit(code="ALL"), _visit(code="PVP_ONLY", arms=["pvp"]))
    )
    anchors = {"randomisation": RANDOMISED}

    def codes(arm: str | None) -> list[str]:
        return [window.visit.code for window in visit_windows(schedule, anchors, arm)]

    assert codes("pvp") == ["ALL", "PVP_ONLY"]
    assert codes("conservative") == ["ALL"]
    assert codes(None) == ["ALL"]


def test_a_misspelt_anchor_name_is_an_error_not_an_empty_schedule() -> None:
    with pytest.raises(ValueError, match=r"unknown anchor.*randomization"):
        visit_windows(VERTEBRA_SCHEDULE, {"randomization": RANDOMISED}, "pvp")


def test_anchor_dates_must_be_calendar_dates() -> None:
    instant = datetime(2026, 3, 2, 23, 30, tzinfo=UTC)
    with pytest.raises(TypeError, match="calendar date"):
        visit_windows(VERTEBRA_SCHEDULE, {"randomisation": instant}, "pvp")
    window = visit_windows(VERTEBRA_SCHEDULE, {"randomisation": RANDOMISED}, "pvp")[0]
    with pytest.raises(TypeError, match="calendar date"):
        window_status(window, instant)


# Window status --------------------------------------------------------------------------------


def test_window_edges_are_inclusive() -> None:
    w1 = _by_code(visit_windows(VERTEBRA_SCHEDULE, {"randomisation": RANDOMISED}, "pvp"))["W1"]
    assert (w1.opens, w1.target, w1.closes) == (
        date(2026, 3, 6),
        date(2026, 3, 9),
        date(2026, 3, 12),
    )
    assert window_status(w1, date(2026, 3, 5)) == "planned"
    assert window_status(w1, date(2026, 3, 6)) == "due"
    assert window_status(w1, date(2026, 3, 9)) == "due"
    assert window_status(w1, date(2026, 3, 12)) == "due"
    assert window_status(w1, date(2026, 3, 13)) == "missed"


def test_a_zero_width_window_is_due_on_its_target_day_only() -> None:
    schedule = Schedule.from_dict(_schedule(_visit(window_before=0, window_after=0)))
    (window,) = visit_windows(schedule, {"randomisation": RANDOMISED}, None)
    assert window.opens == window.target == window.closes
    assert window_status(window, window.target - timedelta(days=1)) == "planned"
    assert window_status(window, window.target) == "due"
    assert window_status(window, window.target + timedelta(days=1)) == "missed"


# Another protocol as data ---------------------------------------------------------------------


def test_kyphoplasty_example_is_data_and_yields_its_seven_visits() -> None:
    assert not hasattr(sched, "KYPHOPLASTY_EXAMPLE")
    kyphoplasty = load_schedule(SCHEDULES_DIR / "kyphoplasty_example.json")
    assert kyphoplasty == bundled_schedule("kyphoplasty_example")
    assert "example" in kyphoplasty.label.lower()

    procedure = date(2026, 5, 20)
    windows = visit_windows(kyphoplasty, {"procedure": procedure}, None)
    assert [(window.visit.code, (window.target - procedure).days) for window in windows] == [
        ("D-8", -8),
        ("D-1", -1),
        ("D1", 1),
        ("D15", 15),
        ("D90", 90),
        ("D180", 180),
        ("D360", 360),
    ]
    by_code = _by_code(windows)
    # Pre-procedure visits must close before the procedure day, post-procedure ones open after it.
    assert by_code["D-8"].closes < procedure
    assert by_code["D-1"].closes < procedure
    assert by_code["D1"].opens > procedure
    assert [window.visit.code for window in windows if window.visit.primary] == ["D15"]
    # Without a procedure date nothing is scheduled: every visit hangs on it.
    assert visit_windows(kyphoplasty, {"randomisation": RANDOMISED}, None) == []


def test_shipped_json_files_are_canonical() -> None:
    for path in sorted(SCHEDULES_DIR.glob("*.json")):
        assert path.read_text(encoding="utf-8") == schedule_to_json(load_schedule(path)), path


def test_round_trip_through_a_dict_and_a_file(tmp_path: Path) -> None:
    assert Schedule.from_dict(VERTEBRA_SCHEDULE.to_dict()) == VERTEBRA_SCHEDULE
    path = tmp_path / "copy.json"
    sched.dump_schedule(VERTEBRA_SCHEDULE, path)
    assert load_schedule(path) == VERTEBRA_SCHEDULE


def test_optional_keys_take_their_defaults() -> None:
    visit = Schedule.from_dict(_schedule(_visit())).visits[0]
    assert (visit.arms, visit.primary, visit.contact_kind) == (None, False, "phone")


def test_direct_construction_normalises_lists_to_tuples() -> None:
    visit = VisitDefinition(
        code="X",
        label="X",
        anchor="inclusion",
        day=0,
        window_before=0,
        window_after=1,
        collects=["odi"],  # type: ignore[arg-type]
        arms=["pvp"],  # type: ignore[arg-type]
    )
    assert visit.collects == ("odi",)
    assert visit.arms == ("pvp",)
    hash(visit)


# Invalid schedules ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (_schedule(_visit(code="W1"), _visit(code="W1")), "duplicate visit code.*W1"),
        (_schedule(_visit(window_before=-1)), "window_before must be a whole number >= 0"),
        (_schedule(_visit(window_after=-2)), "window_after must be a whole number >= 0"),
        (_schedule(_visit(anchor="surgery")), "unknown anchor 'surgery'"),
        (_schedule(_visit(collects=["odi", "sf12"])), r"unknown collect item\(s\) sf12"),
        (_schedule(_visit(collects="odi")), "collects must be a list of strings"),
        (_schedule(_visit(collects=[])), "collects must name at least one item"),
        (_schedule(_visit(collects=["odi", "odi"])), "collects lists odi more than once"),
        (_schedule(_visit(arms=[])), "arms must be null"),
        (_schedule(_visit(contact_kind="pigeon")), "unknown contact_kind 'pigeon'"),
        (_schedule(_visit(day=7.5)), "day must be a whole number"),
        (_schedule(_visit(day=True)), "day must be a whole number"),
        (_schedule(_visit(primary="yes")), "primary must be true or false"),
        (_schedule(_visit(code="")), "visit code must be a non-empty string"),
        (_schedule(_visit(primery=True)), r"unknown key\(s\): primery"),
        (_schedule({"code": "V1"}), r"missing required key\(s\): anchor, collects, day"),
        ({"code": "empty", "label": "Empty", "visits": []}, "schedule 'empty' has no visits"),
        ({"code": "x", "label": "X"}, r"schedule is missing required key\(s\): visits"),
        ({"code": "x", "label": "X", "visits": {}}, "visits must be a list"),
        ({"code": "", "label": "X", "visits": [_visit()]}, "schedule code must be a non-empty"),
        (
            _schedule(_visit(code="A", primary=True), _visit(code="B", primary=True)),
            "only one visit may be primary, got A, B",
        ),
        (_schedule(_visit(primary=True)), "visit 'V1' is primary, so the schedule must name"),
        (
            {**_schedule(_visit(primary=True)), "primary_measure": "sf12"},
            "unknown primary_measure 'sf12'",
        ),
        (
            {**_schedule(_visit(primary=True)), "primary_measure": ["odi"]},
            r"unknown primary_measure \['odi'\]",
        ),
        ({**_schedule(_visit()), "primary_measure": "vas_back"}, "needs a visit marked primary"),
        (
            {**_schedule(_visit(primary=True, collects=["vas_back"])), "primary_measure": "odi"},
            "primary_measure 'odi' needs 'odi', which the primary visit 'V1' does not collect",
        ),
        (
            {
                **_schedule(_visit(primary=True, collects=["vas_back"])),
                "primary_measure": "eq5d_index",
            },
            "needs 'eq5d3l', which the primary visit 'V1' does not collect",
        ),
        ({**_schedule(), "primery_measure": "odi"}, r"unknown key\(s\): primery_measure"),
    ],
)
def test_invalid_schedules_are_rejected_with_a_clear_message(
    data: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        Schedule.from_dict(data)


def test_errors_name_the_schedule_and_the_visit_position() -> None:
    data = _schedule(_visit(code="A"), _visit(code="B", window_after=-1))
    with pytest.raises(ValueError, match=r"schedule 'test', visit #2: visit 'B': window_after"):
        Schedule.from_dict(data)


def test_load_schedule_names_the_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    with pytest.raises(ValueError, match=r"broken\.json: not valid JSON"):
        load_schedule(broken)
    invalid = tmp_path / "invalid.json"
    invalid.write_text(json.dumps(_schedule(_visit(anchor="surgery"))), encoding="utf-8")
    with pytest.raises(ValueError, match=r"invalid\.json: .*unknown anchor 'surgery'"):
        load_schedule(invalid)


def test_an_unknown_bundled_schedule_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="no bundled schedule named 'nope'"):
        bundled_schedule("nope")


# The trial's calendar day ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("instant", "expected"),
    [
        # Local midnight in summer time (UTC+2): 22:30 UTC is already tomorrow in Copenhagen.
        (datetime(2026, 6, 30, 21, 59, tzinfo=UTC), date(2026, 6, 30)),
        (datetime(2026, 6, 30, 22, 30, tzinfo=UTC), date(2026, 7, 1)),
        # Local midnight in winter time (UTC+1).
        (datetime(2026, 1, 15, 22, 59, tzinfo=UTC), date(2026, 1, 15)),
        (datetime(2026, 1, 15, 23, 0, tzinfo=UTC), date(2026, 1, 16)),
        # Spring forward, 29 March 2026 at 01:00 UTC (02:00 CET becomes 03:00 CEST).
        (datetime(2026, 3, 28, 22, 30, tzinfo=UTC), date(2026, 3, 28)),  # 23:30 CET
        (datetime(2026, 3, 28, 23, 0, tzinfo=UTC), date(2026, 3, 29)),  # 00:00 CET
        (datetime(2026, 3, 29, 0, 59, tzinfo=UTC), date(2026, 3, 29)),  # 01:59 CET
        (datetime(2026, 3, 29, 1, 0, tzinfo=UTC), date(2026, 3, 29)),  # 03:00 CEST
        (datetime(2026, 3, 29, 21, 59, tzinfo=UTC), date(2026, 3, 29)),  # 23:59 CEST
        (datetime(2026, 3, 29, 22, 0, tzinfo=UTC), date(2026, 3, 30)),  # 00:00 CEST
        # Fall back, 25 October 2026 at 01:00 UTC (03:00 CEST becomes 02:00 CET).
        (datetime(2026, 10, 24, 21, 59, tzinfo=UTC), date(2026, 10, 24)),  # 23:59 CEST
        (datetime(2026, 10, 24, 22, 0, tzinfo=UTC), date(2026, 10, 25)),  # 00:00 CEST
        (datetime(2026, 10, 25, 0, 59, tzinfo=UTC), date(2026, 10, 25)),  # 02:59 CEST
        (datetime(2026, 10, 25, 1, 0, tzinfo=UTC), date(2026, 10, 25)),  # 02:00 CET
        (datetime(2026, 10, 25, 22, 30, tzinfo=UTC), date(2026, 10, 25)),  # 23:30 CET
        (datetime(2026, 10, 25, 23, 0, tzinfo=UTC), date(2026, 10, 26)),  # 00:00 CET
    ],
)
def test_local_today_uses_the_copenhagen_calendar(instant: datetime, expected: date) -> None:
    assert local_today(instant) == expected


def test_local_today_accepts_other_zones_and_aware_non_utc_instants() -> None:
    instant = datetime(2026, 6, 30, 22, 30, tzinfo=UTC)
    assert local_today(instant, tz="UTC") == date(2026, 6, 30)
    from zoneinfo import ZoneInfo

    new_york = instant.astimezone(ZoneInfo("America/New_York"))
    assert local_today(new_york) == date(2026, 7, 1)


def test_local_today_refuses_a_naive_datetime() -> None:
    with pytest.raises(ValueError, match="aware datetime"):
        local_today(datetime(2026, 6, 30, 22, 30))


def test_local_today_defaults_to_now() -> None:
    before = local_today(datetime.now(UTC))
    today = local_today()
    after = local_today(datetime.now(UTC))
    assert today in (before, after)


# Properties -----------------------------------------------------------------------------------

visits = st.builds(
    VisitDefinition,
    code=st.from_regex(r"[A-Z][A-Z0-9-]{0,5}", fullmatch=True),
    label=st.just("Visit"),
    anchor=st.sampled_from(ANCHORS),
    day=st.integers(min_value=-400, max_value=800),
    window_before=st.integers(min_value=0, max_value=90),
    window_after=st.integers(min_value=0, max_value=90),
    collects=st.lists(st.sampled_from(sorted(COLLECT_ITEMS)), min_size=1, unique=True).map(tuple),
    arms=st.none() | st.just(("pvp",)),
    primary=st.just(False),
    contact_kind=st.sampled_from(sched.CONTACT_KINDS),
)


def _generated_schedule(items: list[VisitDefinition], pick: int | None) -> Schedule:
    # At most one primary visit, and then a primary measure it collects (Schedule's rule).
    measure = None
    if pick is not None:
        chosen = items[pick % len(items)]
        measures = [m for m, item in sched.PRIMARY_MEASURES.items() if item in chosen.collects]
        if measures:
            measure = measures[0]
            items = [replace(v, primary=True) if v is chosen else v for v in items]
    return Schedule(
        code="generated", label="Generated", visits=tuple(items), primary_measure=measure
    )


schedules = st.builds(
    _generated_schedule,
    st.lists(visits, min_size=1, max_size=8, unique_by=lambda visit: visit.code),
    st.none() | st.integers(min_value=0, max_value=7),
)
anchor_dates = st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31))


@given(
    schedule=schedules,
    anchors=st.fixed_dictionaries({}, optional=dict.fromkeys(ANCHORS, anchor_dates)),
    arm=st.sampled_from([None, "pvp", "conservative"]),
)
def test_windows_always_contain_their_target(
    schedule: Schedule, anchors: dict[str, date], arm: str | None
) -> None:
    windows = visit_windows(schedule, anchors, arm)
    for window in windows:
        assert window.opens <= window.target <= window.closes
        assert window.contains(window.target)
        assert window.visit.anchor in anchors
        assert window.target == anchors[window.visit.anchor] + timedelta(days=window.visit.day)
        assert window_status(window, window.target) == "due"
        assert window_status(window, window.opens - timedelta(days=1)) == "planned"
        assert window_status(window, window.closes + timedelta(days=1)) == "missed"
    keys = [(window.target, window.visit.code) for window in windows]
    assert keys == sorted(keys)
    expected = {
        visit.code
        for visit in schedule.visits
        if visit.anchor in anchors and (visit.arms is None or arm in visit.arms)
    }
    assert {window.visit.code for window in windows} == expected


@given(schedule=schedules)
def test_any_valid_schedule_round_trips_through_json(schedule: Schedule) -> None:
    assert Schedule.from_dict(json.loads(schedule_to_json(schedule))) == schedule


@pytest.mark.parametrize(
    ("code", "suffix"),
    [("W4", "w4"), ("M12", "m12"), ("D-8", "dm8"), ("D8", "d8"), ("D 8/a", "d_8_a")],
)
def test_a_visit_code_becomes_a_valid_variable_suffix(code: str, suffix: str) -> None:
    assert sched.visit_variable_suffix(code) == suffix


def test_two_visits_that_would_name_the_same_export_variables_are_rejected() -> None:
    with pytest.raises(ValueError, match="D-8, Dm8 would name the same export variables"):
        Schedule.from_dict(_schedule(_visit(code="D-8"), _visit(code="Dm8")))
