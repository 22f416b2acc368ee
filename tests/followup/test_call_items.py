"""A reached call collects the visit: each item group it collects is recorded on the call page or
has a reason for being missing; visits done with items missing show on the worklist and the
completeness page; an adverse event noted on the call opens the AE form with its text."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from followup import services
from followup.call_items import VisitItemsInput, missing_by_contact
from followup.models import CallLog, Contact, VisitItems
from questionnaires import services as qservices
from questionnaires.models import Mode, QuestionnaireLink, QuestionnaireResponse
from tests import clock
from tests.conftest import verified_client
from tests.followup.conftest import open_contact, randomised
from trial.models import Role
from trial.protocol.schedule import local_today
from trial.protocol.windows import visit_timing

WORKLIST = reverse("followup:worklist")
COMPLETENESS = reverse("followup:completeness")


@pytest.fixture(autouse=True)
def _in_english(settings):
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def nurse(world):
    return world.users[Role.NURSE]


@pytest.fixture
def patient(world):
    return randomised(world.own, 1, start=30)[0]


def url(contact):
    return reverse("followup:call_log", args=[contact.pk])


def reach(contact, user, *, notes="", **items):
    return services.call_log_record(
        contact=contact, user=user, outcome="reached", notes=notes, items=VisitItemsInput(**items)
    )


# W1 of the PVP arm collects VAS, pain medication, health-service use and adverse events.
W1_RECORDED = {
    "opioid_omeq_mg": 10,
    "new_adverse_events": False,
    "questionnaires": {"vas": {"vas_back": 40}, "hsu": {"hsu_gp": 1}},
}


# --- the service's rule ------------------------------------------------------------------


def test_a_reached_call_with_an_empty_group_and_no_reason_is_refused_and_keeps_nothing(
    patient, nurse
):
    w1 = open_contact(patient, "W1")
    with pytest.raises(ValidationError) as refused:
        reach(w1, nurse, opioid_omeq_mg=10, new_adverse_events=False,
              questionnaires={"vas": {"vas_back": 40}})  # fmt: skip
    assert refused.value.message_dict == {
        "missing_hsu": ["Health-service use: record it, or say why it is missing."]
    }
    w1.refresh_from_db()
    assert (w1.status, w1.attempts) == ("due", 0)
    assert not CallLog.objects.exists() and not QuestionnaireResponse.objects.exists()


def test_each_empty_group_with_its_reason_is_stored_and_the_visit_is_done(patient, nurse):
    w1 = open_contact(patient, "W1")
    reach(w1, nurse, new_adverse_events=False, questionnaires={"vas": {"vas_back": 40}},
          missing={"hsu": "declined", "pain_medication": "too_ill"})  # fmt: skip
    w1.refresh_from_db()
    assert w1.status == "done"
    items = VisitItems.objects.get(contact=w1)
    assert items.missing_reasons == {"hsu": "declined", "pain_medication": "too_ill"}
    assert items.history.get().missing_reasons == items.missing_reasons
    assert "missing: hsu, pain_medication" in w1.history.first().history_change_reason


def test_a_reason_given_for_a_recorded_group_is_not_kept(patient, nurse):
    w1 = open_contact(patient, "W1")
    reach(w1, nurse, **W1_RECORDED, missing={"vas": "declined"})
    assert VisitItems.objects.get(contact=w1).missing_reasons == {}


def test_will_send_by_link_needs_the_link_and_a_questionnaire(patient, nurse):
    w1 = open_contact(patient, "W1")
    with pytest.raises(ValidationError) as refused:
        reach(w1, nurse, new_adverse_events=False, questionnaires={"vas": {"vas_back": 4}},
              missing={"hsu": "by_link", "pain_medication": "by_link"})  # fmt: skip
    assert set(refused.value.message_dict) == {"missing_hsu", "missing_pain_medication"}
    assert "choose how the link is sent" in refused.value.message_dict["missing_hsu"][0]
    assert "not a questionnaire" in refused.value.message_dict["missing_pain_medication"][0]


def test_other_needs_the_notes(patient, nurse):
    w1 = open_contact(patient, "W1")
    values = {
        **W1_RECORDED,
        "questionnaires": {"vas": {"vas_back": 4}},
        "missing": {"hsu": "other"},
    }
    with pytest.raises(ValidationError):
        reach(w1, nurse, **values)
    reach(w1, nurse, notes="hearing aid broken; asks to be called back", **values)
    assert VisitItems.objects.get(contact=w1).missing_reasons == {"hsu": "other"}


def test_w4_takes_vas_by_phone_and_sends_odi_and_eq5d_by_link(
    patient, nurse, django_capture_on_commit_callbacks
):
    # On the visit's target day (the schedule's rule): a link is sent only once it is open.
    target = visit_timing(patient, "W4").target
    w4 = open_contact(patient, "W4", target=target)
    with (
        time_machine.travel(clock.noon(target), tick=True),
        django_capture_on_commit_callbacks(execute=True),
    ):
        reach(w4, nurse, **W1_RECORDED, send_link_via="email")
        items = VisitItems.objects.get(contact=w4)
        assert items.missing_reasons == {"odi": "by_link", "eq5d3l": "by_link"}
        assert QuestionnaireLink.objects.filter(participant=patient, visit_code="W4").count() == 1
        # Once the patient answers the link, the ODI is no longer missing; the EQ-5D still is.
        assert [m.code for m in missing_by_contact([Contact.objects.get(pk=w4.pk)])[w4.pk]] == [
            "odi",
            "eq5d3l",
        ]
        qservices.response_enter(participant=patient, visit_code="W4", instrument_code="odi",
                                 answers={"odi_1": 2}, mode=Mode.PAPER, user=nurse)  # fmt: skip
        missing = missing_by_contact([Contact.objects.get(pk=w4.pk)])[w4.pk]
        assert [(m.code, m.reason) for m in missing] == [("eq5d3l", "by_link")]


def test_a_questionnaire_submitted_before_the_call_is_not_asked(patient, nurse):
    w1 = open_contact(patient, "W1")
    qservices.response_enter(participant=patient, visit_code="W1", instrument_code="hsu",
                             answers={"hsu_gp": 0}, mode=Mode.PAPER, user=nurse)  # fmt: skip
    reach(w1, nurse, opioid_omeq_mg=0, new_adverse_events=False,
          questionnaires={"vas": {"vas_back": 4}})  # fmt: skip
    assert VisitItems.objects.get(contact=w1).missing_reasons == {}


def test_crossover_is_a_group_in_the_conservative_arm(world, nurse):
    conservative = randomised(world.own, 1, start=40, arm="conservative")[0]
    w1 = open_contact(conservative, "W1")
    with pytest.raises(ValidationError) as refused:
        reach(w1, nurse, **W1_RECORDED)
    assert set(refused.value.message_dict) == {"missing_crossover"}
    reach(w1, nurse, **W1_RECORDED, crossover_wish=False)


# --- the call page -----------------------------------------------------------------------


def test_w4s_call_page_takes_odi_and_eq5d_and_w1s_does_not(patient, nurse):
    client = verified_client(nurse)
    w1, w4 = open_contact(patient, "W1"), open_contact(patient, "W4")
    w1_fields = client.get(url(w1)).context["form"].fields
    w4_fields = client.get(url(w4)).context["form"].fields
    assert {"q_vas_back", "q_vas_leg", "q_hsu_gp", "missing_vas", "missing_hsu"} <= set(w1_fields)
    assert "q_odi_1" not in w1_fields and "missing_odi" not in w1_fields
    assert {"q_odi_1", "q_odi_10", "q_eq5d_mo", "q_eq_vas", "missing_odi", "missing_eq5d3l"} <= set(
        w4_fields
    )
    assert "ODI 3, lifting (0-5)" in client.get(url(w4)).content.decode()


def test_the_page_names_the_group_that_needs_a_reason(patient, nurse):
    w1 = open_contact(patient, "W1")
    response = verified_client(nurse).post(
        url(w1), {"outcome": "reached", "opioid_omeq_mg": "0", "new_adverse_events": "no",
                  "q_vas_back": "20"},
    )  # fmt: skip
    assert response.status_code == 200
    assert response.context["form"].errors["missing_hsu"] == [
        "Health-service use: record it, or say why it is missing."
    ]
    assert CallLog.objects.count() == 0


def test_odi_and_eq5d_taken_on_the_call_page_are_scored(patient, nurse):
    w4 = open_contact(patient, "W4")
    posted = {"outcome": "reached", "opioid_omeq_mg": "0", "new_adverse_events": "no",
              "q_vas_back": "20", "q_hsu_gp": "0", "q_eq5d_mo": "2", "q_eq5d_sc": "1",
              "q_eq5d_ua": "2", "q_eq5d_pd": "3", "q_eq5d_ad": "1", "q_eq_vas": "60",
              **{f"q_odi_{n}": "2" for n in range(1, 11)}}  # fmt: skip
    assert verified_client(nurse).post(url(w4), posted).status_code == 302
    odi = QuestionnaireResponse.objects.get(participant=patient, visit_code="W4",
                                            instrument_code="odi")  # fmt: skip
    eq5d = QuestionnaireResponse.objects.get(participant=patient, visit_code="W4",
                                             instrument_code="eq5d3l")  # fmt: skip
    assert (odi.mode, odi.scores["odi_score"]) == ("phone", "40.0")
    assert eq5d.scores["eq5d_profile"] == "21231"


def test_an_odi_answer_out_of_range_is_a_message_not_a_500(patient, nurse):
    w4 = open_contact(patient, "W4")
    response = verified_client(nurse).post(url(w4), {"outcome": "reached", "q_odi_1": "9"})
    assert response.status_code == 200 and "q_odi_1" in response.context["form"].errors


def test_the_message_says_what_was_recorded_and_what_is_missing(patient, nurse):
    w1 = open_contact(patient, "W1")
    response = verified_client(nurse).post(
        url(w1), {"outcome": "reached", "opioid_omeq_mg": "0", "new_adverse_events": "no",
                  "q_vas_back": "20", "missing_hsu": "declined"}, follow=True,
    )  # fmt: skip
    text = [str(m) for m in response.context["messages"]]
    assert text == [
        "Call logged; the visit is done. Recorded: Back and leg pain (VAS), Pain medication, "
        "Adverse events. Missing: Health-service use (declined)."
    ]


def test_a_done_contact_shows_what_is_missing_with_a_way_to_enter_it(patient, nurse):
    w1 = open_contact(patient, "W1")
    reach(w1, nurse, **{**W1_RECORDED, "questionnaires": {"vas": {"vas_back": 3}}},
          missing={"hsu": "too_ill"})  # fmt: skip
    html = verified_client(nurse).get(url(w1)).content.decode()
    assert 'data-testid="missing-items"' in html and "Health-service use (patient too ill)" in html
    assert reverse("questionnaires:staff_enter", args=[patient.trial_number, "W1", "hsu"]) in html


# --- the adverse-event form, filled from the call ----------------------------------------


def _ae_items(patient, nurse):
    contact = open_contact(patient, "W1")
    reach(contact, nurse, **{**W1_RECORDED, "new_adverse_events": True},
          adverse_events_description="fell in the bathroom")  # fmt: skip
    return VisitItems.objects.get(contact=contact)


def _ae_form(client, participant, value):
    response = client.get(
        reverse("trial:adverse_event_create", args=[participant.trial_number]),
        {"call_items": value},
    )
    return response.status_code, response.context["form"].initial.get("description")


def test_the_ae_form_reads_the_calls_text_only_for_the_same_participant(world, patient, nurse):
    items = _ae_items(patient, nurse)
    client = verified_client(nurse)
    assert _ae_form(client, patient, items.pk) == (200, "fell in the bathroom")
    other = randomised(world.own, 1, start=50)[0]
    assert _ae_form(client, other, items.pk) == (200, "")
    for junk in ("abc", "9" * 40, "-1", ""):
        assert _ae_form(client, patient, junk) == (200, "")


def test_another_sites_user_never_gets_the_calls_text(world, patient, nurse):
    from tests.factories import UserFactory

    items = _ae_items(patient, nurse)
    outsider = UserFactory(username="nurse.ode", role=Role.NURSE, sites=[world.other])
    response = verified_client(outsider).get(
        reverse("trial:adverse_event_create", args=[patient.trial_number]),
        {"call_items": items.pk},
    )
    assert response.status_code == 404


# --- the worklist and the completeness page ----------------------------------------------


def _done_with_missing(world, nurse, count, start):
    contacts = []
    for participant in randomised(world.own, count, start=start):
        contact = open_contact(participant, "W1", target=local_today() + dt.timedelta(days=1))
        reach(contact, nurse, opioid_omeq_mg=0, new_adverse_events=False,
              questionnaires={"vas": {"vas_back": 5}}, missing={"hsu": "declined"})  # fmt: skip
        contacts.append(contact)
    return contacts


def test_the_worklist_lists_visits_done_with_items_missing(world, nurse):
    incomplete = _done_with_missing(world, nurse, 1, 60)[0]
    complete = open_contact(randomised(world.own, 1, start=70)[0], "W1")
    reach(complete, nurse, **W1_RECORDED)
    response = verified_client(nurse).get(WORKLIST, {"tab": "incomplete"})
    rows = response.context["rows"]
    assert [r.contact.pk for r in rows] == [incomplete.pk]
    assert [(m.code, m.reason) for m in rows[0].missing] == [("hsu", "declined")]
    assert "missing: Health-service use (declined)" in response.content.decode()
    # Entered later from paper: no longer missing, off the list.
    qservices.response_enter(participant=incomplete.participant, visit_code="W1",
                             instrument_code="hsu", answers={"hsu_gp": 2}, mode=Mode.PAPER,
                             user=nurse)  # fmt: skip
    assert verified_client(nurse).get(WORKLIST, {"tab": "incomplete"}).context["rows"] == []


def test_the_incomplete_tab_costs_the_same_queries_for_more_rows(
    world, nurse, django_assert_num_queries
):
    _done_with_missing(world, nurse, 2, 100)
    client = verified_client(nurse)
    with CaptureQueriesContext(connection) as two:
        assert len(client.get(WORKLIST, {"tab": "incomplete"}).context["rows"]) == 2
    _done_with_missing(world, nurse, 6, 200)
    with django_assert_num_queries(len(two.captured_queries)):
        assert len(client.get(WORKLIST, {"tab": "incomplete"}).context["rows"]) == 8


def test_completeness_counts_done_with_items_missing_and_lists_them(world, nurse):
    incomplete = _done_with_missing(world, nurse, 2, 60)
    complete = open_contact(randomised(world.own, 1, start=70)[0], "W1")
    reach(complete, nurse, **W1_RECORDED)
    client = verified_client(world.users[Role.COORDINATOR])
    response = client.get(COMPLETENESS)
    row = next(r for r in response.context["rows"] if r.visit_code == "W1")
    counts = next(c for c in row.cells if c.site.code == world.own.code).counts
    assert (counts["done"], counts["incomplete"]) == (3, 2)
    detail = client.get(
        COMPLETENESS, {"visit": "W1", "site": world.own.code, "status": "incomplete"}
    )
    listed = [c.participant.trial_number for c in detail.context["detail"]["contacts"]]
    assert listed == sorted(c.participant.trial_number for c in incomplete)
    assert "Health-service use (declined)" in detail.content.decode()


def test_completeness_costs_the_same_queries_with_more_incomplete_visits(
    world, nurse, django_assert_num_queries
):
    _done_with_missing(world, nurse, 1, 100)
    client = verified_client(world.users[Role.COORDINATOR])
    query = {"visit": "W1", "site": world.own.code, "status": "incomplete"}
    with CaptureQueriesContext(connection) as one:
        client.get(COMPLETENESS, query)
    _done_with_missing(world, nurse, 5, 200)
    with django_assert_num_queries(len(one.captured_queries)):
        client.get(COMPLETENESS, query)


def test_the_export_carries_what_the_call_recorded_and_why_items_are_missing(patient, nurse):
    from trial.exports.registry import autodiscover
    from trial.exports.tables import form_table

    exporters = autodiscover()
    w1 = open_contact(patient, "W1")
    values = {
        **W1_RECORDED,
        "questionnaires": {"vas": {"vas_back": 4}},
        "pain_medication": "Paracetamol from Dr Jensen",
        "missing": {"hsu": "other"},
    }
    reach(w1, nurse, notes="hearing aid broken", **values)
    default = form_table(exporters.get("call_items")(), identified=False)
    names = ["trial_number", "visit", *(v.name for v in default.variables)]
    [row] = [dict(zip(names, r, strict=True)) for r in default.rows()]
    assert (row["trial_number"], row["visit"]) == (patient.trial_number, "W1")
    assert row["opioid_omeq_mg"] == 10 and row["new_adverse_events"] == 0
    assert row["missing_items"] == "hsu:other"
    # Free text may name people: only in an identified export.
    assert "pain_medication" not in row
    identified = form_table(exporters.get("call_items")(), identified=True)
    assert any("Dr Jensen" in str(v) for r in identified.rows() for v in r)
