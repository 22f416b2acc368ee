"""Demo data for treatment and clinical events (seed_demo step "treatment", after follow-up).

Through the services, so the demo's audit trail looks like real use: PVP procedures with
cement leakage at some levels, usual care and a crossover in the conservative arm, adverse
events with one serious event left unacknowledged, surgical controls and 12-month X-rays.
The analysis cohort follows its plan (trial.participants.demo.CohortMember.deviation): an
early or a late crossover in the conservative arm, a PVP declined in the PVP arm, so the
as-treated and per-protocol analyses differ from intention to treat.
"""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils import timezone

from trial.models import (
    AdverseEvent,
    AEOutcome,
    AERelation,
    Anaesthesia,
    BoneTherapy,
    Expectedness,
    Participant,
    ParticipantStatus,
    Procedure,
    RadiographKind,
    Role,
    SeriousnessCriterion,
    Stability,
    SurgicalAssessment,
    User,
)
from trial.participants.demo import EARLY_CROSSOVER_DAY, LATE_CROSSOVER_DAY, cohort_member
from trial.treatment import adverse_events
from trial.treatment import services as tservices

logger = logging.getLogger(__name__)


def _user(users: dict, role: str) -> User | None:
    return users.get(role) or User.objects.filter(role=role, is_active=True).first()


def seed_treatment(context: dict) -> None:
    if Procedure.objects.exists() or AdverseEvent.objects.exists():
        return  # seeded before
    users = context.get("users", {})
    surgeon = _user(users, Role.SURGEON)
    nurse = _user(users, Role.NURSE)
    coordinator = _user(users, Role.COORDINATOR)
    if surgeon is None or nurse is None or coordinator is None:
        return
    today = timezone.localdate()
    participants = list(
        Participant.objects.filter(allocation__isnull=False)
        .select_related("allocation", "site__surgical_partner")
        .order_by("trial_number")
    )
    planned = dict(
        SurgicalAssessment.objects.filter(participant__in=participants).values_list(
            "participant_id", "planned_levels"
        )
    )
    pvp_count = 0
    crossed_over = False
    for participant in participants:
        day0 = tservices.randomised_on(participant)
        member = cohort_member(participant)
        deviation = member.deviation if member else ""
        try:
            if participant.allocation.arm == tservices.PVP:
                if deviation == "early":
                    continue  # the patient declined the PVP after randomisation
                pvp_count += 1
                _procedure(participant, surgeon, day0, today, planned, leak=pvp_count % 2 == 1)
            else:
                _usual_care(participant, nurse, day0, today)
                if deviation:
                    _planned_crossover(
                        participant, (nurse, coordinator, surgeon), day0, today, planned, deviation
                    )
                elif not crossed_over and participant.status == ParticipantStatus.RANDOMISED:
                    # The first base participant in follow-up in the conservative arm (only
                    # they may still cross over).
                    crossed_over = True
                    _crossover(participant, nurse, coordinator, surgeon, day0, today, planned)
        except ValidationError as exc:  # demo only: a refused record must not stop seed_demo
            logger.info("Demo: treatment of %s not recorded: %s", participant, exc)
    try:
        _radiographs(participants, surgeon, today)
    except ValidationError as exc:
        logger.info("Demo: radiographs not recorded: %s", exc)
    _adverse_events(participants, nurse, coordinator, today)


def _levels(participant, planned: dict, leak: bool) -> list[dict]:
    codes = planned.get(participant.pk) or ["L1"]
    rows = []
    for i, code in enumerate(codes):
        leaking = leak and i == 0
        rows.append(
            {
                "level": code,
                "cement_volume_ml": Decimal("3.5") + Decimal(i) / 2,
                "leakage": leaking,
                "leakage_sites": ["disc", "venous"] if leaking else [],
                "posterior_wall_defect": i == len(codes) - 1,
            }
        )
    return rows


def _procedure(participant, surgeon, day0, today, planned, *, leak, after=None) -> None:
    on = min((after or day0) + dt.timedelta(days=4), today)
    partner = participant.site.surgical_partner
    tservices.procedure_record(
        participant=participant,
        user=surgeon,
        procedure_date=on,
        facility=partner.name if partner else "Demo hospital",
        anaesthesia=Anaesthesia.LOCAL,
        biopsy_taken=True,
        biopsy_result="Plasma cell infiltration (demo)",
        complications=False,
        discharge_date=on,
        levels=_levels(participant, planned, leak),
    )


def _usual_care(participant, nurse, day0, today) -> None:
    tservices.usual_care_record(
        participant=participant,
        user=nurse,
        assessed_on=min(day0 + dt.timedelta(days=1), today),
        paracetamol=True,
        opioid=True,
        opioid_ome_mg_per_day=Decimal("30"),
        brace=participant.pk % 2 == 0,
        bone_therapy=BoneTherapy.ZOLEDRONIC,
    )


def _crossover(participant, nurse, coordinator, surgeon, day0, today, planned) -> None:
    day = (today - day0).days
    if day >= tservices.crossover_earliest_day():
        tservices.crossover_record(
            participant=participant,
            user=nurse,
            crossover_date=today - dt.timedelta(days=max(day - 30, 0)),
            reason="Persistent back pain despite usual care (demo)",
        )
    else:
        tservices.crossover_record(
            participant=participant,
            user=coordinator,
            crossover_date=today,
            reason="Intolerable pain (demo)",
            override_reason="Pain uncontrolled on high-dose opioids; agreed with PI (demo)",
        )
    crossover_date = participant.crossover.crossover_date
    _procedure(participant, surgeon, day0, today, planned, leak=False, after=crossover_date)


def _planned_crossover(participant, staff, day0, today, planned, deviation) -> None:
    """The analysis cohort's crossover: early (before the protocol allows it, so the
    coordinator records it with a reason) or late, then the PVP."""
    nurse, coordinator, surgeon = staff
    if deviation == "early":
        tservices.crossover_record(
            participant=participant,
            user=coordinator,
            crossover_date=day0 + dt.timedelta(days=EARLY_CROSSOVER_DAY),
            reason="Intolerable pain on usual care (demo)",
            override_reason="New fracture with pain uncontrolled by opioids; agreed with PI (demo)",
        )
    else:
        tservices.crossover_record(
            participant=participant,
            user=nurse,
            crossover_date=day0 + dt.timedelta(days=LATE_CROSSOVER_DAY),
            reason="Persistent back pain despite usual care (demo)",
        )
    crossover_date = participant.crossover.crossover_date
    _procedure(participant, surgeon, day0, today, planned, leak=False, after=crossover_date)


def _radiographs(participants, surgeon, today) -> None:
    """Surgical controls for the two earliest procedures, 12-month X-rays for participants who
    completed follow-up (or, in a young demo trial, the two randomised earliest)."""
    procedures = list(
        Procedure.objects.filter(participant__in=participants)
        .select_related("participant")
        .order_by("procedure_date", "id")[:2]
    )
    for procedure in procedures:
        tservices.radiograph_record(
            participant=procedure.participant,
            user=surgeon,
            kind=RadiographKind.SURGICAL_CONTROL,
            examined_on=min(procedure.procedure_date + dt.timedelta(days=84), today),
            standing=True,
            treated_stability=Stability.STABLE,
            new_fracture=False,
            new_fracture_levels=[],
            new_fracture_adjacent=None,
            height_loss=False,
            height_loss_levels=[],
        )
    completed = [p for p in participants if p.status == ParticipantStatus.COMPLETED]
    by_age = sorted(participants, key=lambda p: p.allocation.randomised_at)
    for participant in (completed or by_age)[:2]:
        day0 = tservices.randomised_on(participant)
        if day0 is None:  # every participant here is randomised; tells the checker so
            continue
        pvp = Procedure.objects.filter(participant=participant).first()
        treated = list(pvp.levels.values_list("level", flat=True)) if pvp else []
        new_level = "T10" if "T11" in treated or "T10" in treated else "T11"
        tservices.radiograph_record(
            participant=participant,
            user=surgeon,
            kind=RadiographKind.MONTH_12,
            examined_on=min(day0 + dt.timedelta(days=365), today),
            standing=True,
            treated_stability=Stability.STABLE if treated else Stability.NOT_APPLICABLE,
            new_fracture=True,
            new_fracture_levels=[new_level],
            new_fracture_adjacent=bool(treated) and ("T12" in treated or "T11" in treated),
            height_loss=bool(treated),
            height_loss_levels=treated[:1],
        )


def _adverse_events(participants, nurse, coordinator, today) -> None:
    plans = [
        ("Transient fever after the procedure", 1, False, AERelation.PROBABLE),
        ("Pneumonia requiring admission", 3, True, AERelation.NOT_RELATED),
        ("Asymptomatic cement embolus seen on chest X-ray", 2, False, AERelation.DEFINITE),
        ("New painful vertebral fracture, admitted for pain control", 3, True, AERelation.POSSIBLE),
    ]
    for participant, (description, grade, serious, relation) in zip(
        participants, plans, strict=False
    ):
        day0 = tservices.randomised_on(participant)
        if day0 is None:  # every participant here is randomised; tells the checker so
            continue
        onset = min(day0 + dt.timedelta(days=6), today)
        try:
            event = adverse_events.adverse_event_record(
                participant=participant,
                user=nurse,
                description=description + " (demo)",
                onset_date=onset,
                grade=grade,
                serious=serious,
                relation=relation,
                outcome=AEOutcome.RECOVERING,
                resolved_on=None,
                **(_sae_report(onset, today, relation) if serious else {}),
            )
        except ValidationError as exc:
            logger.info("Demo: adverse event of %s not recorded: %s", participant, exc)
            continue
        if serious and relation == AERelation.NOT_RELATED:
            # One serious event already acknowledged, the other left for the coordinator.
            adverse_events.sae_acknowledge(event=event, user=coordinator)


def _sae_report(onset: dt.date, today: dt.date, relation: str) -> dict:
    """The E2A part of a demo SAE: admitted on the day of onset, the site aware that morning."""
    discharged = onset + dt.timedelta(days=5)
    morning = dt.datetime.combine(onset, dt.time(9), tzinfo=timezone.get_current_timezone())
    return {
        "seriousness_criteria": [SeriousnessCriterion.HOSPITALISATION],
        "hospital_admitted_on": onset,
        "hospital_discharged_on": discharged if discharged <= today else None,
        # A new fracture is among the known risks of PVP; a pneumonia is not.
        "expectedness": (
            Expectedness.EXPECTED if relation != AERelation.NOT_RELATED else Expectedness.UNEXPECTED
        ),
        "relation_disease": AERelation.PROBABLE,
        "site_aware_at": min(morning, timezone.now()),
    }
