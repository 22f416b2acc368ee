"""The schedule governs questionnaires: follow-up visits exist only for randomised
participants, staff entry outside a visit's window needs a confirmation and is flagged, links
are made from the day the window opens, and the reminder goes before the window closes."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from questionnaires import links, selectors, services
from questionnaires.models import Mode, QuestionnaireLink, QuestionnaireResponse, SentVia
from tests import clock
from tests.factories import IdentityFactory, allocate
from tests.questionnaires.factories import letter_link
from trial.errors import ServiceError
from trial.models import Role
from trial.protocol.windows import NotRandomised, OutOfWindow

pytestmark = pytest.mark.django_db

DAY0 = dt.date(2026, 3, 2)  # W1 opens on day 4 and closes on day 10, W3 on days 18 and 24


def at(day: dt.date):
    return time_machine.travel(clock.noon(day), tick=True)


@pytest.fixture
def participant(world):
    allocate(world.own_participant, clock.noon(DAY0))
    return world.own_participant


def _enter_url(p, visit="W3", instrument="vas"):
    return reverse("questionnaires:staff_enter", args=[p.trial_number, visit, instrument])


# --- not randomised ----------------------------------------------------------------------


@pytest.mark.parametrize("confirmed", [False, True], ids=["no-allocation", "unconfirmed"])
def test_no_follow_up_entry_link_or_tablet_before_randomisation(world, login, confirmed):
    p = world.own_participant
    if confirmed:
        allocate(p, clock.noon(DAY0), confirmed=False)
    nurse = login(world.users[Role.NURSE])
    with at(DAY0 + dt.timedelta(days=28)):
        overview = nurse.get(reverse("questionnaires:staff_overview", args=[p.trial_number]))
        assert overview.status_code == 200
        assert [v.code for v in overview.context["visits"]] == ["BL"]  # no W4 form offered
        assert nurse.get(_enter_url(p, "W4", "odi")).status_code == 404
        assert nurse.post(_enter_url(p, "W4", "odi"), {"mode": "phone"}).status_code == 404
        for view in ("staff_send", "staff_tablet"):
            url = reverse(f"questionnaires:{view}", args=[p.trial_number, "W1"])
            assert nurse.get(url).status_code == 404
        # Baseline is before randomisation and stays open.
        assert nurse.get(_enter_url(p, "BL", "vas")).status_code == 200
        with pytest.raises(NotRandomised):
            services.response_enter(
                participant=p,
                visit_code="W4",
                instrument_code="vas",
                answers={"vas_back": 10},
                mode=Mode.PHONE,
                user=world.users[Role.NURSE],
                out_of_window_confirmed=True,
            )
        with pytest.raises(NotRandomised):
            links.link_issue_letter(participant=p, visit_code="W4", user=None)
        with pytest.raises(NotRandomised):
            services.tablet_session_start(
                participant=p, visit_code="W4", user=world.users[Role.NURSE]
            )
    assert not QuestionnaireResponse.objects.exists() and not QuestionnaireLink.objects.exists()


# --- staff entry outside the window ------------------------------------------------------


def test_entry_before_the_window_asks_for_confirmation_and_is_flagged(participant, world, login):
    nurse = login(world.users[Role.NURSE])
    answers = {"mode": "phone", "vas_back": "55", "vas_leg": "20"}
    with at(DAY0 + dt.timedelta(days=7)):  # W3 opens on day 18: eleven days early
        page = nurse.get(_enter_url(participant))
        html = page.content.decode()
        assert 'data-testid="out-of-window"' in html
        assert "record_out_of_window" in html
        refused = nurse.post(_enter_url(participant), answers)
        assert refused.status_code == 200
        assert refused.context["form"].errors["record_out_of_window"]
        assert not QuestionnaireResponse.objects.filter(visit_code="W3").exists()
        saved = nurse.post(_enter_url(participant), {**answers, "record_out_of_window": "on"})
        assert saved.status_code == 302
    response = QuestionnaireResponse.objects.get(visit_code="W3", instrument_code="vas")
    assert response.out_of_window and response.is_submitted
    assert response.answers == {"vas_back": 55, "vas_leg": 20}
    assert response.history.first().out_of_window  # in the audit trail too


def test_entry_inside_the_window_needs_no_confirmation(participant, world, login):
    nurse = login(world.users[Role.NURSE])
    with at(DAY0 + dt.timedelta(days=18)):  # W3's first day
        assert b"record_out_of_window" not in nurse.get(_enter_url(participant)).content
        response = nurse.post(_enter_url(participant), {"mode": "paper", "vas_back": "30"})
        assert response.status_code == 302
    assert not QuestionnaireResponse.objects.get(visit_code="W3").out_of_window


def test_the_service_refuses_late_entry_unless_confirmed(participant, world):
    nurse = world.users[Role.NURSE]
    kwargs = {
        "participant": participant,
        "visit_code": "W1",
        "instrument_code": "vas",
        "answers": {"vas_back": 10},
        "mode": Mode.PHONE,
        "user": nurse,
    }
    with at(DAY0 + dt.timedelta(days=12)):  # W1 closed on day 10
        with pytest.raises(OutOfWindow):
            services.response_enter(**kwargs)
        assert services.response_enter(**kwargs, out_of_window_confirmed=True).out_of_window


def test_the_overview_shows_windows_and_offers_links_once_open(participant, world, login):
    nurse = login(world.users[Role.NURSE])
    with at(DAY0 + dt.timedelta(days=1)):
        html = nurse.get(
            reverse("questionnaires:staff_overview", args=[participant.trial_number])
        ).content.decode()
    assert 'data-testid="window-W1"' in html
    assert 'data-testid="link-opens-W1"' in html
    assert reverse("questionnaires:staff_send", args=[participant.trial_number, "W1"]) not in html
    assert reverse("questionnaires:staff_send", args=[participant.trial_number, "BL"]) in html


# --- links -------------------------------------------------------------------------------


def test_a_letter_on_day_0_is_refused_and_allowed_once_the_window_opens(participant, world):
    with at(DAY0), pytest.raises(ServiceError) as refused:
        links.link_issue_letter(participant=participant, visit_code="W1", user=None)
    assert "W1" in str(refused.value)
    with at(DAY0 + dt.timedelta(days=3)), pytest.raises(ServiceError):  # the day before
        links.link_issue_letter(participant=participant, visit_code="W1", user=None)
    with at(DAY0 + dt.timedelta(days=4)):
        link, _token = links.link_issue_letter(participant=participant, visit_code="W1", user=None)
    assert link.window_closes == DAY0 + dt.timedelta(days=10)


def test_staff_sending_a_link_before_the_window_sees_why(participant, world, login):
    IdentityFactory(participant=participant, email="pt@example.dk")
    nurse = login(world.users[Role.NURSE])
    url = reverse("questionnaires:staff_send", args=[participant.trial_number, "W1"])
    with at(DAY0):
        response = nurse.post(url, {"via": SentVia.EMAIL, "language": "da"})
    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    assert not QuestionnaireLink.objects.exists()


def test_a_link_opened_before_its_window_says_when_it_opens(participant, client):
    with at(DAY0 + dt.timedelta(days=4)):
        _link, token = letter_link(participant, visit_code="W1")
    # As if printed on day 0: the link exists, the window has not opened.
    with at(DAY0):
        page = client.get(reverse("questionnaires:patient_start", args=[token]), follow=True)
        assert page.status_code == 200
        assert 'data-testid="link-not-yet-open"' in page.content.decode()
        assert page.context["opens"] == DAY0 + dt.timedelta(days=4)
        step = client.post(
            reverse("questionnaires:patient_step", args=["vas", 1]),
            {"vas_back": "20", "autosave": "1"},
        )
        assert step.status_code == 410
    assert not QuestionnaireResponse.objects.exists()
    with at(DAY0 + dt.timedelta(days=4)):
        page = client.get(reverse("questionnaires:patient_home"))
        assert 'data-testid="link-not-yet-open"' not in page.content.decode()


def test_answers_the_patient_submits_late_are_flagged(participant):
    with at(DAY0 + dt.timedelta(days=9)):
        _link, _token = letter_link(participant, visit_code="W1")
    with at(DAY0 + dt.timedelta(days=11)):  # the window closed yesterday; the link still works
        submitted = services.visit_submit(participant=participant, visit_code="W1", mode=Mode.LINK)
    assert submitted and all(response.out_of_window for response in submitted)


def test_answers_submitted_in_the_window_are_not_flagged(participant):
    with at(DAY0 + dt.timedelta(days=10)):
        submitted = services.visit_submit(participant=participant, visit_code="W1", mode=Mode.LINK)
    assert submitted and not any(response.out_of_window for response in submitted)


def test_the_reminder_goes_before_the_window_closes(participant, settings):
    settings.QUESTIONNAIRE_REMINDER_AFTER_DAYS = 5
    settings.QUESTIONNAIRE_REMINDER_BEFORE_CLOSE_DAYS = 2
    IdentityFactory(participant=participant, email="pt@example.dk")
    with at(DAY0 + dt.timedelta(days=6)):  # a W1 link sent on day 6; the window closes on day 10
        link = links.link_send(
            participant=participant, visit_code="W1", user=None, via=SentVia.EMAIL
        )
        sent = clock.noon(DAY0 + dt.timedelta(days=6))
        QuestionnaireLink.objects.filter(pk=link.pk).update(sent_at=sent)
    with at(DAY0 + dt.timedelta(days=7)):  # four days before the window closes
        assert selectors.links_due_for_reminder() == []
    with at(DAY0 + dt.timedelta(days=8)):  # two days before: remind now, not on day 11
        assert selectors.links_due_for_reminder() == [link.pk]
    with at(DAY0 + dt.timedelta(days=11)):  # the window has closed: no reminder any more
        assert selectors.links_due_for_reminder() == []
