"""The nurse's home page says how many calls wait today and how many are overdue."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import translation

from followup.models import Contact
from tests.clock import FIXED_DAY
from trial.models import Role

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fixed_day")]
# Dates here are computed before the code under test asks the clock: both see FIXED_DAY.
TODAY = FIXED_DAY


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


def _contact(participant, code, target):
    return Contact.objects.create(
        participant=participant,
        visit_code=code,
        anchor="randomisation",
        anchor_date=target - dt.timedelta(days=7),
        target_date=target,
        window_opens=target - dt.timedelta(days=3),
        window_closes=target + dt.timedelta(days=3),
        status="due",
    )


def _card(client) -> str:
    html = client.get("/").content.decode()
    start = html.index('data-testid="home-card-followup"')
    return html[start : html.index("</a>", start)]


def test_the_nurse_sees_calls_due_today_and_overdue(world, login):
    _contact(world.own_participant, "W1", TODAY)
    _contact(world.own_participant, "W2", TODAY - dt.timedelta(days=2))
    _contact(world.other_participant, "W1", TODAY)  # another site: not counted
    card = _card(login(world.users[Role.NURSE]))
    assert "2 calls due today" in card
    assert "1 overdue" in card


def test_the_card_is_not_shown_to_the_surgeon(world, login):
    html = login(world.users[Role.SURGEON]).get("/").content.decode()
    assert 'data-testid="home-card-followup"' not in html
