"""Two people saving the same form at the same moment (PostgreSQL, real threads,
tests/races.py), for consent, eligibility, surgical assessment, PVP procedure, 12-month X-ray,
an adverse event's follow-up and a screening-log correction (the cases: form_cases.py). The
first five race on their first save, the last two on an edit. Never a 500: exactly one saves,
the other is told who saved what and keeps what they typed."""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import pytest
from django.http import HttpResponse

from tests.conftest import verified_client
from tests.races import _needs_postgres, page_version, race, winner_and_loser  # noqa: F401
from tests.trial.form_cases import CASES, SAVED_MEANWHILE, conflict_box

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("fixed_day"),
]


@pytest.fixture(autouse=True)
def _in_english(settings):
    settings.LANGUAGE_CODE = "en"


@pytest.mark.parametrize("name", CASES)
def test_two_people_saving_the_same_form_at_once(world, monkeypatch, name):
    case = CASES[name](world)
    clients = [verified_client(user) for user in case.users]
    versions = [page_version(client.get(case.url)) for client in clients]
    assert versions[0] == versions[1]

    def post(i: int) -> Callable[[], object]:
        return lambda: clients[i].post(case.url, {**case.posts[i], "version": versions[i]})

    module, service = case.service
    responses = race(monkeypatch, module, service, [post(0), post(1)])

    winner, loser = winner_and_loser(responses)
    page = cast(HttpResponse, responses[loser]).content.decode()
    assert SAVED_MEANWHILE in page
    box = conflict_box(page)
    assert case.users[winner].get_full_name() in box  # who saved
    assert all(v in box for v in case.marks.shown[winner])  # and what
    assert case.marks.typed[loser] in page  # what the loser typed, still in the form
    assert case.stored() == case.marks.keys[winner]
