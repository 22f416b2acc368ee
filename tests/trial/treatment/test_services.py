"""Treatment services: PVP procedure, crossover rule, usual care, adverse events and the SAE
e-mail, radiographic controls."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone, translation

from tests.factories import (
    ParticipantFactory,
    SurgicalAssessmentFactory,
    UserFactory,
    randomised,
    sae_report,
)
from trial.models import (
    AdverseEvent,
    Crossover,
    Procedure,
    ProcedureLevel,
    Role,
    UsualCare,
)
from trial.treatment import adverse_events
from trial.treatment import services as tservices

pytestmark = pytest.mark.django_db


def _today():
    return timezone.localdate()


def _level(code, *, leak=False, sites=(), volume="4.0", defect=False):
    return {
        "level": code,
        "cement_volume_ml": Decimal(volume),
        "leakage": leak,
        "leakage_sites": list(sites),
        "posterior_wall_defect": defect,
    }


def _procedure(participant, user, levels, **overrides):
    values = {
        "participant": participant,
        "user": user,
        "procedure_date": _today(),
        "facility": "Aarhus spine surgery",
        "anaesthesia": "local",
        "biopsy_taken": True,
        "biopsy_result": "Plasma cell infiltration",
        "complications": False,
        "levels": levels,
    }
    values.update(overrides)
    return tservices.procedure_record(**values)


# --- PVP procedure ------------------------------------------------------------------------


def test_a_surgeon_records_a_two_level_procedure_with_leakage_at_one_level(world):
    surgeon = world.users[Role.SURGEON]
    participant = randomised(world.own_participant, arm="pvp", days_ago=10)

    procedure = _procedure(
        participant,
        surgeon,
        [_level("L2", leak=True, sites=["venous", "epidural"]), _level("T12", defect=True)],
    )

    levels = list(procedure.levels.order_by("id"))
    assert [lv.level for lv in levels] == ["T12", "L2"]  # anatomical order
    assert levels[1].leakage_sites == ["venous", "epidural"]
    assert levels[0].posterior_wall_defect is True
    assert procedure.history.first().history_user == surgeon
    assert ProcedureLevel.history.filter(history_user=surgeon).count() == 2


def test_it_refuses_a_procedure_for_the_conservative_arm_until_a_crossover(world):
    surgeon = world.users[Role.SURGEON]
    participant = randomised(world.own_participant, arm="conservative", days_ago=40)

    with translation.override("en"), pytest.raises(ValidationError) as refused:
        _procedure(participant, surgeon, [_level("L1")])
    assert "allocated to conservative care" in " ".join(refused.value.messages)

    tservices.crossover_record(
        participant=participant,
        user=world.users[Role.NURSE],
        crossover_date=_today() - dt.timedelta(days=5),
        reason="Pain",
    )
    with pytest.raises(ValidationError) as early:
        _procedure(participant, surgeon, [_level("L1")], procedure_date=_today() - dt.timedelta(6))
    assert "procedure_date" in early.value.message_dict
    assert _procedure(participant, surgeon, [_level("L1")]).pk


def test_it_refuses_a_procedure_before_randomisation(world):
    participant = ParticipantFactory(site=world.own, sequence=7)
    with pytest.raises(ValidationError):
        _procedure(participant, world.users[Role.SURGEON], [_level("L1")])
    assert not Procedure.objects.exists()


@pytest.mark.parametrize(
    "levels, message",
    [
        ([], "Pick at least one treated vertebra."),
        ([_level("L1"), _level("l1")], "L1 is given twice."),
        ([_level("S1")], "Unknown vertebral level: S1."),
        ([_level("L1", leak=True)], "L1: cement leakage: Say where the cement leaked."),
        ([_level("L1", sites=["disc"])], "Leakage sites are given only when cement leaked."),
        ([_level("L1", volume="25")], "L1: cement volume (ml)"),
        ([_level("L1", volume="0.2")], "L1: cement volume (ml)"),
    ],
)
def test_it_validates_each_treated_vertebra(world, levels, message):
    participant = randomised(world.own_participant, arm="pvp")
    with translation.override("en"), pytest.raises(ValidationError) as refused:
        _procedure(participant, world.users[Role.SURGEON], levels)
    assert any(message in m for m in refused.value.message_dict["levels"]), refused.value
    assert not Procedure.objects.exists()


def test_the_procedure_fields_are_validated(world):
    participant = randomised(world.own_participant, arm="pvp", days_ago=3)
    with pytest.raises(ValidationError) as refused:
        _procedure(
            participant,
            world.users[Role.SURGEON],
            [_level("L1")],
            procedure_date=_today() + dt.timedelta(days=1),
            biopsy_result="",
            complications=True,
            discharge_date=_today() - dt.timedelta(days=1),
        )
    assert {"procedure_date", "biopsy_result", "complications_details"} <= set(
        refused.value.message_dict
    )


def test_a_correction_needs_a_reason_and_replaces_the_levels_with_history(world):
    surgeon, data_manager = world.users[Role.SURGEON], world.users[Role.DATA_MANAGER]
    participant = randomised(world.own_participant, arm="pvp", days_ago=10)
    _procedure(participant, surgeon, [_level("L1"), _level("L2")])

    with pytest.raises(ValidationError) as refused:
        _procedure(participant, data_manager, [_level("L1")])
    assert "reason" in refused.value.message_dict

    _procedure(
        participant,
        data_manager,
        [_level("L1", leak=True, sites=["disc"]), _level("L3")],
        reason="Operation note says L3, not L2",
    )

    assert sorted(ProcedureLevel.objects.values_list("level", flat=True)) == ["L1", "L3"]
    deleted = ProcedureLevel.history.get(level="L2", history_type="-")
    assert deleted.history_user == data_manager
    assert deleted.history_change_reason == "Operation note says L3, not L2"
    changed = ProcedureLevel.history.get(level="L1", history_type="~")
    assert changed.leak_disc is True and changed.history_change_reason
    assert Procedure.history.filter(history_type="~").first().history_change_reason


# --- crossover ----------------------------------------------------------------------------


def _crossover(participant, user, *, day, override_reason=""):
    day0 = tservices.randomised_on(participant)
    return tservices.crossover_record(
        participant=participant,
        user=user,
        crossover_date=day0 + dt.timedelta(days=day),
        reason="Persistent pain",
        override_reason=override_reason,
    )


def test_a_crossover_on_day_27_is_refused_and_on_day_28_allowed(world):
    nurse = world.users[Role.NURSE]
    participant = randomised(world.own_participant, arm="conservative", days_ago=30)

    with translation.override("en"), pytest.raises(ValidationError) as refused:
        _crossover(participant, nurse, day=27)
    message = " ".join(refused.value.message_dict["crossover_date"])
    assert "from day 28" in message and "this is day 27" in message
    assert not Crossover.objects.exists()

    crossover = _crossover(participant, nurse, day=28)
    assert crossover.early_override_by is None
    assert participant.allocation.arm == "conservative"


def test_a_coordinator_allows_an_early_crossover_only_with_a_reason_and_it_is_audited(world):
    coordinator = world.users[Role.COORDINATOR]
    participant = randomised(world.own_participant, arm="conservative", days_ago=30)

    with pytest.raises(ValidationError) as refused:
        _crossover(participant, coordinator, day=10)
    assert "override_reason" in refused.value.message_dict

    with translation.override("en"):
        crossover = _crossover(participant, coordinator, day=10, override_reason="Severe pain")

    assert crossover.early_override_by == coordinator
    assert crossover.early_override_reason == "Severe pain"
    row = crossover.history.get()
    assert row.history_user == coordinator
    assert "day 10" in row.history_change_reason and "Severe pain" in row.history_change_reason


def test_a_pvp_participant_cannot_cross_over_and_nobody_crosses_over_twice(world):
    nurse = world.users[Role.NURSE]
    pvp = randomised(world.own_participant, arm="pvp", days_ago=40)
    with pytest.raises(ValidationError):
        _crossover(pvp, nurse, day=30)
    conservative = randomised(
        ParticipantFactory(site=world.own, sequence=9), arm="conservative", days_ago=40
    )
    _crossover(conservative, nurse, day=30)
    with pytest.raises(ValidationError):
        _crossover(conservative, nurse, day=31)


def test_a_crossover_is_followed_by_a_procedure_that_anchors_the_surgical_control(world):
    from trial.protocol.anchors import anchor_dates

    participant = randomised(world.own_participant, arm="conservative", days_ago=40)
    _crossover(participant, world.users[Role.NURSE], day=30)
    _procedure(participant, world.users[Role.SURGEON], [_level("L1")])

    anchors = dict(anchor_dates("procedure").values_list("anchor_participant_id", "anchor_date"))
    assert anchors == {participant.pk: _today()}


# --- usual care ---------------------------------------------------------------------------


def test_usual_care_is_for_the_conservative_arm_and_keeps_its_history(world):
    nurse, hematologist = world.users[Role.NURSE], world.users[Role.HEMATOLOGIST]
    pvp = randomised(world.own_participant, arm="pvp")
    with pytest.raises(ValidationError):
        tservices.usual_care_record(
            participant=pvp, user=nurse, assessed_on=_today(), bone_therapy="none"
        )
    participant = randomised(
        ParticipantFactory(site=world.own, sequence=8), arm="conservative", days_ago=20
    )
    tservices.usual_care_record(
        participant=participant,
        user=nurse,
        assessed_on=_today() - dt.timedelta(days=19),
        paracetamol=True,
        bone_therapy="zoledronic_acid",
    )
    with pytest.raises(ValidationError):
        tservices.usual_care_record(
            participant=participant, user=hematologist, assessed_on=_today(), brace=True
        )
    with pytest.raises(ValidationError) as refused:
        tservices.usual_care_record(
            participant=participant, user=hematologist, opioid=True, reason="Opioid started"
        )
    assert "opioid_ome_mg_per_day" in refused.value.message_dict
    tservices.usual_care_record(
        participant=participant,
        user=hematologist,
        assessed_on=_today(),
        brace=True,
        reason="Brace fitted",
    )

    care = UsualCare.objects.get()
    assert care.brace and care.paracetamol
    assert [h.history_change_reason for h in care.history.order_by("history_id")] == [
        None,
        "Brace fitted",
    ]


# --- adverse events and the SAE e-mail ----------------------------------------------------


def _ae(participant, user, **overrides):
    values = {
        "description": "Pneumonia requiring admission",
        "onset_date": _today(),
        "grade": 3,
        "serious": True,
        "relation": "not_related",
        "outcome": "recovering",
        "resolved_on": None,
    }
    values.update(overrides)
    if values["serious"]:
        values = {**sae_report(values["onset_date"]), **values}
    return adverse_events.adverse_event_record(participant=participant, user=user, **values)


@pytest.fixture
def coordinators(world):
    world.users[Role.COORDINATOR].email = "karen@example.org"
    world.users[Role.COORDINATOR].save()
    UserFactory(username="coordinator2", role=Role.COORDINATOR, email="second@example.org")
    UserFactory(username="noaddress", role=Role.COORDINATOR, email="")
    return world


def test_a_serious_adverse_event_emails_the_coordinators_once_after_commit(
    coordinators, django_capture_on_commit_callbacks
):
    world = coordinators
    participant = randomised(world.own_participant, arm="pvp", days_ago=5)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        event = _ae(participant, world.users[Role.NURSE])
    assert len(mail.outbox) == 0, "nothing is sent before the transaction commits"
    assert callbacks  # the e-mail's task, and the participant's edit checks
    for callback in callbacks:
        callback()

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert sorted(message.to) == ["karen@example.org", "second@example.org"]
    assert participant.trial_number in message.subject
    assert "Pneumonia requiring admission" in message.body
    assert "/serious-adverse-events/" in message.body
    assert AdverseEvent.objects.get(pk=event.pk).sae_notified_at is not None

    # A retry or a duplicate delivery sends nothing more.
    from trial.treatment.tasks import sae_notify

    assert sae_notify.delay(event.pk).get() is False
    assert adverse_events.sae_notify(event_id=event.pk) is False
    assert len(mail.outbox) == 1


def test_the_task_runs_on_commit(coordinators, django_capture_on_commit_callbacks):
    participant = randomised(coordinators.own_participant, arm="pvp", days_ago=5)
    with django_capture_on_commit_callbacks(execute=True):
        _ae(participant, coordinators.users[Role.NURSE])
    assert len(mail.outbox) == 1


def test_no_email_when_the_transaction_rolls_back(coordinators, django_capture_on_commit_callbacks):
    participant = randomised(coordinators.own_participant, arm="pvp", days_ago=5)

    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        _ae(participant, coordinators.users[Role.NURSE])
        raise RuntimeError("something later in the request failed")

    assert callbacks == []
    assert len(mail.outbox) == 0
    assert not AdverseEvent.objects.exists()


def test_a_non_serious_event_sends_nothing_until_it_becomes_serious(
    coordinators, django_capture_on_commit_callbacks
):
    participant = randomised(coordinators.own_participant, arm="pvp", days_ago=5)
    nurse = coordinators.users[Role.NURSE]
    with django_capture_on_commit_callbacks(execute=True):
        event = _ae(participant, nurse, serious=False, grade=2)
    assert len(mail.outbox) == 0

    with django_capture_on_commit_callbacks(execute=True):
        adverse_events.adverse_event_update(
            event=event, user=nurse, reason="Admitted to hospital", serious=True, **sae_report()
        )
    assert len(mail.outbox) == 1
    with django_capture_on_commit_callbacks(execute=True):
        adverse_events.adverse_event_update(
            event=event, user=nurse, reason="Better", outcome="recovered", resolved_on=_today()
        )
    assert len(mail.outbox) == 1


def test_adverse_events_are_validated(world):
    participant = randomised(world.own_participant, arm="pvp", days_ago=5)
    nurse = world.users[Role.NURSE]
    with pytest.raises(ValidationError) as refused:
        _ae(
            participant,
            nurse,
            grade=5,
            serious=False,
            outcome="recovering",
            resolved_on=_today(),
            onset_date=_today() - dt.timedelta(days=10),
        )
    assert {"serious", "outcome", "resolved_on", "onset_date"} <= set(refused.value.message_dict)
    not_randomised = ParticipantFactory(site=world.own, sequence=5)
    with pytest.raises(ValidationError):
        _ae(not_randomised, nurse)


def test_only_the_coordinator_acknowledges_and_only_once(world):
    participant = randomised(world.own_participant, arm="pvp", days_ago=5)
    event = _ae(participant, world.users[Role.NURSE])
    with pytest.raises(ValidationError):
        adverse_events.sae_acknowledge(event=event, user=world.users[Role.DATA_MANAGER])
    coordinator = world.users[Role.COORDINATOR]
    adverse_events.sae_acknowledge(event=event, user=coordinator)
    event.refresh_from_db()
    assert event.acknowledged_by == coordinator
    assert event.history.first().history_user == coordinator
    with pytest.raises(ValidationError):
        adverse_events.sae_acknowledge(event=event, user=coordinator)


# --- radiographic controls ----------------------------------------------------------------


def _radiograph(participant, user, kind, **overrides):
    values = {
        "examined_on": _today(),
        "standing": True,
        "treated_stability": "stable",
        "new_fracture": False,
        "new_fracture_levels": [],
        "new_fracture_adjacent": None,
        "height_loss": False,
        "height_loss_levels": [],
        "note": "",
    }
    values.update(overrides)
    return tservices.radiograph_record(participant=participant, user=user, kind=kind, **values)


def test_the_surgical_control_needs_a_procedure_and_the_12_month_xray_is_for_everyone(world):
    surgeon = world.users[Role.SURGEON]
    conservative = randomised(world.own_participant, arm="conservative", days_ago=100)
    with pytest.raises(ValidationError):
        _radiograph(conservative, surgeon, "sc")
    xray = _radiograph(
        conservative,
        surgeon,
        "m12",
        treated_stability="na",
        new_fracture=True,
        new_fracture_levels=["l2", "T12"],
        height_loss=True,
        height_loss_levels=["T12"],
    )
    assert xray.new_fracture_levels == ["T12", "L2"]

    pvp = randomised(ParticipantFactory(site=world.own, sequence=3), arm="pvp", days_ago=100)
    SurgicalAssessmentFactory(participant=pvp, planned_levels=["L1"])
    _procedure(pvp, surgeon, [_level("L1")], procedure_date=_today() - dt.timedelta(days=90))
    with pytest.raises(ValidationError) as refused:
        _radiograph(pvp, surgeon, "sc", new_fracture=True, new_fracture_levels=["L2"])
    assert "new_fracture_adjacent" in refused.value.message_dict
    control = _radiograph(
        pvp,
        surgeon,
        "sc",
        new_fracture=True,
        new_fracture_levels=["L2"],
        new_fracture_adjacent=True,
    )
    assert control.new_fracture_adjacent is True
    with pytest.raises(ValidationError):
        _radiograph(pvp, surgeon, "sc", treated_stability="unstable")  # a change needs a reason
    _radiograph(pvp, surgeon, "sc", treated_stability="unstable", reason="Re-read by radiologist")
    assert control.history.count() == 2
