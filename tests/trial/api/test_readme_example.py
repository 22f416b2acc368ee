"""The README's Python client example, taken from README.md itself so the two cannot drift,
runs against a live server and returns a pandas DataFrame of the records changed since the
date it names."""

import datetime as dt
import re
from pathlib import Path

import time_machine

from tests.factories import ParticipantFactory, outcome_scores, screening_complete
from trial.api.services import api_token_create
from trial.api.views import _forms, _record_lines
from trial.exports.tables import form_table
from trial.models import Role

README = Path(__file__).resolve().parents[3] / "README.md"


def readme_python_example() -> str:
    section = README.read_text().split("### Pulling records: Python and R", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "README.md lost its Python example"
    return match.group(1)


def _expected(participant, form: str) -> set[tuple]:
    exporter = {e.identifier: e for e in _forms()}[form].for_participants([participant.id])
    table = form_table(exporter)
    return {
        (r["trial_number"], r["visit"], r["item"], r["value"])
        for r in _record_lines(table, "long", None)
    }


def _written_on(day: dt.date, site, sequence: int, user, odi: int):
    """A participant registered, screened and asked on ``day`` (and never written since)."""
    when = dt.datetime.combine(day, dt.time(10), tzinfo=dt.UTC)
    with time_machine.travel(when, tick=False):
        participant = ParticipantFactory(site=site, sequence=sequence)
        screening_complete(participant, user)
        outcome_scores(participant, "BL", odi=odi, vas=(60, 30))
        outcome_scores(participant, "W4", odi=odi - 10, vas=(40, 20))
    return participant


def test_the_readme_python_example_pulls_the_changed_records(world, live_server, monkeypatch):
    import requests  # noqa: F401 - the example needs it (requirements-dev.txt); fail, never skip

    hematologist = world.users[Role.HEMATOLOGIST]
    # The example asks for changes since 2026-01-01.
    before = _written_on(dt.date(2025, 6, 1), world.own, 20, hematologist, odi=40)
    after = _written_on(dt.date(2026, 2, 1), world.own, 21, hematologist, odi=50)
    elsewhere = _written_on(dt.date(2026, 2, 1), world.other, 22, world.outsider, odi=60)
    _token, secret = api_token_create(user=world.users[Role.NURSE], name="R", scopes=["read"])
    monkeypatch.setenv("VERTEBRA_URL", live_server.url)
    monkeypatch.setenv("VERTEBRA_TOKEN", secret)

    namespace: dict = {"__name__": "readme_example"}
    exec(compile(readme_python_example(), "README.md", "exec"), namespace)  # noqa: S102

    odi = namespace["odi"]
    import pandas as pd

    assert isinstance(odi, pd.DataFrame)
    assert list(odi.columns) == ["trial_number", "visit", "item", "value"]
    expected = _expected(after, "q_odi")
    assert expected  # the form has lines for the participant, or the test proves nothing
    assert set(odi.itertuples(index=False, name=None)) == expected
    assert len(odi) == len(expected)
    assert {"BL", "W4"} <= set(odi["visit"])
    # Not changed since the date, or of another site than the nurse's: not there.
    assert before.trial_number not in set(odi["trial_number"])
    assert elsewhere.trial_number not in set(odi["trial_number"])
