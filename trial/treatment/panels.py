"""Treatment and clinical events on the participant page: panels and timeline events."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _

from trial import access
from trial.models import (
    AdverseEvent,
    Crossover,
    Participant,
    Procedure,
    RadiographicControl,
    RadiographKind,
    UsualCare,
)
from trial.registry import TimelineEvent
from trial.treatment import selectors as tselectors
from trial.treatment import services as tservices


def treatment_context(request, participant: Participant) -> dict:
    """PVP procedure (levels, planned vs treated), usual care, crossover, radiographs."""
    arm = tservices.allocated_arm(participant)
    if arm is None:
        return {}
    user = request.user
    procedure = (
        Procedure.objects.select_related("recorded_by")
        .prefetch_related("levels")
        .filter(participant=participant)
        .first()
    )
    levels = list(procedure.levels.all()) if procedure else []
    crossover = (
        Crossover.objects.select_related("early_override_by")
        .filter(participant=participant)
        .first()
    )
    usual_care = UsualCare.objects.filter(participant=participant).first()
    controls = {c.kind: c for c in RadiographicControl.objects.filter(participant=participant)}
    comparison = (
        tselectors.level_comparison(participant, [lv.level for lv in levels]) if procedure else None
    )
    radiographs = [
        {
            "kind": kind,
            "label": label,
            "control": controls.get(kind),
            "can": access.can_change(user, "trial:radiograph", participant)
            and tservices.radiograph_refusal(participant, kind) is None,
        }
        for kind, label in RadiographKind.choices
    ]
    return {
        "participant": participant,
        "arm": arm,
        "as_treated": tselectors.as_treated_arm(participant),
        "procedure": procedure,
        "levels": levels,
        "comparison": comparison,
        "crossover": crossover,
        "usual_care": usual_care,
        "radiographs": radiographs,
        "can": {
            "procedure": access.can_change(user, "trial:procedure", participant)
            and tservices.procedure_refusal(participant) is None,
            "usual_care": access.can_change(user, "trial:usual_care", participant)
            and tservices.usual_care_refusal(participant) is None,
            "crossover": access.can_change(user, "trial:crossover", participant)
            and tservices.crossover_refusal(participant) is None,
        },
    }


def adverse_events_context(request, participant: Participant) -> dict:
    if tservices.randomised_on(participant) is None:
        return {}
    events = list(
        AdverseEvent.objects.filter(participant=participant)
        .select_related("recorded_by", "acknowledged_by")
        .order_by("onset_date", "id")
    )
    return {
        "participant": participant,
        "events": events,
        "can_record": access.can_change(request.user, "trial:adverse_event_create", participant),
        "can_edit": access.can_change(request.user, "trial:adverse_event_edit", participant),
    }


def treatment_timeline(user, participant: Participant) -> list[TimelineEvent]:
    page = participant.get_absolute_url()
    events: list[TimelineEvent] = []
    procedure = Procedure.objects.filter(participant=participant).first()
    if procedure is not None:
        levels = ", ".join(procedure.levels.values_list("level", flat=True).order_by("id"))
        events.append(
            TimelineEvent(
                when=procedure.procedure_date,
                title=_("PVP procedure"),
                detail=levels,
                kind="procedure",
                url=page + "#treatment",
            )
        )
    crossover = Crossover.objects.filter(participant=participant).first()
    if crossover is not None:
        events.append(
            TimelineEvent(
                when=crossover.crossover_date,
                title=_("Crossover to PVP"),
                detail=crossover.reason,
                kind="crossover",
                url=page + "#treatment",
            )
        )
    care = UsualCare.objects.filter(participant=participant).first()
    if care is not None:
        events.append(
            TimelineEvent(
                when=care.assessed_on,
                title=_("Usual care recorded"),
                kind="usual-care",
                url=page + "#treatment",
            )
        )
    for control in RadiographicControl.objects.filter(participant=participant):
        events.append(
            TimelineEvent(
                when=control.examined_on,
                title=str(control.get_kind_display()),
                kind="radiograph",
                url=page + "#treatment",
            )
        )
    for event in AdverseEvent.objects.filter(participant=participant):
        title = (
            _("Serious adverse event (grade %(grade)d)")
            if event.serious
            else _("Adverse event (grade %(grade)d)")
        ) % {"grade": event.grade}
        events.append(
            TimelineEvent(
                when=event.onset_date,
                title=title,
                detail=event.description[:80],
                kind="sae" if event.serious else "adverse-event",
                url=reverse("trial:adverse_event_edit", args=[participant.trial_number, event.pk])
                if access.can_change(user, "trial:adverse_event_edit", participant)
                else page + "#adverse-events",
            )
        )
    return events
