"""What the questionnaires app adds to the core through trial.registry (see apps.py):
the baseline readiness check, the scores panel and the timeline events of the participant page."""

from __future__ import annotations

import datetime as dt

from django.urls import reverse
from django.utils.translation import gettext as _

from questionnaires import selectors
from questionnaires.models import QuestionnaireResponse, ResponseStatus
from trial import access
from trial.protocol import visits
from trial.registry import Blocker, TimelineEvent


def baseline_blockers(participant) -> list[Blocker]:
    """Randomisation waits for submitted baseline ODI, back and leg VAS and EQ-5D-3L."""
    if selectors.baseline_complete(participant):
        return []
    return [
        Blocker(
            code="baseline",
            message=_("Baseline questionnaires (ODI, back and leg VAS, EQ-5D-3L) are not complete"),
            url=reverse("questionnaires:staff_overview", args=[participant.trial_number]),
        )
    ]


def scores_panel(request, participant) -> dict:
    rows = selectors.participant_scores(participant)
    can_open = access.can(request.user, "questionnaires:staff_overview", method="GET")
    chart = {
        "labels": [row.visit_code for row in rows],
        "odi": [None if row.odi is None else float(row.odi) for row in rows],
        "vas_back": [row.vas_back for row in rows],
        "vas_leg": [row.vas_leg for row in rows],
        "eq5d": [None if row.eq5d_index is None else float(row.eq5d_index) for row in rows],
        "names": {
            "odi": _("ODI (0-100)"),
            "vas_back": _("Back pain VAS"),
            "vas_leg": _("Leg pain VAS"),
            "eq5d": _("EQ-5D index"),
        },
    }
    return {
        "participant": participant,
        "rows": rows,
        "chart": chart,
        "baseline_complete": any(r.visit_code == visits.BASELINE for r in rows)
        and selectors.baseline_complete(participant),
        "overview_url": reverse("questionnaires:staff_overview", args=[participant.trial_number])
        if can_open
        else "",
    }


def timeline_events(user, participant) -> list[TimelineEvent]:
    events: dict[tuple[str, dt.datetime, str], list[QuestionnaireResponse]] = {}
    for r in QuestionnaireResponse.objects.filter(
        participant=participant, status=ResponseStatus.SUBMITTED
    ).order_by("submitted_at"):
        if r.submitted_at is None:
            continue  # submitting stamps the time, so a submitted row always has one
        events.setdefault((r.visit_code, r.submitted_at.replace(microsecond=0), r.mode), []).append(
            r
        )
    result = []
    for (visit_code, when, _mode), responses in events.items():
        names = ", ".join(str(visits.INSTRUMENT_LABELS[r.instrument_code]) for r in responses)
        result.append(
            TimelineEvent(
                when=when,
                title=_("Questionnaires submitted (%(visit)s)") % {"visit": visit_code},
                detail=f"{names} · {responses[0].get_mode_display()}",
                kind="questionnaire",
            )
        )
    return result
