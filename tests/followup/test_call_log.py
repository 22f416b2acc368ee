"""Logging a call: attempts counted, visit items stored, death and withdrawal stopping every
contact in the same transaction as the call."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import translation

from followup import services
from followup.models import CallLog, Contact, VisitItems
from questionnaires.models import QuestionnaireLink, QuestionnaireResponse
from tests.conftest import verified_client
from tests.followup.conftest import open_contact, randomised
from trial.models import Death, ParticipantStatus, Role, Withdrawal
from trial.protocol.schedule import local_today


@pytest.fixture
def setup(world):
    participant = randomised(world.own, 1, start=30)[0]
    today = local_today()
    w1 = open_contact(participant, "W1", target=today)
    w2 = open_contact(participant, "W2", target=today + dt.timedelta(days=7), status="planned")
    user = world.users[Role.NURSE]
    return participant, w1, w2, user, verified_client(user)


def url(contact):
    return reverse("followup:call_log", args=[contact.pk])


# Every group a W1 call collects in the PVP arm, recorded.
RECORDED = {
    "opioid_omeq_mg": "0",
    "new_adverse_events": "no",
    "q_vas_back": "30",
    "q_hsu_gp": "0",
}


def test_each_call_counts_one_attempt_with_an_audit_row(setup):
    _p, w1, _w2, _user, client = setup
    for _ in range(2):
        response = client.post(url(w1), {"outcome": "no_answer", "notes": "voicemail"})
        assert response.status_code == 302
    w1.refresh_from_db()
    assert (w1.attempts, w1.status) == (2, "due")
    assert CallLog.objects.filter(contact=w1).count() == 2
    latest = w1.history.order_by("-history_date").first()
    assert latest.attempts == 2 and latest.history_user.role == Role.NURSE
    assert latest.history_change_reason == "call logged: no_answer"


@pytest.mark.parametrize("outcome", ["wrong_number", "declined"])
def test_other_unsuccessful_outcomes_leave_the_contact_open(setup, outcome):
    _p, w1, _w2, _user, client = setup
    client.post(url(w1), {"outcome": outcome})
    w1.refresh_from_db()
    assert (w1.attempts, w1.status) == (1, "due")


def test_a_reached_call_stores_items_and_vas_by_phone_and_marks_done(setup):
    participant, w1, _w2, _user, client = setup
    response = client.post(
        url(w1),
        {
            "outcome": "reached",
            "opioid_omeq_mg": "40",
            "pain_medication": "Paracetamol",
            "new_adverse_events": "no",
            "q_vas_back": "35",
            "q_vas_leg": "",
            "q_hsu_gp": "1",
        },
    )
    assert response.status_code == 302
    w1.refresh_from_db()
    assert w1.status == "done" and w1.completed_at and w1.attempts == 1
    items = VisitItems.objects.get(contact=w1)
    assert (items.opioid_omeq_mg, items.new_adverse_events) == (40, False)
    assert items.history.count() == 1
    vas = QuestionnaireResponse.objects.get(
        participant=participant, visit_code="W1", instrument_code="vas"
    )
    # The untouched leg VAS is a missing answer, not 50.
    assert (vas.mode, vas.answers) == ("phone", {"vas_back": 35})
    hsu = QuestionnaireResponse.objects.get(
        participant=participant, visit_code="W1", instrument_code="hsu"
    )
    assert hsu.answers == {"hsu_gp": 1}


def test_new_adverse_events_open_the_adverse_event_form_with_the_calls_text(setup):
    participant, w1, _w2, _user, client = setup
    with translation.override("en"):
        response = client.post(
            url(w1),
            {
                "outcome": "reached",
                **RECORDED,
                "new_adverse_events": "yes",
                "adverse_events_description": "fell at home",
            },
            follow=True,
        )
    items = VisitItems.objects.get(contact=w1)
    assert items.adverse_events_description == "fell at home"
    path = reverse("trial:adverse_event_create", args=[participant.trial_number])
    # The address carries the visit items' id, never the patient's words.
    assert response.redirect_chain[-1][0] == f"{path}?call_items={items.pk}"
    assert "fell at home" not in response.redirect_chain[-1][0]
    assert response.context["form"].initial["description"] == "fell at home"
    assert "New adverse events were reported" in response.content.decode()


def test_new_adverse_events_need_a_description(setup):
    _p, w1, _w2, _user, client = setup
    response = client.post(url(w1), {"outcome": "reached", "new_adverse_events": "yes"})
    assert response.status_code == 200
    assert "adverse_events_description" in response.context["form"].errors
    assert CallLog.objects.count() == 0


def test_crossover_is_asked_in_the_conservative_arm_only(world, setup):
    _p, w1, _w2, _user, client = setup
    assert "crossover_wish" not in client.get(url(w1)).context["form"].fields
    conservative = randomised(world.own, 1, start=40, arm="conservative")[0]
    contact = open_contact(conservative)
    assert "crossover_wish" in client.get(url(contact)).context["form"].fields


def test_questionnaires_can_be_sent_as_a_link_instead(setup, django_capture_on_commit_callbacks):
    participant, w1, _w2, _user, client = setup
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url(w1), {"outcome": "reached", "opioid_omeq_mg": "0", "new_adverse_events": "no",
                      "send_link_via": "email"},
        )  # fmt: skip
    assert response.status_code == 302
    link = QuestionnaireLink.objects.get(participant=participant, visit_code="W1")
    assert link.sent_via == "email"
    assert len(mail.outbox) == 1
    # The empty questionnaires are missing until the patient answers the link.
    assert VisitItems.objects.get(contact=w1).missing_reasons == {
        "vas": "by_link",
        "hsu": "by_link",
    }


def test_a_death_on_the_phone_cancels_every_contact_at_once(setup):
    participant, w1, w2, _user, client = setup
    response = client.post(
        url(w1),
        {
            "outcome": "died",
            "date_of_death": local_today().isoformat(),
            "death_relation": "myeloma",
            "death_cause": "pneumonia",
        },
    )
    assert response.status_code == 302
    participant.refresh_from_db()
    assert participant.status == ParticipantStatus.DECEASED
    death = Death.objects.get(participant=participant)
    assert (death.relation, death.cause) == ("myeloma", "pneumonia")
    assert set(
        Contact.objects.filter(participant=participant).values_list("status", flat=True)
    ) == {"cancelled"}
    assert CallLog.objects.get(contact=w1).outcome == "died"
    w2.refresh_from_db()
    assert w2.status == "cancelled"


def test_a_withdrawal_on_the_phone_records_data_use_and_cancels_contacts(setup):
    participant, w1, w2, _user, client = setup
    response = client.post(
        url(w1),
        {
            "outcome": "withdraws",
            "withdrawn_on": local_today().isoformat(),
            "withdrawal_reason": "does not want more calls",
            "data_use_allowed": "no",
            "withdrawal_initiated_by": "participant",
        },
    )
    assert response.status_code == 302
    withdrawal = Withdrawal.objects.get(participant=participant)
    assert withdrawal.data_use_allowed is False
    w2.refresh_from_db()
    assert w2.status == "cancelled"


def test_a_refused_death_keeps_nothing_of_the_call(setup):
    participant, w1, _w2, user, _client = setup
    future = local_today() + dt.timedelta(days=3)
    with pytest.raises(ValidationError):
        services.call_log_record(
            contact=w1,
            user=user,
            outcome="died",
            death=services.DeathInput(date_of_death=future, relation="myeloma"),
        )
    w1.refresh_from_db()
    assert (w1.attempts, w1.status) == (0, "due")
    assert CallLog.objects.count() == 0
    assert not Death.objects.filter(participant=participant).exists()


def test_the_form_shows_the_services_refusal(setup):
    _p, w1, _w2, _user, client = setup
    with translation.override("en"):
        response = client.post(
            url(w1),
            {
                "outcome": "died",
                "date_of_death": (local_today() + dt.timedelta(days=3)).isoformat(),
                "death_relation": "myeloma",
            },
        )
    assert response.status_code == 200
    assert response.context["form"].errors
    assert CallLog.objects.count() == 0


def test_the_death_form_needs_a_date(setup):
    _p, w1, _w2, _user, client = setup
    response = client.post(url(w1), {"outcome": "died"})
    assert "date_of_death" in response.context["form"].errors


def test_no_call_is_logged_on_a_closed_contact(setup):
    _p, w1, _w2, user, _client = setup
    Contact.objects.filter(pk=w1.pk).update(status="missed")
    with pytest.raises(services.ServiceError):
        services.call_log_record(contact=w1, user=user, outcome="no_answer")


@pytest.fixture(autouse=True)
def _pages_in_english(settings):
    # Assertions on page text are in English; the trial's default language is Danish.
    settings.LANGUAGE_CODE = "en"


def test_after_a_death_the_call_history_stays_readable_but_nobody_is_called(setup):
    participant, w1, _w2, _user, client = setup
    client.post(url(w1), {"outcome": "no_answer"})
    client.post(
        url(w1),
        {"outcome": "died", "date_of_death": local_today().isoformat(),
         "death_relation": "myeloma"},
    )  # fmt: skip
    response = client.get(url(w1))
    assert response.status_code == 200  # was a 404 once the participant had died
    html = response.content.decode()
    assert "No answer" in html and "Patient has died" in html
    assert 'name="outcome"' not in html  # no form to log another call
    before = CallLog.objects.count()
    refused = client.post(url(w1), {"outcome": "no_answer"})
    assert refused.status_code == 200 and CallLog.objects.count() == before
    # The worklist, which decides whom to call, still leaves the participant out.
    worklist = client.get(reverse("followup:worklist") + "?tab=overdue").content.decode()
    assert participant.trial_number not in worklist


def test_calls_appear_on_the_participant_timeline(setup, world):
    participant, w1, _w2, _user, client = setup
    client.post(url(w1), {"outcome": "no_answer"})
    page = client.get(reverse("trial:participant_detail", args=[participant.trial_number]))
    html = page.content.decode()
    assert "Follow-up call, visit W1: No answer" in html
    assert f'href="{url(w1)}"' in html
    monitor_page = verified_client(world.users[Role.MONITOR]).get(
        reverse("trial:participant_detail", args=[participant.trial_number])
    )
    assert "Follow-up call, visit W1" in monitor_page.content.decode()
