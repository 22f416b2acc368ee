"""A clinic-tablet session left alone ends by itself: the patient's page then asks to hand the
tablet back to staff, and the answers given so far are kept."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from questionnaires.models import QuestionnaireResponse, TabletSession
from trial.models import Role

pytestmark = pytest.mark.django_db


def _start_tablet(world, login):
    p = world.own_participant
    client = login(world.users[Role.NURSE])
    client.post(reverse("questionnaires:staff_tablet", args=[p.trial_number, "BL"]))
    client.post(reverse("questionnaires:tablet_step", args=["odi", 1]), {"odi_1": "3"})
    return client


def _leave_idle(minutes: int) -> None:
    TabletSession.objects.update(last_activity_at=timezone.now() - dt.timedelta(minutes=minutes))


def test_an_idle_tablet_session_asks_for_staff_and_keeps_the_answers(world, login, settings):
    settings.QUESTIONNAIRE_TABLET_IDLE_MINUTES = 30
    client = _start_tablet(world, login)
    assert TabletSession.objects.get().last_activity_at is not None
    _leave_idle(31)

    page = client.get(reverse("questionnaires:tablet_step", args=["odi", 2]))
    assert page.status_code == 200 and b'data-testid="tablet-idle"' in page.content
    session = TabletSession.objects.get()
    assert session.ended_at is not None and session.ended_idle and session.ended_by is None
    latest = session.history.order_by("-history_date").first()
    assert "idle" in latest.history_change_reason
    # Nothing more can be answered or submitted on it, and it keeps asking for staff.
    client.post(reverse("questionnaires:tablet_step", args=["odi", 2]), {"odi_2": "4"})
    again = client.get(reverse("questionnaires:tablet_start"))
    assert b'data-testid="tablet-idle"' in again.content
    submit = client.post(reverse("questionnaires:tablet_submit"))
    assert b'data-testid="tablet-idle"' in submit.content
    odi = QuestionnaireResponse.objects.get(instrument_code="odi")
    assert odi.answers == {"odi_1": 3} and not odi.is_submitted


def test_an_active_tablet_session_stays_open(world, login, settings):
    settings.QUESTIONNAIRE_TABLET_IDLE_MINUTES = 30
    client = _start_tablet(world, login)
    _leave_idle(29)
    page = client.get(reverse("questionnaires:tablet_step", args=["odi", 2]))
    assert b'data-testid="tablet-idle"' not in page.content and page.status_code == 200
    session = TabletSession.objects.get()
    assert session.ended_at is None
    assert timezone.now() - session.last_activity_at < dt.timedelta(minutes=1)  # touched


def test_staff_start_a_new_session_and_the_patient_continues(world, login, settings):
    settings.QUESTIONNAIRE_TABLET_IDLE_MINUTES = 30
    client = _start_tablet(world, login)
    _leave_idle(45)
    client.get(reverse("questionnaires:tablet_start"))
    client = login(world.users[Role.NURSE])
    p = world.own_participant
    client.post(reverse("questionnaires:staff_tablet", args=[p.trial_number, "BL"]))
    page = client.get(reverse("questionnaires:tablet_start"))
    assert page.status_code == 200 and b"tablet-idle" not in page.content
    assert page.context["started"] is True  # resumes with the answers kept
