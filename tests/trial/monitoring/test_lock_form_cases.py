"""Every edit page of tests/trial/form_cases.py refuses locked data: the page answers 403
naming the lock before anything is typed, and a post changes nothing; unlocking (with a
reason) lets the same post through."""

from __future__ import annotations

import pytest
from django.urls import resolve

from tests.conftest import verified_client
from tests.races import page_version
from tests.trial.form_cases import CASES
from trial.models import Participant, Role
from trial.monitoring import locks

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fixed_day")]


@pytest.fixture(autouse=True)
def _in_english(settings):
    settings.LANGUAGE_CODE = "en"


def _stored(case):
    try:
        return case.stored()
    except Exception:  # nothing saved yet (a form that creates its record)
        return None


def _participant(case):
    number = resolve(case.url).kwargs.get("trial_number")
    return Participant.objects.get(trial_number=number) if number else None


def _lock(case, dm):
    """The participant's lock where the page is a participant's, else the database lock."""
    participant = _participant(case)
    if participant is not None:
        locks.participant_lock(participant=participant, user=dm, reason="Locked for the test")
        return f"{participant.trial_number} is locked", lambda: locks.participant_unlock(
            participant=participant, user=dm, reason="Unlocked for the test"
        )
    locks.trial_lock(user=dm, reason="Locked for the test")
    return "The trial database is locked", lambda: locks.trial_unlock(
        user=dm, reason="Unlocked for the test"
    )


@pytest.mark.parametrize("name", CASES)
def test_a_locked_edit_page_refuses_and_a_post_changes_nothing(world, name):
    case = CASES[name](world)
    client = verified_client(case.users[0])
    version = page_version(client.get(case.url))
    before = _stored(case)
    message, unlock = _lock(case, world.users[Role.DATA_MANAGER])

    page = client.get(case.url)
    assert page.status_code == 403
    assert message in page.content.decode()
    posted = client.post(case.url, {**case.posts[0], "version": version})
    assert posted.status_code == 403 and message in posted.content.decode()
    assert _stored(case) == before

    unlock()
    saved = client.post(case.url, {**case.posts[0], "version": version})
    assert saved.status_code == 302
    assert _stored(case) == case.marks.keys[0]


@pytest.mark.parametrize("name", CASES)
def test_the_trial_lock_closes_every_edit_page(world, name):
    case = CASES[name](world)
    client = verified_client(case.users[0])
    locks.trial_lock(user=world.users[Role.DATA_MANAGER], reason="Database lock for analysis")
    page = client.get(case.url)
    assert page.status_code == 403 and "The trial database is locked" in page.content.decode()
