"""The participant page shows the participant's schedule: each visit's window, target date,
state and the questionnaires still missing."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import translation
from django.utils.formats import date_format

from followup import services
from followup.models import Contact
from questionnaires import services as qservices
from questionnaires.models import Mode
from tests.conftest import verified_client
from tests.factories import randomised
from trial.models import Role

pytestmark = pytest.mark.django_db


def _page(user, participant, language="en"):
    client = verified_client(user)
    client.cookies["django_language"] = language
    with translation.override(language):
        response = client.get(
            reverse("trial:participant_detail", args=[participant.trial_number]),
            HTTP_ACCEPT_LANGUAGE=language,
        )
    assert response.status_code == 200
    return response.content.decode()


def _row(html: str, code: str) -> str:
    match = re.search(rf'<tr data-visit="{re.escape(code)}".*?</tr>', html, re.S)
    assert match, f"no row for {code}"
    return match.group(0)


@pytest.fixture
def in_follow_up(world, fixed_day, settings):
    settings.LANGUAGE_CODE = "en"
    participant = randomised(world.own_participant, arm="pvp", days_ago=12)
    services.contacts_create_for(participant=participant)
    # W1 was reached: the VAS taken by phone, health-service use not yet.
    Contact.objects.filter(participant=participant, visit_code="W1").update(status="done")
    qservices.response_enter(
        participant=participant,
        visit_code="W1",
        instrument_code="vas",
        answers={"vas_back": 40, "vas_leg": 10},
        mode=Mode.PHONE,
        user=world.users[Role.NURSE],
        out_of_window_confirmed=True,  # W1's window closed on day 10
    )
    Contact.objects.filter(participant=participant, visit_code="W3").update(status="cancelled")
    return participant


def test_the_panel_shows_every_visit_with_its_window_state_and_what_is_missing(
    world, in_follow_up, fixed_day
):
    html = _page(world.users[Role.NURSE], in_follow_up)

    assert 'data-testid="schedule-panel"' in html
    states = dict(re.findall(r'<tr data-visit="([^"]+)" data-state="([^"]+)"', html))
    assert states == {
        "W1": "done",
        "W2": "due",
        "W3": "cancelled",
        **{f"W{n}": "planned" for n in range(4, 13)},
        "M3": "planned",
        "M12": "planned",
        "SC": "waiting",
    }
    w1 = _row(html, "W1")
    assert "Health-service use" in w1 and "Back and leg pain (VAS)" not in w1
    # The VAS was entered after W1's window closed: the row says so.
    assert 'data-testid="schedule-out-of-window"' in w1
    w2 = _row(html, "W2")
    assert 'data-testid="schedule-out-of-window"' not in w2
    # Day 14 +/- 3 after randomisation twelve days ago.
    day0 = fixed_day - dt.timedelta(days=12)
    with translation.override("en"):
        window = "–".join(
            date_format(day0 + dt.timedelta(days=days), "SHORT_DATE_FORMAT") for days in (11, 17)
        )
    assert window in w2
    assert "Back and leg pain (VAS)" in w2 and "Health-service use" in w2
    # The nurse may log the due call from here.
    contact = Contact.objects.get(participant=in_follow_up, visit_code="W2")
    assert reverse("followup:call_log", args=[contact.pk]) in w2
    # Nothing is missing yet for a visit whose window has not opened, and it is not called yet.
    assert "Back and leg pain" not in _row(html, "W4")
    assert "/followup/contacts/" not in _row(html, "W4")
    assert "when the procedure is recorded" in _row(html, "SC")


def test_read_only_roles_see_the_schedule_without_call_links(world, in_follow_up):
    html = _page(world.users[Role.MONITOR], in_follow_up)
    assert 'data-testid="schedule-panel"' in html
    assert "/followup/contacts/" not in _row(html, "W2")


def test_the_panel_is_in_danish_by_default(world, in_follow_up):
    html = _page(world.users[Role.NURSE], in_follow_up, language="da")
    assert "Opfølgningsprogram" in html
    assert "Mangler stadig" in html


def test_no_panel_before_randomisation(world, settings):
    settings.LANGUAGE_CODE = "en"
    html = _page(world.users[Role.NURSE], world.own_participant)
    assert 'data-testid="schedule-panel"' not in html


def test_the_panel_costs_a_fixed_number_of_queries(
    world, in_follow_up, django_assert_max_num_queries
):
    from django.test import RequestFactory

    from followup.panels import schedule_panel

    request = RequestFactory().get("/")
    request.user = world.users[Role.NURSE]
    schedule_panel(request, in_follow_up)  # warm the caches (sessions, memberships)
    with django_assert_max_num_queries(10):
        context = schedule_panel(request, in_follow_up)
    assert len(context["rows"]) == 15
