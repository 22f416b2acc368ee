"""Death and withdrawal: one service each, stopping every contact in the same transaction."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation

from followup.models import Contact
from tests.clock import FIXED_DAY
from tests.factories import allocate
from trial.concurrency import ConcurrentChange
from trial.models import Death, ParticipantStatus, Role, Withdrawal
from trial.participants import services
from trial.registry import registry

# Dates here are computed before the code under test asks the clock: both see FIXED_DAY.
TODAY = FIXED_DAY
pytestmark = pytest.mark.usefixtures("fixed_day")


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


def _contact(participant, code, status="planned", days=7):
    target = TODAY + dt.timedelta(days=days)
    return Contact.objects.create(
        participant=participant,
        visit_code=code,
        anchor="randomisation",
        anchor_date=TODAY - dt.timedelta(days=14),
        target_date=target,
        window_opens=target - dt.timedelta(days=3),
        window_closes=target + dt.timedelta(days=3),
        status=status,
    )


@pytest.fixture
def randomised(world):
    p = world.own_participant
    # Screened five weeks ago (the participant's registration day counts as screening day).
    type(p).objects.filter(pk=p.pk).update(created_at=timezone.now() - dt.timedelta(days=35))
    p.refresh_from_db()
    allocate(p, timezone.now() - dt.timedelta(days=20), user=world.users[Role.HEMATOLOGIST])
    _contact(p, "W3", status="due", days=1)
    _contact(p, "W4", days=8)
    _contact(p, "W2", status="done", days=-6)
    return p


def _statuses():
    return dict(Contact.objects.values_list("visit_code", "status"))


def test_recording_a_death_cancels_every_open_contact_before_the_commit(world, randomised):
    nurse = world.users[Role.NURSE]
    with transaction.atomic():
        death = services.death_record(
            participant=randomised,
            user=nurse,
            date_of_death=TODAY - dt.timedelta(days=1),
            relation="myeloma",
            cause="Progressive disease",
        )
        # Still inside the transaction: nothing waits for a nightly run.
        assert _statuses() == {"W3": "cancelled", "W4": "cancelled", "W2": "done"}
    randomised.refresh_from_db()
    assert randomised.status == ParticipantStatus.DECEASED
    assert death.recorded_by == nurse
    history = randomised.history.first()
    assert history.history_user == nurse
    assert "Death recorded" in history.history_change_reason
    assert Contact.objects.get(visit_code="W3").history.first().history_user == nurse


def test_a_failing_hook_leaves_neither_the_death_nor_cancelled_contacts(world, randomised):
    def broken(**kwargs):
        raise RuntimeError("hook failed")

    registry.participant_ended_hooks.append(broken)
    try:
        with pytest.raises(RuntimeError):
            services.death_record(
                participant=randomised,
                user=world.users[Role.NURSE],
                date_of_death=TODAY,
                relation="other",
            )
    finally:
        registry.participant_ended_hooks.remove(broken)
    assert not Death.objects.exists()
    assert _statuses()["W4"] == "planned"
    randomised.refresh_from_db()
    assert randomised.status == ParticipantStatus.RANDOMISED


def test_a_death_is_recorded_only_once(world, randomised):
    kwargs = {"user": world.users[Role.NURSE], "date_of_death": TODAY, "relation": "myeloma"}
    services.death_record(participant=randomised, **kwargs)
    # Told as a death recorded meanwhile, with who recorded it (trial.concurrency).
    with pytest.raises(ConcurrentChange) as twice:
        services.death_record(participant=randomised, **kwargs)
    assert twice.value.final and twice.value.who == world.users[Role.NURSE].get_full_name()
    assert isinstance(twice.value, ValidationError)
    assert Death.objects.count() == 1


@pytest.mark.parametrize(
    "days, message",
    [(1, "cannot be in the future"), (-4000, "cannot be before the screening date")],
)
def test_implausible_dates_of_death_are_refused(world, randomised, days, message):
    with pytest.raises(ValidationError, match=message) as exc:
        services.death_record(
            participant=randomised,
            user=world.users[Role.NURSE],
            date_of_death=TODAY + dt.timedelta(days=days),
            relation="myeloma",
        )
    assert "date_of_death" in exc.value.error_dict
    assert not Death.objects.exists()


def test_a_withdrawn_participant_who_later_dies_is_recorded_as_deceased(world, randomised):
    user = world.users[Role.HEMATOLOGIST]
    services.withdrawal_record(
        participant=randomised,
        user=user,
        withdrawn_on=TODAY - dt.timedelta(days=2),
        reason="Too tired for the calls",
        data_use_allowed=True,
    )
    services.death_record(
        participant=randomised, user=user, date_of_death=TODAY, relation="myeloma"
    )
    randomised.refresh_from_db()
    assert randomised.status == ParticipantStatus.DECEASED
    assert randomised.withdrawal.data_use_allowed is True


def test_withdrawal_keeps_the_data_use_decision_and_cancels_contacts(world, randomised):
    withdrawal = services.withdrawal_record(
        participant=randomised,
        user=world.users[Role.NURSE],
        withdrawn_on=TODAY,
        reason="Does not want more contact",
        data_use_allowed=False,
        initiated_by="participant",
    )
    assert withdrawal.data_use_allowed is False
    assert _statuses() == {"W3": "cancelled", "W4": "cancelled", "W2": "done"}
    randomised.refresh_from_db()
    assert randomised.status == ParticipantStatus.WITHDRAWN


def test_withdrawal_before_randomisation_points_to_not_included(world):
    with pytest.raises(ValidationError, match="not included instead"):
        services.withdrawal_record(
            participant=world.own_participant,
            user=world.users[Role.NURSE],
            withdrawn_on=TODAY,
            reason="x",
            data_use_allowed=True,
        )


def test_withdrawal_needs_a_reason_and_a_data_use_answer(world, randomised):
    with pytest.raises(ValidationError) as exc:
        services.withdrawal_record(
            participant=randomised,
            user=world.users[Role.NURSE],
            withdrawn_on=TODAY,
            reason="  ",
            data_use_allowed=None,
        )
    assert set(exc.value.error_dict) == {"reason", "data_use_allowed"}
    assert not Withdrawal.objects.exists()


def test_withdrawal_cannot_be_dated_before_randomisation(world, randomised):
    with pytest.raises(ValidationError, match="before randomisation"):
        services.withdrawal_record(
            participant=randomised,
            user=world.users[Role.NURSE],
            withdrawn_on=TODAY - dt.timedelta(days=30),
            reason="x",
            data_use_allowed=True,
        )


# --- pages -------------------------------------------------------------------------------


def test_the_nurse_records_a_death_from_the_participant_page(world, randomised, login):
    client = login(world.users[Role.NURSE])
    page = client.get(randomised.get_absolute_url())
    assert b'data-testid="action-death"' in page.content
    response = client.post(
        reverse("trial:death_record", args=[randomised.trial_number]),
        {"date_of_death": TODAY.isoformat(), "relation": "myeloma", "cause": "Pneumonia"},
    )
    assert response.status_code == 302
    assert Death.objects.get().cause == "Pneumonia"
    page = client.get(randomised.get_absolute_url())
    assert b'data-testid="death-summary"' in page.content
    assert b'data-testid="action-death"' not in page.content


def test_a_refused_death_shows_the_reason_on_the_form(world, randomised, login):
    client = login(world.users[Role.NURSE])
    tomorrow = (TODAY + dt.timedelta(days=1)).isoformat()
    response = client.post(
        reverse("trial:death_record", args=[randomised.trial_number]),
        {"date_of_death": tomorrow, "relation": "myeloma"},
    )
    assert response.status_code == 200
    assert "cannot be in the future" in response.content.decode()
    assert not Death.objects.exists()


def test_the_withdrawal_form_insists_on_the_data_use_answer(world, randomised, login):
    client = login(world.users[Role.HEMATOLOGIST])
    url = reverse("trial:withdrawal_record", args=[randomised.trial_number])
    response = client.post(url, {"withdrawn_on": TODAY.isoformat(), "reason": "x"})
    assert response.status_code == 200
    assert not Withdrawal.objects.exists()
    response = client.post(
        url,
        {
            "withdrawn_on": TODAY.isoformat(),
            "reason": "Moved abroad",
            "initiated_by": "participant",
            "data_use_allowed": "no",
        },
    )
    assert response.status_code == 302
    assert Withdrawal.objects.get().data_use_allowed is False


def test_another_sites_participant_answers_404(world, login):
    client = login(world.users[Role.NURSE])
    url = reverse("trial:death_record", args=[world.other_participant.trial_number])
    assert client.get(url).status_code == 404


def test_the_monitor_reads_the_record_but_cannot_write_it(world, randomised, login):
    services.death_record(
        participant=randomised,
        user=world.users[Role.NURSE],
        date_of_death=TODAY,
        relation="unknown",
    )
    client = login(world.users[Role.MONITOR])
    page = client.get(randomised.get_absolute_url())
    assert b'data-testid="death-summary"' in page.content
    url = reverse("trial:withdrawal_record", args=[randomised.trial_number])
    assert client.post(url, {}).status_code == 403


@pytest.mark.parametrize("event", ["death", "withdrawal"])
def test_the_end_of_participation_revokes_every_questionnaire_link(
    world, randomised, client, event
):
    from questionnaires.models import QuestionnaireLink, TabletSession
    from questionnaires.services import tablet_session_start
    from tests.questionnaires.factories import letter_link

    nurse = world.users[Role.NURSE]
    link, token = letter_link(randomised, visit_code="W3", user=nurse)
    session, _tablet_token = tablet_session_start(
        participant=randomised, visit_code="W3", user=nurse
    )
    assert client.get(f"/q/{token}/", follow=True).status_code == 200
    with transaction.atomic():
        if event == "death":
            services.death_record(
                participant=randomised, user=nurse, date_of_death=TODAY, relation="myeloma"
            )
        else:
            services.withdrawal_record(
                participant=randomised, user=nurse, withdrawn_on=TODAY,
                reason="Too tired", data_use_allowed=True,
            )  # fmt: skip
        # In the same transaction as the death: no window in which the link still works.
        link.refresh_from_db()
        assert link.revoked_at is not None and link.revoked_by == nurse
    assert link.history.first().history_change_reason
    session.refresh_from_db()
    assert session.ended_at is not None and session.ended_by == nurse
    ended = session.history.order_by("-history_date").first()
    assert ended.ended_at is not None and ended.history_user == nurse  # audited
    assert not QuestionnaireLink.objects.filter(participant=randomised, revoked_at=None).exists()
    assert not TabletSession.objects.filter(participant=randomised, ended_at=None).exists()
    page = client.get(f"/q/{token}/", follow=True)
    assert "This link does not work" in page.content.decode()
