"""Seven forms as two people of the same site fill them in at the same time: consent,
eligibility, surgical assessment, PVP procedure, 12-month X-ray, an adverse event's follow-up
and a screening-log correction (issue 15). Each case says who fills in which page, what each
of them types, and how to tell from the database whose entry was kept.

Shared by the races on PostgreSQL (``test_concurrency_forms.py``) and the stale pages, one
save after the other, that run on SQLite too (``test_stale_forms.py``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from django.urls import reverse
from django.utils import formats, translation

from tests.factories import (
    AdverseEventFactory,
    ParticipantFactory,
    ScreeningLogEntryFactory,
    UserFactory,
    randomised,
)
from tests.trial.screening.conftest import consent_post, d, eligibility_post, walk_hematologist_path
from trial.models import (
    AdverseEvent,
    Consent,
    EligibilityAssessment,
    Procedure,
    RadiographicControl,
    Role,
    ScreeningLogEntry,
    SurgicalAssessment,
)
from trial.screening import services as screening_services
from trial.treatment import adverse_events
from trial.treatment import services as treatment_services

SAVED_MEANWHILE = "Someone else saved this form while you were filling it in"


@dataclass
class Marks:
    """Each post's distinguishing value, three ways."""

    typed: list[str]  # in its own form, kept after losing
    shown: list[tuple[str, ...]]  # among the saved values shown to the other person
    keys: list[str]  # as FormCase.stored returns it


@dataclass
class FormCase:
    url: str
    users: list[Any]  # two staff of the same role and site
    posts: list[dict[str, Any]]  # what each of them types (the page adds its version)
    marks: Marks
    stored: Callable[[], str]  # the distinguishing value the database holds now
    service: tuple[ModuleType, str]  # what the view calls to write: the race's meeting point
    reason_field: str = "reason"  # the form's "reason for change", asked once a record exists


def conflict_box(page: str) -> str:
    """The part of a page that shows what the other person saved."""
    start = page.index('data-testid="concurrent-change"')
    return page[start : page.index("</section>", start)]


def _two(world, role, site) -> list[Any]:
    second = UserFactory(username=f"{role}.two", role=role, sites=[site])
    return [world.users[role], second]


def _date_shown(iso: str) -> str:
    with translation.override("en"):
        return str(formats.date_format(dt.date.fromisoformat(iso), "DATE_FORMAT"))


def _dates(field: str, isos: list[str]) -> Marks:
    return Marks(
        typed=[f'name="{field}" value="{iso}"' for iso in isos],
        shown=[(_date_shown(iso),) for iso in isos],
        keys=isos,
    )


def _texts(field: str, texts: list[str], *, textarea: bool = True) -> Marks:
    typed = [f"{t}</textarea>" if textarea else f'name="{field}" value="{t}"' for t in texts]
    return Marks(typed=typed, shown=[(t,) for t in texts], keys=texts)


def consent(world) -> FormCase:
    participant = walk_hematologist_path(world, until="consent")
    users = _two(world, Role.HEMATOLOGIST, world.own)
    dates = [d(2), d(1)]
    return FormCase(
        url=reverse("trial:consent", args=[participant.trial_number]),
        users=users,
        posts=[consent_post(users[i], consent_date=dates[i]) for i in range(2)],
        marks=_dates("consent_date", dates),
        stored=lambda: Consent.objects.get(participant=participant).consent_date.isoformat(),
        service=(screening_services, "consent_record"),
    )


def eligibility(world) -> FormCase:
    participant = walk_hematologist_path(world, until="eligibility")
    dates = [d(2), d(1)]
    return FormCase(
        url=reverse("trial:eligibility", args=[participant.trial_number]),
        users=_two(world, Role.HEMATOLOGIST, world.own),
        posts=[eligibility_post(assessed_on=day) for day in dates],
        marks=_dates("assessed_on", dates),
        stored=lambda: EligibilityAssessment.objects.get(
            participant=participant
        ).assessed_on.isoformat(),
        service=(screening_services, "eligibility_record"),
    )


def surgical_assessment(world) -> FormCase:
    participant = walk_hematologist_path(world)  # referred on d(1)
    dates = [d(1), d(0)]
    base = {"contraindication": "no", "earlier_fractures": "no", "risk_information_given": "on"}
    marks = _dates("assessed_on", dates)
    marks.shown = [
        (*shown, levels) for shown, levels in zip(marks.shown, ["L1", "T12, L2"], strict=True)
    ]
    return FormCase(
        url=reverse("trial:surgical_assessment", args=[participant.trial_number]),
        users=_two(world, Role.SURGEON, world.own.surgical_partner),
        posts=[
            {**base, "assessed_on": dates[0], "planned_levels": ["L1"]},
            {**base, "assessed_on": dates[1], "planned_levels": ["T12", "L2"]},
        ],
        marks=marks,
        stored=lambda: SurgicalAssessment.objects.get(
            participant=participant
        ).assessed_on.isoformat(),
        service=(screening_services, "surgical_assessment_record"),
    )


def procedure(world) -> FormCase:
    participant = randomised(ParticipantFactory(site=world.own, sequence=11), days_ago=10)
    facilities = ["Aarhus University Hospital, Spine Surgery", "Aarhus Radiology, room 4"]
    base = {
        "procedure_date": d(1),
        "anaesthesia": "local",
        "biopsy_taken": "no",
        "complications": "no",
    }
    treated = [("L1", "4.0"), ("T12", "5.5")]
    marks = _texts("facility", facilities, textarea=False)
    # The treated vertebrae are rows of their own, shown with the procedure's fields.
    marks.shown = [
        (f, f"{level}: {ml} ml") for f, (level, ml) in zip(facilities, treated, strict=True)
    ]
    return FormCase(
        url=reverse("trial:procedure", args=[participant.trial_number]),
        users=_two(world, Role.SURGEON, world.own.surgical_partner),
        posts=[
            {
                **base,
                "facility": facility,
                "levels": [level],
                f"lvl-{level}-cement_volume_ml": ml,
                f"lvl-{level}-leakage": "no",
                f"lvl-{level}-posterior_wall_defect": "no",
            }
            for facility, (level, ml) in zip(facilities, treated, strict=True)
        ],
        marks=marks,
        stored=lambda: Procedure.objects.get(participant=participant).facility,
        service=(treatment_services, "procedure_record"),
    )


def radiograph(world) -> FormCase:
    participant = randomised(ParticipantFactory(site=world.own, sequence=12), days_ago=10)
    notes = ["Standing films, no new fracture", "Films reviewed with the radiologist"]
    base = {
        "examined_on": d(0),
        "standing": "yes",
        "treated_stability": "na",
        "new_fracture": "no",
        "height_loss": "no",
    }
    return FormCase(
        url=reverse("trial:radiograph", args=[participant.trial_number, "m12"]),
        users=_two(world, Role.SURGEON, world.own.surgical_partner),
        posts=[{**base, "note": note} for note in notes],
        marks=_texts("note", notes),
        stored=lambda: RadiographicControl.objects.get(participant=participant).note,
        service=(treatment_services, "radiograph_record"),
    )


def adverse_event_edit(world) -> FormCase:
    participant = randomised(ParticipantFactory(site=world.own, sequence=13), days_ago=10)
    event = AdverseEventFactory.create(
        participant=participant, onset_date=dt.date.fromisoformat(d(5)), description="Fever"
    )
    descriptions = ["Fever, resolved with paracetamol", "Fever and a urinary tract infection"]
    base = {"onset_date": d(5), "grade": "1", "serious": "no", "relation": "not_related"}
    return FormCase(
        url=reverse("trial:adverse_event_edit", args=[participant.trial_number, event.pk]),
        users=_two(world, Role.NURSE, world.own),
        posts=[
            {
                **base,
                "description": descriptions[0],
                "outcome": "recovered",
                "resolved_on": d(1),
                "reason": "resolved at the week 1 call",
            },
            {
                **base,
                "description": descriptions[1],
                "outcome": "recovering",
                "reason": "diagnosis given by the GP",
            },
        ],
        marks=_texts("description", descriptions),
        stored=lambda: AdverseEvent.objects.get(pk=event.pk).description,
        service=(adverse_events, "adverse_event_update"),
    )


def screening_log_edit(world) -> FormCase:
    entry = ScreeningLogEntryFactory.create(
        site=world.own,
        screened_on=dt.date.fromisoformat(d(3)),
        decision="declined",
        reason="Declined",
        created_by=world.users[Role.HEMATOLOGIST],
    )
    reasons = ["Declined: the travel to Aarhus is too far", "Declined: wants to think it over"]
    base = {"screened_on": d(3), "age": "70", "sex": "F", "myeloma_status": "known",
            "decision": "declined"}  # fmt: skip
    return FormCase(
        url=reverse("trial:screening_log_edit", args=[entry.pk]),
        users=_two(world, Role.HEMATOLOGIST, world.own),
        posts=[
            {**base, "reason": reasons[0], "change_reason": "patient's words added"},
            {**base, "reason": reasons[1], "change_reason": "reason was too short"},
        ],
        marks=_texts("reason", reasons),
        stored=lambda: ScreeningLogEntry.objects.get(pk=entry.pk).reason,
        service=(screening_services, "screening_log_entry_update"),
        reason_field="change_reason",
    )


CASES: dict[str, Callable[[Any], FormCase]] = {
    case.__name__: case
    for case in (
        consent,
        eligibility,
        surgical_assessment,
        procedure,
        radiograph,
        adverse_event_edit,
        screening_log_edit,
    )
}
