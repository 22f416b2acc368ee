"""The CONSORT flow of the outcome report and the dashboard: the screening counts, then per
arm randomised, crossed over, followed up, died, withdrawn and analysed."""

from __future__ import annotations

from dataclasses import dataclass, field

from trial.models import Site
from trial.reports.outcome_data import (
    ARMS,
    OutcomeData,
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


def consort_flow(site: Site | None = None, data: OutcomeData | None = None) -> ConsortFlow:
    """The whole CONSORT flow: the screening part from ``selectors.consort_counts`` (the one
    place that counts screening; the ``trial:consort`` page shows it), then per arm:
    randomised, crossed over, followed up at the schedule's report visits (VERTEBRA: 4 weeks,
    3 and 12 months; contact done or a questionnaire submitted for the visit), died, withdrawn,
    analysed (primary outcome there).
    """
    data = data or outcome_data(site)
    wanted = _report_visits(data)
    primary, measure = data.primary_visit, data.primary_measure
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
        if (
            s.data_use_allowed
            and primary
            and measure
            and s.scores.get(primary, {}).get(measure) is not None
        ):
            flow.analysed += 1
    for flow in arms.values():
        flow.followed = [(code, label, flow.followed_up.get(code, 0)) for code, label in wanted]
    return ConsortFlow(
        screening=selectors.consort_counts(site, count_ready=False),
        arms=list(arms.values()),
        followed_visits=wanted,
        primary_visit=primary,
        primary_measure=measure,
    )
