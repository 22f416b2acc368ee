"""The CONSORT 2010 flow of the outcome report, the dashboard and the DMC's closed report:
assessed for eligibility, excluded (with reasons), randomised, then per arm allocated
(received or not the allocated intervention, with reasons), lost to follow-up and discontinued
(with reasons), analysed and excluded from analysis (with reasons).

Each participant falls in exactly one box of each stage (``allocation_box``, ``follow_up_box``,
``analysis_box``: pure functions of one ``Subject``), so every stage adds up to the arm.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from django.utils import timezone
from django.utils.translation import gettext as _

from trial.models import Site
from trial.reports.outcome_data import (
    ARMS,
    PVP,
    OutcomeData,
    Subject,
    _report_visits,
    measure_labels,
    outcome_data,
)
from trial.screening import selectors


@dataclass
class ArmFlow:
    arm: str
    label: str
    randomised: int = 0
    crossed_over: int = 0
    followed_up: dict = field(default_factory=dict)  # visit code -> n
    died: int = 0
    withdrawn: int = 0
    withdrawn_no_data: int = 0
    analysed: int = 0  # primary outcome available, data use allowed
    followed: list = field(default_factory=list)  # [(visit code, label, n)] in visit order
    # The CONSORT boxes: box code -> n, each stage a partition of ``randomised``.
    allocation: Counter = field(default_factory=Counter)
    follow_up: Counter = field(default_factory=Counter)
    analysis: Counter = field(default_factory=Counter)

    @property
    def received(self) -> int:
        return self.allocation[RECEIVED]

    @property
    def not_received(self) -> list[tuple[str, str, int]]:
        return _reasons(self.allocation, NOT_RECEIVED_REASONS)

    @property
    def discontinued(self) -> list[tuple[str, str, int]]:
        return _reasons(self.follow_up, DISCONTINUED_REASONS)

    @property
    def excluded_from_analysis(self) -> list[tuple[str, str, int]]:
        return _reasons(self.analysis, EXCLUDED_REASONS)

    @property
    def analysed_total(self) -> int:
        return self.analysis[ANALYSED]


@dataclass
class ConsortFlow:
    screening: selectors.ConsortCounts
    arms: list[ArmFlow]
    followed_visits: list[tuple[str, str]]  # (code, label) of the visits counted
    primary_visit: str | None
    primary_measure: str | None = None

    @property
    def primary_measure_label(self) -> str:
        return measure_labels().get(self.primary_measure or "", "")

    @property
    def randomised(self) -> int:
        return sum(a.randomised for a in self.arms)

    @property
    def excluded(self) -> int:
        """Assessed but not randomised: every screened patient not (yet) randomised."""
        return max(self.screening.screened - self.screening.randomised, 0)

    @property
    def excluded_reasons(self) -> list[tuple[str, str, int]]:
        """The screening log's coded reasons, then those still in screening, then the rest
        (e.g. logged as included and not yet registered), so the box adds up."""
        rows = [(r["code"], r["label"], r["count"]) for r in self.screening.not_included_by_reason]
        if self.screening.in_screening:
            rows.append(("in_screening", _("Still in screening"), self.screening.in_screening))
        rest = self.excluded - sum(n for _c, _l, n in rows)
        if rest > 0:
            rows.append(("other_pending", _("Included at screening, not yet registered"), rest))
        return rows

    @property
    def awaiting_confirmation(self) -> int:
        """Randomised, but the envelope not yet confirmed, so no arm can be shown."""
        return max(self.screening.randomised - self.randomised, 0)


# --- the per-arm boxes: one pure function per stage ------------------------------------------
RECEIVED = "received"
ANALYSED = "analysed"


def _not_received_reasons() -> dict[str, str]:
    return {
        "died_untreated": _("Died before the procedure"),
        "withdrew_untreated": _("Withdrew before the procedure"),
        "no_procedure": _("No procedure recorded"),
        "crossed_over_treated": _("Crossed over: PVP procedure recorded"),
    }


def _discontinued_reasons() -> dict[str, str]:
    return {
        "died": _("Died"),
        "withdrawn_participant": _("Withdrew (the participant's decision)"),
        "withdrawn_investigator": _("Withdrawn by the investigator"),
        "lost": _("Lost to follow-up (primary outcome missing after its visit)"),
    }


def _excluded_reasons() -> dict[str, str]:
    return {
        "no_data_use": _("Withdrew without allowing use of data"),
        "missing_died": _("Primary outcome missing: died"),
        "missing_withdrawn": _("Primary outcome missing: withdrew"),
        "missing_lost": _("Primary outcome missing: lost to follow-up"),
        "not_yet_due": _("Primary outcome visit not yet reached"),
    }


NOT_RECEIVED_REASONS = _not_received_reasons
DISCONTINUED_REASONS = _discontinued_reasons
EXCLUDED_REASONS = _excluded_reasons


def _reasons(counts: Counter, labels) -> list[tuple[str, str, int]]:
    return [(code, label, counts[code]) for code, label in labels().items() if counts[code]]


def allocation_box(s: Subject) -> str:
    """Received the allocated intervention, or why not. Received is read from the as-treated
    arm (``trial.treatment.selectors``, its one home): PVP allocated and a procedure recorded,
    or conservative allocated and no procedure."""
    if s.as_treated == s.arm:
        return RECEIVED
    if s.arm != PVP:
        return "crossed_over_treated"
    if s.died_on is not None:
        return "died_untreated"
    if s.withdrawn_on is not None:
        return "withdrew_untreated"
    return "no_procedure"


def _withdrawn_code(s: Subject) -> str:
    return "withdrawn_investigator" if s.withdrawn_by == "investigator" else "withdrawn_participant"


def _primary_present(s: Subject, primary: str | None, measure: str | None) -> bool:
    return bool(primary and measure and s.scores.get(primary, {}).get(measure) is not None)


def _primary_due(s: Subject, primary_day: int | None, today: dt.date) -> bool:
    return primary_day is not None and s.randomised_on + dt.timedelta(days=primary_day) < today


def follow_up_box(s: Subject, primary, measure, primary_day, today: dt.date) -> str:
    """Died, withdrew (by whom), lost to follow-up (alive, in the trial, primary outcome
    missing although its visit has passed) or "followed" (still followed or completed)."""
    if s.died_on is not None and (s.withdrawn_on is None or s.died_on <= s.withdrawn_on):
        return "died"
    if s.withdrawn_on is not None:
        return _withdrawn_code(s)
    if not _primary_present(s, primary, measure) and _primary_due(s, primary_day, today):
        return "lost"
    return "followed"


def analysis_box(s: Subject, primary, measure, primary_day, today: dt.date) -> str:
    """Analysed (the primary outcome there and data use allowed, as the outcome report's
    intention-to-treat analysis), or why not."""
    if not s.data_use_allowed:
        return "no_data_use"
    if _primary_present(s, primary, measure):
        return ANALYSED
    follow_up = follow_up_box(s, primary, measure, primary_day, today)
    if follow_up == "died":
        return "missing_died"
    if follow_up.startswith("withdrawn"):
        return "missing_withdrawn"
    if follow_up == "lost":
        return "missing_lost"
    return "not_yet_due"


def consort_flow(site: Site | None = None, data: OutcomeData | None = None) -> ConsortFlow:
    """The whole CONSORT flow: the screening part from ``selectors.consort_counts`` (the one
    place that counts screening; the ``trial:consort`` page shows it), then per arm
    (``arm_flows``).
    """
    data = data or outcome_data(site)
    return ConsortFlow(
        screening=selectors.consort_counts(site, count_ready=False),
        arms=arm_flows(data, timezone.localdate()),
        followed_visits=_report_visits(data),
        primary_visit=data.primary_visit,
        primary_measure=data.primary_measure,
    )


def arm_flows(data: OutcomeData, today: dt.date) -> list[ArmFlow]:
    """Per arm (a pure function of the report's data and the day): randomised, crossed over,
    followed up at the schedule's report visits (VERTEBRA: 4 weeks, 3 and 12 months; contact
    done or a questionnaire submitted for the visit), died, withdrawn, analysed (primary
    outcome there), and the CONSORT boxes of allocation, follow-up and analysis.
    """
    wanted = _report_visits(data)
    primary, measure = data.primary_visit, data.primary_measure
    primary_day = next((v["day"] for v in data.visits if v["primary"]), None)
    arms = {arm: ArmFlow(arm, data.arm_labels.get(arm, arm)) for arm in ARMS}
    for s in data.subjects:
        flow = arms.setdefault(s.arm, ArmFlow(s.arm, data.arm_labels.get(s.arm, s.arm)))
        flow.randomised += 1
        flow.crossed_over += s.crossed_over
        for code, _label in wanted:
            if code in s.visits_done or code in s.scores:
                flow.followed_up[code] = flow.followed_up.get(code, 0) + 1
        flow.died += s.died_on is not None
        flow.withdrawn += s.withdrawn_on is not None
        flow.withdrawn_no_data += not s.data_use_allowed
        flow.allocation[allocation_box(s)] += 1
        flow.follow_up[follow_up_box(s, primary, measure, primary_day, today)] += 1
        analysis = analysis_box(s, primary, measure, primary_day, today)
        flow.analysis[analysis] += 1
        flow.analysed += analysis == ANALYSED
    for flow in arms.values():
        flow.followed = [(code, label, flow.followed_up.get(code, 0)) for code, label in wanted]
    return list(arms.values())
