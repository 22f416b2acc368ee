"""FOLLOWUP_SCHEDULE: a bundled name or a JSON path selects the schedule in force, and a bad
value stops the application at startup with a message naming the setting (no silent fallback to
the VERTEBRA schedule, which would run contacts and exports on different protocols)."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import ImproperlyConfigured

from tests.conftest import production_env, run
from trial.protocol import active_schedule, bundled_schedule, check_schedule_setting
from trial.protocol.schedule import bundled_names, schedule_from_setting, schedule_to_json


def test_the_default_is_the_vertebra_schedule():
    assert active_schedule() == bundled_schedule("vertebra")


def test_a_bundled_name_selects_that_schedule(settings):
    settings.FOLLOWUP_SCHEDULE = "kyphoplasty_example"
    assert active_schedule().code == "kyphoplasty_example"
    assert [v.code for v in active_schedule().visits if v.primary] == ["D15"]


def test_the_bundled_schedules_are_listed():
    assert {"vertebra", "kyphoplasty_example"} <= set(bundled_names())


def test_a_json_path_selects_that_file(settings, tmp_path):
    data = bundled_schedule("kyphoplasty_example").to_dict()
    data["code"] = "site_copy"
    path = tmp_path / "site_copy.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    settings.FOLLOWUP_SCHEDULE = str(path)
    assert active_schedule().code == "site_copy"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("nope", "no bundled schedule named 'nope'; expected one of"),
        ("", "must name a schedule"),
        ("/nowhere/schedule.json", "cannot read /nowhere/schedule.json"),
    ],
)
def test_a_bad_value_is_a_clear_configuration_error(settings, value, expected):
    settings.FOLLOWUP_SCHEDULE = value
    with pytest.raises(ImproperlyConfigured) as error:
        check_schedule_setting()
    assert "FOLLOWUP_SCHEDULE" in str(error.value)
    assert expected in str(error.value)
    with pytest.raises(ValueError):
        active_schedule()  # every reader fails the same way; none falls back to VERTEBRA


def test_an_invalid_json_file_is_a_clear_configuration_error(settings, tmp_path):
    data = bundled_schedule("vertebra").to_dict()
    data["visits"][0]["collects"] = ["vas_bak"]
    path = tmp_path / "typo.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    settings.FOLLOWUP_SCHEDULE = str(path)
    with pytest.raises(ImproperlyConfigured, match=r"unknown collect item.*vas_bak"):
        check_schedule_setting()


def test_a_primary_measure_the_primary_visit_does_not_collect_stops_the_start(settings, tmp_path):
    # The kyphoplasty example's primary visit collects the back-pain VAS, not the ODI.
    data = bundled_schedule("kyphoplasty_example").to_dict()
    data["primary_measure"] = "odi"
    path = tmp_path / "odi_at_d15.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    settings.FOLLOWUP_SCHEDULE = str(path)
    with pytest.raises(ImproperlyConfigured, match=r"primary visit 'D15' does not collect"):
        check_schedule_setting()


def test_the_cache_follows_the_setting(settings, tmp_path):
    path = tmp_path / "mine.json"
    path.write_text(schedule_to_json(bundled_schedule("vertebra")), encoding="utf-8")
    settings.FOLLOWUP_SCHEDULE = str(path)
    assert active_schedule().code == "vertebra"
    settings.FOLLOWUP_SCHEDULE = "kyphoplasty_example"
    assert active_schedule().code == "kyphoplasty_example"
    assert schedule_from_setting.cache_info().currsize >= 2


STARTUP = (
    "import django; django.setup(); from trial.protocol import active_schedule; "
    "print(active_schedule().code)"
)


def test_the_application_refuses_to_start_with_an_unknown_schedule():
    result = run(["-c", STARTUP], production_env(FOLLOWUP_SCHEDULE="vertebra_typo"))
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "FOLLOWUP_SCHEDULE='vertebra_typo'" in result.stderr


def test_the_application_starts_with_another_bundled_schedule():
    result = run(["-c", STARTUP], production_env(FOLLOWUP_SCHEDULE="kyphoplasty_example"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "kyphoplasty_example"
