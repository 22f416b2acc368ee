"""Markers beside queried values: the participant's queries not closed, read in one SQL query
per page however many markers, each shown beside its value with its state and a link."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from questionnaires.models import QuestionnaireResponse, ResponseStatus
from tests.conftest import verified_client
from tests.factories import (
    AdverseEventFactory,
    ScreeningFormFactory,
    eligibility_all_met,
    randomised,
    w1_contact_id,
)
from trial.models import Role
from trial.monitoring import items, selectors, services

pytestmark = pytest.mark.django_db


def _raise(participant, key, user, text="Please check this value."):
    item = items.item_get(participant, key)
    assert item is not None, key
    return services.query_raise(participant=participant, item=item, text=text, user=user)


def _markers(html: str) -> list[str]:
    return [part.split('"', 1)[0] for part in html.split('data-item="')[1:]]


def test_queried_items_gives_open_and_answered_queries_by_item_in_one_sql_query(
    world, django_assert_num_queries
):
    participant = world.own_participant
    monitor = world.users[Role.MONITOR]
    form = ScreeningFormFactory(participant=participant)
    onset = _raise(participant, f"trial.ScreeningForm:{form.pk}:pain_onset_date", monitor)
    lines = _raise(participant, f"trial.ScreeningForm:{form.pk}:prior_lines", monitor)
    closed = _raise(participant, f"trial.ScreeningForm:{form.pk}:iss_stage", monitor)
    services.query_step(query=lines, step="answer", user=world.users[Role.NURSE], text="Checked.")
    services.query_step(query=closed, step="close", user=monitor)
    elsewhere = ScreeningFormFactory(participant=world.other_participant)
    _raise(world.other_participant, f"trial.ScreeningForm:{elsewhere.pk}:prior_lines", monitor)
    with django_assert_num_queries(1):
        queried = selectors.queried_items(participant)
    assert set(queried) == {
        ("trial.ScreeningForm", str(form.pk), "pain_onset_date"),
        ("trial.ScreeningForm", str(form.pk), "prior_lines"),
    }
    assert queried[("trial.ScreeningForm", str(form.pk), "pain_onset_date")] == onset


def test_the_participant_page_marks_the_queried_value_with_its_state_and_a_link(world):
    participant = world.own_participant
    form = ScreeningFormFactory(participant=participant)
    query = _raise(
        participant, f"trial.ScreeningForm:{form.pk}:pain_onset_date", world.users[Role.MONITOR]
    )
    html = (
        verified_client(world.users[Role.NURSE])
        .get(reverse("trial:participant_detail", args=[participant.trial_number]))
        .content.decode()
    )
    assert _markers(html) == [query.item_key]
    marker = html.split('data-testid="query-marker"')[0].rsplit("<a ", 1)[1]
    assert reverse("trial:query_detail", args=[query.pk]) in marker
    summary = html.split('data-testid="screening-form-summary"')[1].split("</dl>")[0]
    onset_row = summary.split(form.pain_onset_date.strftime("%d.%m.%Y"))[1].split("</dd>")[0]
    assert 'data-testid="query-marker"' in onset_row and 'data-state="open"' in onset_row
    assert 'class="visually-hidden"' in onset_row  # the state is read out, not only coloured


def test_a_closed_query_leaves_no_marker(world):
    participant = world.own_participant
    form = ScreeningFormFactory(participant=participant)
    monitor = world.users[Role.MONITOR]
    query = _raise(participant, f"trial.ScreeningForm:{form.pk}:pain_onset_date", monitor)
    services.query_step(query=query, step="close", user=monitor)
    html = (
        verified_client(monitor)
        .get(reverse("trial:participant_detail", args=[participant.trial_number]))
        .content.decode()
    )
    assert _markers(html) == []


def _page_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured.captured_queries)


def test_the_participant_page_reads_the_markers_in_a_constant_number_of_queries(world):
    participant = world.own_participant
    monitor = world.users[Role.MONITOR]
    randomised(participant, days_ago=10)  # the adverse events' panel shows from randomisation
    form = ScreeningFormFactory(participant=participant)
    events = [AdverseEventFactory(participant=participant) for _ in range(4)]
    client = verified_client(world.users[Role.HEMATOLOGIST])
    url = reverse("trial:participant_detail", args=[participant.trial_number])
    _raise(participant, f"trial.ScreeningForm:{form.pk}:pain_onset_date", monitor)
    _page_queries(client, url)  # warm the session and caches
    one = _page_queries(client, url)
    for field in ("prior_lines", "disease_status", "diagnosis_date"):
        _raise(participant, f"trial.ScreeningForm:{form.pk}:{field}", monitor)
    for event in events:
        _raise(participant, f"trial.AdverseEvent:{event.pk}:onset_date", monitor)
    many = _page_queries(client, url)
    assert many == one
    html = client.get(url).content.decode()
    assert len(_markers(html)) == 8


def test_a_queried_pain_score_is_marked_in_the_scores_table(world):
    participant = world.own_participant
    response = QuestionnaireResponse.objects.create(
        participant=participant,
        visit_code="BL",
        instrument_code="vas",
        instrument_version="1",
        mode="paper",
        status=ResponseStatus.SUBMITTED,
        submitted_at=timezone.now(),
        answers={"vas_back": 90, "vas_leg": 10},
    )
    query = _raise(
        participant,
        f"questionnaires.QuestionnaireResponse:{response.pk}:answers.vas_back",
        world.users[Role.MONITOR],
    )
    html = (
        verified_client(world.users[Role.NURSE])
        .get(reverse("trial:participant_detail", args=[participant.trial_number]))
        .content.decode()
    )
    row = html.split('data-testid="scores-BL"')[1].split("</tr>")[0]
    assert _markers(row) == [query.item_key]


def test_a_queried_call_is_marked_on_the_call_page(world, fixed_day):
    from followup.models import CallLog

    participant = world.own_participant
    contact_id = w1_contact_id(participant)
    call = CallLog.objects.create(
        contact_id=contact_id,
        participant=participant,
        called_by=world.users[Role.NURSE],
        outcome="no_answer",
        called_at=timezone.now() - dt.timedelta(hours=2),
    )
    query = _raise(participant, f"followup.CallLog:{call.pk}:called_at", world.users[Role.MONITOR])
    response = verified_client(world.users[Role.NURSE]).get(
        reverse("followup:call_log", args=[contact_id])
    )
    assert response.status_code == 200
    calls = response.content.decode().split('data-testid="calls"')[1]
    assert _markers(calls) == [query.item_key]


def test_a_queried_eligibility_answer_is_marked_on_the_checklist(world):
    participant = world.own_participant
    assessment = eligibility_all_met(participant, world.users[Role.HEMATOLOGIST])
    query = _raise(
        participant,
        f"trial.EligibilityAssessment:{assessment.pk}:answers.new_vertebral_lesion",
        world.users[Role.MONITOR],
    )
    html = (
        verified_client(world.users[Role.HEMATOLOGIST])
        .get(reverse("trial:eligibility", args=[participant.trial_number]))
        .content.decode()
    )
    # Up to the next criterion (the radio buttons come in a fieldset of their own).
    block = html.split('data-criterion="new_vertebral_lesion"')[1].split("data-criterion=")[0]
    assert _markers(block) == [query.item_key]
