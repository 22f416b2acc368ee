"""The missing-data report: per participant, visit and form, whether it was expected, is
present, or is missing and why.

Nothing here is a new rule; each answer is read from its one home:

- which visits a participant gets, and their windows: the schedule in force applied to the
  participant's anchor dates and arm (``trial.protocol.schedule.visit_windows``,
  ``trial.protocol.anchors``), for randomised participants only (``randomised_q``);
- which forms a visit collects: the call's item groups (``followup.call_items.call_groups``),
  the radiographs the visit names, and baseline's questionnaires (``trial.protocol.visits``);
- whether a group was recorded: ``followup.call_items.group_recorded`` on what the call kept,
  a submitted questionnaire, a radiographic control of the visit's kind;
- why it is missing: the reason the call gave (``VisitItems.missing_reasons``), or a death or
  withdrawal before the window closed.

A form is *expected* once its visit's window has closed (or it was recorded, or a reason was
given); while the window is open it is *not yet due*, and a window still to come is not listed.
A visit whose window opens after the participant died or withdrew is not expected at all; one
whose window was open or still to close when it happened is missing for that reason.

Everything is read in a fixed number of queries (one per source), whatever the number of
participants; the rows are then made in Python, one participant at a time.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from followup.call_items import VisitItemsInput, call_groups, group_label, group_recorded
from followup.models import MissingReason, VisitItems
from trial.exports.registry import by_trial_number
from trial.models import Participant
from trial.protocol.anchors import anchors_for, arm_lookup
from trial.protocol.schedule import (
    COLLECT_ITEMS,
    RADIOGRAPHS_STANDING,
    XRAY,
    active_schedule,
    visit_windows,
)
from trial.protocol.visits import BASELINE, BASELINE_INSTRUMENTS
from trial.protocol.windows import randomised_q
from trial.treatment.models import RadiographKind

PRESENT = "present"
MISSING_REASON = "missing_reason"
MISSING = "missing"
NOT_DUE = "not_due"
STATES = (PRESENT, MISSING_REASON, MISSING, NOT_DUE)
STATE_LABELS = {
    PRESENT: _("Present"),
    MISSING_REASON: _("Missing, with reason"),
    MISSING: _("Missing, no reason"),
    NOT_DUE: _("Not yet due"),
}

# Reasons beside the call's own (MissingReason): the participant's follow-up ended.
DIED = "died"
WITHDREW = "withdrew"
REASON_LABELS = {
    **dict(MissingReason.choices),
    DIED: _("Participant died"),
    WITHDREW: _("Participant withdrew"),
}

# The radiographs a visit may collect, and the kind of radiographic control that records them.
RADIOGRAPH_FORMS = {
    XRAY: RadiographKind.MONTH_12,
    RADIOGRAPHS_STANDING: RadiographKind.SURGICAL_CONTROL,
}


def form_label(code: str) -> str:
    if code in RADIOGRAPH_FORMS:
        return gettext(COLLECT_ITEMS[code])
    return group_label(code)


@dataclass(frozen=True)
class MissingRow:
    participant_id: int
    trial_number: str
    site_code: str
    visit_code: str
    visit_label: str
    form: str
    opens: dt.date | None
    closes: dt.date | None
    state: str
    reason: str = ""

    @property
    def form_label(self) -> str:
        return form_label(self.form)

    @property
    def state_label(self) -> str:
        return str(STATE_LABELS[self.state])

    @property
    def reason_label(self) -> str:
        return str(REASON_LABELS.get(self.reason, self.reason)) if self.reason else ""


@dataclass(frozen=True)
class _Sources:
    """What was recorded, read once for all the participants of the report."""

    anchors: dict[int, dict[str, dt.date]]
    items: dict[tuple[int, str], Any]
    submitted: set[tuple[int, str, str]]
    radiographs: set[tuple[int, str]]


def _sources(participants: QuerySet[Participant]) -> _Sources:
    ids = participants.values("pk")
    anchors = anchors_for(ids)
    items = {
        (row["contact__participant_id"], row["contact__visit_code"]): row
        for row in VisitItems.objects.filter(contact__participant__in=ids).values(
            "contact__participant_id",
            "contact__visit_code",
            "opioid_omeq_mg",
            "pain_medication",
            "new_adverse_events",
            "crossover_wish",
            "missing_reasons",
        )
    }
    from questionnaires.models import QuestionnaireResponse, ResponseStatus

    submitted = set(
        QuestionnaireResponse.objects.filter(
            participant__in=ids, status=ResponseStatus.SUBMITTED
        ).values_list("participant_id", "visit_code", "instrument_code")
    )
    from trial.treatment.models import RadiographicControl

    radiographs = set(
        RadiographicControl.objects.filter(participant__in=ids).values_list(
            "participant_id", "kind"
        )
    )
    return _Sources(anchors, items, submitted, radiographs)


def _recorded(sources: _Sources, pid: int, visit: str, form: str) -> bool:
    if form in RADIOGRAPH_FORMS:
        return (pid, RADIOGRAPH_FORMS[form]) in sources.radiographs
    if (pid, visit, form) in sources.submitted:
        return True
    row = sources.items.get((pid, visit))
    if row is None or form not in {"pain_medication", "adverse_events", "crossover"}:
        return False
    return group_recorded(
        form,
        VisitItemsInput(
            opioid_omeq_mg=row["opioid_omeq_mg"],
            pain_medication=row["pain_medication"] or "",
            new_adverse_events=row["new_adverse_events"],
            crossover_wish=row["crossover_wish"],
        ),
    )


def _state(*, recorded: bool, reason: str, closes: dt.date | None, today) -> tuple[str, str]:
    if recorded:
        return PRESENT, ""
    if reason:
        return MISSING_REASON, reason
    if closes is not None and today <= closes:
        return NOT_DUE, ""
    return MISSING, ""


def missing_rows(participants: QuerySet[Participant], *, today: dt.date) -> Iterator[MissingRow]:
    """Every form expected of the randomised ``participants`` by ``today`` (or recorded), in
    trial-number order, visits in schedule order. Five queries and one per anchor source."""
    schedule = active_schedule()
    arm_path = arm_lookup()
    people = list(
        participants.filter(randomised_q())
        .order_by(by_trial_number("trial_number"))
        .values_list(
            "pk",
            "trial_number",
            "site__code",
            arm_path or "pk",
            "death__date_of_death",
            "withdrawal__withdrawn_on",
        )
    )
    if not people:
        return
    sources = _sources(participants.filter(randomised_q()))
    for pid, number, site, arm, died, withdrew in people:
        ended, end_reason = min(
            ((day, why) for day, why in ((died, DIED), (withdrew, WITHDREW)) if day),
            default=(None, ""),
        )
        common = {"participant_id": pid, "trial_number": number, "site_code": site}
        for form in BASELINE_INSTRUMENTS:
            recorded = (pid, BASELINE, form) in sources.submitted
            yield MissingRow(
                **common,
                visit_code=BASELINE,
                visit_label=gettext("Baseline"),
                form=form,
                opens=None,
                closes=None,
                state=PRESENT if recorded else MISSING,
            )
        windows = visit_windows(schedule, sources.anchors.get(pid, {}), arm if arm_path else None)
        for window in sorted(windows, key=lambda w: schedule.visits.index(w.visit)):
            if ended is not None and window.opens > ended:
                continue  # follow-up had stopped before the window opened
            visit = window.visit
            reasons = (sources.items.get((pid, visit.code)) or {}).get("missing_reasons") or {}
            forms = [
                g.code for g in call_groups(visit.collects, conservative_arm=arm == "conservative")
            ] + [code for code in visit.collects if code in RADIOGRAPH_FORMS]
            for form in forms:
                reason = reasons.get(form, "")
                if not reason and ended is not None and window.closes >= ended:
                    reason = end_reason
                state, reason = _state(
                    recorded=_recorded(sources, pid, visit.code, form),
                    reason=reason,
                    closes=window.closes,
                    today=today,
                )
                if state == NOT_DUE and window.opens > today:
                    continue  # a window still to come: listed once it opens
                yield MissingRow(
                    **common,
                    visit_code=visit.code,
                    visit_label=gettext(visit.label),
                    form=form,
                    opens=window.opens,
                    closes=window.closes,
                    state=state,
                    reason=reason,
                )


@dataclass
class SiteVisitCell:
    present: int = 0
    expected: int = 0

    @property
    def percent(self) -> int | None:
        return round(100 * self.present / self.expected) if self.expected else None


@dataclass
class SummaryRow:
    visit_code: str
    visit_label: str
    cells: list[SiteVisitCell]


def summary(rows: list[MissingRow]) -> tuple[list[str], list[SummaryRow]]:
    """Per visit and site: of the forms expected (not those not yet due), how many are present."""
    cells: dict[tuple[str, str], SiteVisitCell] = defaultdict(SiteVisitCell)
    labels: dict[str, str] = {}
    for row in rows:
        labels.setdefault(row.visit_code, row.visit_label)
        if row.state == NOT_DUE:
            continue
        cell = cells[(row.visit_code, row.site_code)]
        cell.expected += 1
        cell.present += row.state == PRESENT
    sites = sorted({row.site_code for row in rows})
    order = [BASELINE, *(v.code for v in active_schedule().visits)]
    return sites, [
        SummaryRow(code, labels[code], [cells.get((code, s), SiteVisitCell()) for s in sites])
        for code in order
        if code in labels
    ]


def form_choices() -> list[tuple[str, str]]:
    """The forms any visit of the schedule collects, in the call form's order."""
    codes: list[str] = list(BASELINE_INSTRUMENTS)
    for visit in active_schedule().visits:
        for group in call_groups(visit.collects, conservative_arm=True):
            if group.code not in codes:
                codes.append(group.code)
        codes += [c for c in visit.collects if c in RADIOGRAPH_FORMS and c not in codes]
    return [(code, form_label(code)) for code in codes]


def visit_choices() -> list[tuple[str, str]]:
    return [(BASELINE, gettext("Baseline"))] + [
        (v.code, f"{v.code}: {gettext(v.label)}") for v in active_schedule().visits
    ]
