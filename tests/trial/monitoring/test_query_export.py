"""The queries file of the exports: a row per step of each thread; the messages only in an
identified export."""

from __future__ import annotations

import pytest

from tests.factories import query_raised
from trial.exports.registry import exporters
from trial.exports.tables import form_table
from trial.models import Role
from trial.monitoring import services

pytestmark = pytest.mark.django_db


def test_each_step_of_a_thread_is_a_row_in_order(world):
    monitor, nurse = world.users[Role.MONITOR], world.users[Role.NURSE]
    query = query_raised(world.own_participant, user=monitor, text="Which date is right?")
    services.query_step(query=query, step="answer", user=nurse, text="The 3rd, corrected.")
    services.query_step(query=query, step="close", user=monitor)
    exporter = exporters.get("queries")()
    table = form_table(exporter, identified=True)
    names = [v.name for v in table.variables]
    rows = [dict(zip(["trial_number", "visit", *names], row, strict=True)) for row in table.rows()]
    assert [r["step"] for r in rows] == ["raised", "answered", "closed"]
    assert [r["step_by_role"] for r in rows] == ["monitor", "nurse", "monitor"]
    assert {r["trial_number"] for r in rows} == {world.own_participant.trial_number}
    assert rows[0]["form"] == "trial.AdverseEvent" and rows[0]["item"] == "onset_date"
    assert rows[0]["message"] == "Which date is right?"
    assert {r["query_state"] for r in rows} == {"closed"}


def test_a_default_export_leaves_the_messages_out(world):
    query_raised(world.own_participant, text="Is the patient's wife the informant?")
    table = form_table(exporters.get("queries")(), identified=False)
    assert "message" not in [v.name for v in table.variables]
    assert not any("wife" in str(value) for row in table.rows() for value in row)
