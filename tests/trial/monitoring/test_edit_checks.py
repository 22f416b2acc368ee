"""Edit checks: a failing check opens one query on its item, a fixed value closes it, an
accepted one is not raised again; they run after a save commits and every night."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone, translation

from questionnaires.models import QuestionnaireResponse, ResponseStatus
from tests.conftest import verified_client
from tests.factories import (
    ConsentFactory,
    ProcedureFactory,
    ProcedureLevelFactory,
    UserFactory,
    randomised,
)
from trial.audit import audited_save
from trial.models import Query, QueryState, Role
from trial.monitoring import checks, services
from trial.protocol.edit_checks import EDIT_CHECKS

pytestmark = pytest.mark.django_db


def _open(participant, code):
    return Query.objects.filter(participant=participant, rule_code=code).exclude(
        state=QueryState.CLOSED
    )


def test_every_check_names_an_item_of_the_catalogue_and_a_known_kind():
    from trial.monitoring import items

    for check in EDIT_CHECKS:
        assert check.kind in checks.EVALUATORS, check.code
        source = items.source_for(check.model)
        assert source is not None, check.code
        source.model._meta.get_field(check.item)
        assert "%(" not in check.text, check.code  # its numbers come from its parameters


def test_a_check_states_its_numbers_once_in_its_parameters():
    from trial.protocol.edit_checks import EDIT_CHECKS_BY_CODE

    with translation.override("en"):
        assert "1–8 ml" in EDIT_CHECKS_BY_CODE["cement_volume_plausible"].text
        assert "70 points" in EDIT_CHECKS_BY_CODE["vas_change_implausible"].text


def test_a_procedure_dated_before_randomisation_opens_one_query_and_a_fix_closes_it(world):
    participant = randomised(world.own_participant, days_ago=10)
    procedure = ProcedureFactory(participant=participant)
    procedure.procedure_date = procedure.procedure_date - dt.timedelta(days=30)
    procedure.save()
    assert checks.edit_checks_run(participant) == {"opened": 1, "closed": 0}
    query = _open(participant, "procedure_after_randomisation").get()
    assert query.field_name == "procedure_date" and query.raised_by is None
    # A second run opens nothing more.
    assert checks.edit_checks_run(participant) == {"opened": 0, "closed": 0}
    procedure.procedure_date = procedure.procedure_date + dt.timedelta(days=30)
    procedure.save()
    assert checks.edit_checks_run(participant) == {"opened": 0, "closed": 1}
    query.refresh_from_db()
    assert query.state == QueryState.CLOSED and query.closed_by is None
    assert query.messages.last().text.startswith("Resolved: the value is now")


def test_a_query_the_monitor_closed_is_not_raised_again_for_the_same_item(world):
    participant = randomised(world.own_participant, days_ago=10)
    level = ProcedureLevelFactory(
        procedure=ProcedureFactory(participant=participant), cement_volume_ml=Decimal("12.0")
    )
    checks.edit_checks_run(participant)
    query = _open(participant, "cement_volume_plausible").get()
    assert query.target_id == str(level.pk) and query.value_when_raised == "12.0"
    services.query_step(query=query, step="close", user=world.users[Role.MONITOR])
    assert checks.edit_checks_run(participant) == {"opened": 0, "closed": 0}


def test_an_adverse_event_before_consent_is_asked_about(world):
    from tests.factories import AdverseEventFactory

    participant = world.own_participant
    consent = ConsentFactory(participant=participant)
    AdverseEventFactory(
        participant=participant, onset_date=consent.consent_date - dt.timedelta(days=3)
    )
    checks.edit_checks_run(participant)
    assert _open(participant, "adverse_event_after_consent").count() == 1


def test_a_query_the_site_answered_by_correcting_waits_for_the_monitor_to_close_it(world):
    from tests.factories import AdverseEventFactory

    participant = world.own_participant
    consent = ConsentFactory(participant=participant)
    event = AdverseEventFactory(
        participant=participant, onset_date=consent.consent_date - dt.timedelta(days=3)
    )
    checks.edit_checks_run(participant)
    query = _open(participant, "adverse_event_after_consent").get()
    event.onset_date = consent.consent_date
    audited_save(event, user=world.users[Role.NURSE], reason="onset date from the notes")
    query.refresh_from_db()
    assert query.state == QueryState.ANSWERED
    # The value passes now, but the site's answer is the monitor's to review.
    assert checks.edit_checks_run(participant) == {"opened": 0, "closed": 0}
    query.refresh_from_db()
    assert query.state == QueryState.ANSWERED


def _vas(participant, visit, back, leg=10):
    return QuestionnaireResponse.objects.create(
        participant=participant,
        visit_code=visit,
        instrument_code="vas",
        instrument_version="1",
        mode="phone",
        status=ResponseStatus.SUBMITTED,
        submitted_at=timezone.now(),
        answers={"vas_back": back, "vas_leg": leg},
    )


def test_a_pain_score_jumping_70_points_between_visits_is_asked_about_at_the_later_visit(world):
    participant = randomised(world.own_participant, days_ago=30)
    _vas(participant, "W1", back=85)
    later = _vas(participant, "W2", back=11)
    _vas(participant, "W3", back=20)
    checks.edit_checks_run(participant)
    query = _open(participant, "vas_change_implausible").get()
    assert (query.target_id, query.field_name, query.visit_code) == (
        str(later.pk),
        "answers.vas_back",
        "W2",
    )


def test_an_odi_without_a_score_is_asked_about(world):
    participant = randomised(world.own_participant, days_ago=30)
    QuestionnaireResponse.objects.create(
        participant=participant,
        visit_code="W4",
        instrument_code="odi",
        instrument_version="1",
        mode="phone",
        status=ResponseStatus.SUBMITTED,
        submitted_at=timezone.now(),
        answers={"odi_1": 2, "odi_2": None, "odi_3": None},
        scores={"odi_score": None},
    )
    checks.edit_checks_run(participant)
    query = _open(participant, "odi_sections_missing").get()
    assert query.field_name == "answers" and "odi_2: —" in query.value_when_raised


def test_a_save_runs_the_checks_once_after_commit(world, django_capture_on_commit_callbacks):
    participant = randomised(world.own_participant, days_ago=10)
    procedure = ProcedureFactory(participant=participant)
    procedure.procedure_date = procedure.procedure_date - dt.timedelta(days=30)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        audited_save(procedure, user=world.users[Role.SURGEON], reason="date typed again")
        audited_save(procedure, user=world.users[Role.SURGEON], reason="and once more")
    assert len(callbacks) == 1
    assert _open(participant, "procedure_after_randomisation").count() == 1


def test_the_nightly_command_runs_every_participant(world, capsys):
    participant = randomised(world.own_participant, days_ago=10)
    procedure = ProcedureFactory(participant=participant)
    procedure.procedure_date = procedure.procedure_date - dt.timedelta(days=30)
    procedure.save()
    call_command("edit_checks")
    assert "1 queries opened" in capsys.readouterr().out
    call_command("edit_checks")
    assert "0 queries opened" in capsys.readouterr().out


def test_the_coordinator_sees_every_check_with_its_counts(world):
    participant = randomised(world.own_participant, days_ago=10)
    ProcedureLevelFactory(
        procedure=ProcedureFactory(participant=participant), cement_volume_ml=Decimal("12.0")
    )
    checks.edit_checks_run(participant)
    client = verified_client(world.users[Role.COORDINATOR])
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    page = client.get(reverse("trial:edit_checks")).content.decode()
    for check in EDIT_CHECKS:
        assert f'edit-check-{check.code}"' in page
    assert "?rule=cement_volume_plausible" in page
    listed = client.get(reverse("trial:query_list") + "?rule=cement_volume_plausible")
    assert "Cement volume" in listed.content.decode()


def _call(participant, *, out_of_window: bool):
    from followup.models import CallLog
    from tests.factories import w1_contact_id

    return CallLog.objects.create(
        contact_id=w1_contact_id(participant),
        participant=participant,
        called_by=UserFactory(role=Role.NURSE),
        outcome="reached",
        called_at=timezone.now() - dt.timedelta(days=1),
        out_of_window=out_of_window,
    )


def test_a_call_stored_out_of_window_opens_one_query_on_its_date_and_a_fix_closes_it(world):
    participant = randomised(world.own_participant, days_ago=30)
    in_window = _call(participant, out_of_window=False)
    late = _call(participant, out_of_window=True)
    assert checks.edit_checks_run(participant) == {"opened": 1, "closed": 0}
    query = _open(participant, "visit_out_of_window").get()
    assert (query.target_model, query.target_id, query.field_name) == (
        "followup.CallLog",
        str(late.pk),
        "called_at",
    )
    assert query.visit_code == "W1"
    assert not _open(participant, "visit_out_of_window").filter(target_id=str(in_window.pk))
    assert checks.edit_checks_run(participant) == {"opened": 0, "closed": 0}
    late.out_of_window = False
    audited_save(late, user=None, reason="date confirmed in window", validate=False)
    assert checks.edit_checks_run(participant) == {"opened": 0, "closed": 1}
    query.refresh_from_db()
    assert query.state == QueryState.CLOSED


def test_a_ticked_answer_the_records_contradict_opens_one_query_and_a_correction_closes_it(
    world,
):
    from tests.factories import derivation_records, eligibility_all_met

    participant = world.own_participant
    hematologist = world.users[Role.HEMATOLOGIST]
    form = derivation_records(
        participant, hematologist, pain_onset_date=timezone.localdate() - dt.timedelta(days=200)
    )
    # Ticked "yes" before the derivation refused it at entry; the form says 200 days ago.
    assessment = eligibility_all_met(participant, hematologist)
    assert assessment.answers["pain_within_3_months"] == "yes"
    assert checks.edit_checks_run(participant) == {"opened": 1, "closed": 0}
    query = _open(participant, "eligibility_derived_disagrees").get()
    assert (query.target_model, query.field_name) == (
        "trial.EligibilityAssessment",
        "answers.pain_within_3_months",
    )
    assert "ticked yes, the records give no" in query.messages.first().text
    assert checks.edit_checks_run(participant) == {"opened": 0, "closed": 0}
    # The screening form is corrected: the pain began 30 days ago, so "yes" was right.
    form.pain_onset_date = timezone.localdate() - dt.timedelta(days=30)
    audited_save(form, user=hematologist, reason="onset date corrected from the notes")
    assert checks.edit_checks_run(participant) == {"opened": 0, "closed": 1}


def test_an_answer_the_records_cannot_give_yet_is_no_disagreement(world):
    from tests.factories import eligibility_all_met

    participant = world.own_participant
    eligibility_all_met(participant, world.users[Role.HEMATOLOGIST])  # no screening form, no CPR
    checks.edit_checks_run(participant)
    assert not _open(participant, "eligibility_derived_disagrees").exists()
