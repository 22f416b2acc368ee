"""The schedule governs calls and the links the nightly job sends: a call outside the contact's
window needs the nurse's confirmation and is flagged (on the call, the questionnaires taken
with it, the completeness page and the exports); contacts and links exist only for randomised
participants; each visit's link goes out when its window opens."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from followup import links, services
from followup.exports import CallLogExporter
from followup.models import CallLog, Contact
from questionnaires.exports import _instrument_exporter
from questionnaires.models import QuestionnaireLink, QuestionnaireResponse
from tests import clock
from tests.conftest import verified_client
from tests.factories import IdentityFactory, allocate
from trial.errors import ServiceError
from trial.models import Participant, Role
from trial.protocol.windows import NotRandomised, OutOfWindow

pytestmark = pytest.mark.django_db

DAY0 = dt.date(2026, 3, 2)  # W1: days 4 to 10; W2: days 11 to 17


def at(day_number: int):
    return time_machine.travel(clock.noon(DAY0 + dt.timedelta(days=day_number)), tick=True)


@pytest.fixture
def participant(world):
    # Registered (screened) before day 0, as in the trial: a death is dated after screening.
    Participant.objects.filter(pk=world.own_participant.pk).update(
        created_at=clock.noon(DAY0 - dt.timedelta(days=14))
    )
    allocate(world.own_participant, clock.noon(DAY0))
    IdentityFactory(participant=world.own_participant, email="pt@example.dk")
    with at(0):
        services.contacts_create_for(participant=world.own_participant)
    return world.own_participant


def _contact(participant, code):
    return Contact.objects.get(participant=participant, visit_code=code)


def _url(contact):
    return reverse("followup:call_log", args=[contact.pk])


# A reached call records every item group of the visit, or says why one is missing
# (followup.call_items): here the opioid dose, no new adverse events, back-pain VAS, and
# health-service use declined.
REACHED = {
    "outcome": "reached",
    "opioid_omeq_mg": "0",
    "new_adverse_events": "no",
    "q_vas_back": "62",
    "missing_hsu": "declined",
}


def test_a_call_before_the_window_needs_confirmation_and_is_flagged(participant, world):
    nurse = verified_client(world.users[Role.NURSE])
    w2 = _contact(participant, "W2")
    with at(8):  # W2 opens on day 11
        html = nurse.get(_url(w2)).content.decode()
        assert 'data-testid="out-of-window"' in html
        refused = nurse.post(_url(w2), REACHED)
        assert refused.status_code == 200
        assert refused.context["form"].errors["record_out_of_window"]
        assert not CallLog.objects.exists()
        assert nurse.post(_url(w2), {**REACHED, "record_out_of_window": "on"}).status_code == 302
    call = CallLog.objects.get(contact=w2)
    assert call.out_of_window
    vas = QuestionnaireResponse.objects.get(visit_code="W2", instrument_code="vas")
    assert vas.out_of_window and vas.answers == {"vas_back": 62}
    with at(8):
        page = nurse.get(_url(w2)).content.decode()
    assert 'data-testid="call-out-of-window"' in page


def test_a_call_inside_the_window_is_not_asked_about_it(participant, world):
    nurse = verified_client(world.users[Role.NURSE])
    w1 = _contact(participant, "W1")
    with at(10):  # W1's last day
        assert "record_out_of_window" not in nurse.get(_url(w1)).context["form"].fields
        assert nurse.post(_url(w1), {"outcome": "no_answer"}).status_code == 302
    assert not CallLog.objects.get(contact=w1).out_of_window


def test_a_death_is_recorded_whenever_it_is_learnt(participant, world):
    w2 = _contact(participant, "W2")
    with at(8):
        call = services.call_log_record(
            contact=w2,
            user=world.users[Role.NURSE],
            outcome="died",
            death=services.DeathInput(
                date_of_death=DAY0 + dt.timedelta(days=7), relation="myeloma"
            ),
        )
    assert not call.out_of_window


def test_the_service_refuses_a_call_of_a_participant_not_randomised(world):
    allocate(world.own_participant, clock.noon(DAY0), confirmed=False)
    contact = Contact.objects.create(
        participant=world.own_participant,
        visit_code="W1",
        anchor="randomisation",
        anchor_date=DAY0,
        target_date=DAY0 + dt.timedelta(days=7),
        window_opens=DAY0 + dt.timedelta(days=4),
        window_closes=DAY0 + dt.timedelta(days=10),
        status="due",
    )
    with at(7), pytest.raises(NotRandomised):
        services.call_log_record(contact=contact, user=world.users[Role.NURSE], outcome="no_answer")
    with at(12), pytest.raises(OutOfWindow):
        # Once randomised, a late call is still refused without the confirmation.
        contact.participant.allocation.confirmed_at = clock.noon(DAY0)
        contact.participant.allocation.save()
        services.call_log_record(contact=contact, user=world.users[Role.NURSE], outcome="no_answer")


def test_the_nightly_job_plans_no_contact_before_the_envelope_is_confirmed(world):
    allocate(world.own_participant, clock.noon(DAY0), confirmed=False)
    assert services.contacts_create_due(today=DAY0 + dt.timedelta(days=3)) == 0
    assert not Contact.objects.exists()


def test_each_visits_link_is_sent_when_its_window_opens(
    participant, django_capture_on_commit_callbacks
):
    with at(3), django_capture_on_commit_callbacks(execute=True):
        services.contacts_update_status(today=DAY0 + dt.timedelta(days=3))
        assert links.visit_links_send_due() == 0  # not on day 0, nor the day before it opens
    with at(4), django_capture_on_commit_callbacks(execute=True):
        services.contacts_update_status(today=DAY0 + dt.timedelta(days=4))
        assert links.visit_links_send_due() == 1
        assert links.visit_links_send_due() == 0  # a second run sends nothing
    link = QuestionnaireLink.objects.get()
    assert (link.visit_code, link.sent_via) == ("W1", "email")
    assert link.window_closes == DAY0 + dt.timedelta(days=10)
    assert link.sent_at is not None and len(mail.outbox) == 1


def test_no_link_is_sent_when_the_questionnaires_were_taken_by_phone(participant, world):
    w1 = _contact(participant, "W1")
    with at(5):
        services.contacts_update_status(today=DAY0 + dt.timedelta(days=5))
        posted = {**REACHED, "q_hsu_gp": "0", "missing_hsu": ""}
        verified_client(world.users[Role.NURSE]).post(_url(w1), posted)
        assert links.visit_links_send_due() == 0
    assert not QuestionnaireLink.objects.exists()


def test_a_link_refused_by_the_rule_is_skipped_not_fatal(participant, world):
    # Contacts planned under another schedule, whose window the rule does not agree with.
    Contact.objects.filter(participant=participant, visit_code="W1").update(
        window_opens=DAY0, status="due"
    )
    with at(1):
        assert links.visit_links_send_due() == 0


def test_the_data_manager_sees_out_of_window_data(participant, world):
    with at(8):
        services.call_log_record(
            contact=_contact(participant, "W2"),
            user=world.users[Role.NURSE],
            outcome="no_answer",
            out_of_window_confirmed=True,
        )
    manager = verified_client(world.users[Role.DATA_MANAGER])
    url = reverse("followup:completeness")
    page = manager.get(url)
    row = next(r for r in page.context["rows"] if r.visit_code == "W2")
    assert row.cells[0].counts["out_of_window"] == 1
    assert 'data-testid="n-W2-AAR-out_of_window"' in page.content.decode()
    detail = manager.get(url, {"visit": "W2", "site": "AAR", "status": "out_of_window"})
    assert [r.participant for r in detail.context["detail"]["records"]] == [participant]
    flag = 2 + [v.name for v in CallLogExporter().variables()].index("out_of_window")
    assert [row[flag] for row in CallLogExporter().rows()] == [1]


def test_the_response_export_has_the_flag(participant, world):
    with at(8):
        services.call_log_record(
            contact=_contact(participant, "W2"),
            user=world.users[Role.NURSE],
            outcome="reached",
            items=services.VisitItemsInput(
                opioid_omeq_mg=0,
                new_adverse_events=False,
                questionnaires={"vas": {"vas_back": 10}},
                missing={"hsu": "declined"},
            ),
            out_of_window_confirmed=True,
        )
    exporter = _instrument_exporter("vas", 1)()
    names = [v.name for v in exporter.variables()]
    flag = names.index("out_of_window")
    rows = list(exporter.rows())
    assert len(rows) == 1 and rows[0][2 + flag] == 1


def test_a_link_refused_for_an_early_window_names_the_opening_day(participant):
    with at(1), pytest.raises(ServiceError) as refused:
        from questionnaires import links as qlinks

        qlinks.link_issue_letter(participant=participant, visit_code="W2", user=None)
    assert "W2" in str(refused.value)
