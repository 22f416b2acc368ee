"""The outcome report: the tables of baseline characteristics, outcomes by arm and visit,
the difference between the arms and survival, for the intention-to-treat analysis and the
as-treated one. The data come from ``trial.reports.outcome_data``, the CONSORT flow from
``trial.reports.consort_flow``; the statistics themselves are pure functions in
trial.reports.statistics.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext as _

from trial.models import Sex, Site
from trial.reports import statistics
from trial.reports.adjusted import models_report
from trial.reports.consort_flow import consort_flow
from trial.reports.formatting import _num, _p
from trial.reports.outcome_data import (
    ARMS,
    CONSERVATIVE,
    PVP,
    OutcomeData,
    Subject,
    _analysed,
    _report_visits,
    measure_labels,
    outcome_data,
)

# What the tables group by: an attribute of Subject.
ITT, AS_TREATED = "arm", "as_treated"
MEASURES = ("odi", "vas_back", "vas_leg", "eq5d_index")
# Survival is an analysis time point counted from randomisation, not a visit: another protocol's
# visits may be anchored on the procedure date or fall on other days, so the points are days.
SURVIVAL_DAYS = (91, 365)


def _mean_sd(summary: statistics.Summary, places: int) -> str:
    if not summary.n:
        return "–"
    if summary.sd is None:
        return f"{_num(summary.mean, places)} ({summary.n})"
    return f"{_num(summary.mean, places)} ± {_num(summary.sd, places)} ({summary.n})"


def _n_pct(n: int, total: int) -> str:
    if not total:
        return "–"
    return f"{n} ({_num(100 * n / total, 1)})"


def _range(values: list[float], *, median: bool, places: int = 0) -> str:
    values = sorted(v for v in values if v is not None)
    if not values:
        return "–"
    if median:
        mid = len(values) // 2
        centre = values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2
    else:
        centre = sum(values) / len(values)
    return (
        f"{_num(centre, 1)} ({_num(values[0], places)}–{_num(values[-1], places)}), "
        f"n = {len(values)}"
    )


@dataclass
class Row:
    label: str
    cells: list[str]  # one per column: each arm, then all
    indent: bool = False


def _columns(groups: dict[str, list[Subject]]) -> list[list[Subject]]:
    everyone = [s for arm in groups for s in groups[arm]]
    return [*(groups.get(arm, []) for arm in ARMS), everyone]


def baseline_table(data: OutcomeData, by: str = ITT) -> list[Row]:
    """Table 1 of the case series, by arm: the baseline characteristics."""
    groups: dict[str, list[Subject]] = defaultdict(list)
    for s in _analysed(data):
        groups[getattr(s, by)].append(s)
    cols = _columns(groups)

    def each(fn) -> list[str]:
        return [fn(col) for col in cols]

    def count(pred) -> list[str]:
        return each(lambda col: _n_pct(sum(1 for s in col if pred(s)), len(col)))

    rows = [
        Row(_("Participants, n"), each(lambda col: str(len(col)))),
        Row(
            _("Age, mean (range), years"), each(lambda c: _range([s.age for s in c], median=False))
        ),
        Row(_("Male, n (%)"), count(lambda s: s.sex == Sex.MALE)),
        Row(_("Myeloma, n (%)"), ["" for _c in cols]),
        Row(_("Newly diagnosed (cohort B)"), count(lambda s: s.myeloma_status == "new"), True),
        Row(_("Known (cohort A)"), count(lambda s: s.myeloma_status == "known"), True),
        Row(_("ISS stage, n (%)"), ["" for _c in cols]),
    ]
    for stage, label in (("I", "I"), ("II", "II"), ("III", "III"), ("unknown", _("Unknown"))):
        rows.append(Row(label, count(lambda s, stage=stage: s.iss_stage == stage), True))
    rows += [
        Row(
            _("Prior lines of treatment, median (range)"),
            each(lambda c: _range([s.prior_lines for s in c], median=True)),
        ),
        Row(_("Planned levels, n (%)"), ["" for _c in cols]),
        Row(_("Single"), count(lambda s: s.planned_levels == 1), True),
        Row(_("Multiple (2-4)"), count(lambda s: (s.planned_levels or 0) >= 2), True),
        Row(
            _("Levels planned, total"),
            each(lambda c: str(sum(s.planned_levels or 0 for s in c))),
            True,
        ),
        Row(
            _("Earlier vertebral fractures not to be treated, n (%)"),
            count(lambda s: bool(s.earlier_fractures)),
        ),
        Row(
            _("Days from pain onset to randomisation, median (range)"),
            each(lambda c: _range([s.pain_days for s in c], median=True)),
        ),
        Row(_("Opioid, n (%)"), count(lambda s: bool(s.opioid))),
        Row(
            _("Opioid dose, mg oral morphine equivalent per day, median (range)"),
            each(lambda c: _range([s.ome for s in c if s.opioid], median=True)),
            True,
        ),
    ]
    bl = data.baseline_visit
    for measure, label in measure_labels().items():
        places = 2 if measure == "eq5d_index" else 1
        rows.append(
            Row(
                _("%(measure)s, mean ± SD (n)") % {"measure": label},
                each(
                    lambda c, m=measure, pl=places: _mean_sd(
                        statistics.summarise(s.scores.get(bl, {}).get(m) for s in c), pl
                    )
                ),
            )
        )
    return rows


@dataclass
class OutcomeCell:
    summary: str
    change: str = ""  # mean change from baseline (paired), with p
    n_pairs: int = 0


@dataclass
class OutcomeRow:
    measure: str
    visit: str
    visit_label: str
    cells: list[OutcomeCell]  # per arm


def outcome_table(data: OutcomeData, by: str = ITT) -> list[OutcomeRow]:
    """Each measure by arm and visit: mean ± SD (n), and the change from baseline with a
    paired t-test over the participants who answered at both visits."""
    subjects = _analysed(data)
    bl = data.baseline_visit
    visits = [(bl, _("Baseline")), *_report_visits(data)]
    rows = []
    for measure in MEASURES:
        places = 2 if measure == "eq5d_index" else 1
        for code, label in visits:
            cells = []
            for arm in ARMS:
                group = [s for s in subjects if getattr(s, by) == arm]
                summary = statistics.summarise(s.scores.get(code, {}).get(measure) for s in group)
                cell = OutcomeCell(_mean_sd(summary, places))
                if code != bl:
                    paired = statistics.paired_change(
                        (s.scores.get(bl, {}).get(measure), s.scores.get(code, {}).get(measure))
                        for s in group
                    )
                    cell.n_pairs = paired.n
                    if paired.n and paired.p is not None:
                        cell.change = _("%(change)s (p %(p)s, n = %(n)d)") % {
                            "change": _num(paired.mean_change, places),
                            "p": _p(paired.p),
                            "n": paired.n,
                        }
                    elif paired.n:  # too few pairs for a test
                        cell.change = _("%(change)s (n = %(n)d)") % {
                            "change": _num(paired.mean_change, places),
                            "n": paired.n,
                        }
                cells.append(cell)
            rows.append(OutcomeRow(measure, code, label, cells))
    return rows


@dataclass
class Comparison:
    measure: str
    label: str
    primary: bool
    result: statistics.Difference
    text: str


def between_arms(data: OutcomeData, by: str = ITT) -> list[Comparison]:
    """PVP minus conservative at the primary visit for every measure, the schedule's primary
    measure marked (VERTEBRA: the ODI), with a 95% CI from Welch's t (see
    trial.reports.statistics for why Welch)."""
    primary = data.primary_visit
    if primary is None:
        return []
    subjects = _analysed(data)
    result = []
    for measure, label in measure_labels().items():
        places = 2 if measure == "eq5d_index" else 1
        diff = statistics.welch_difference(
            [s.scores.get(primary, {}).get(measure) for s in subjects if getattr(s, by) == PVP],
            [
                s.scores.get(primary, {}).get(measure)
                for s in subjects
                if getattr(s, by) == CONSERVATIVE
            ],
        )
        if diff.difference is None:
            text = "–"
        elif diff.ci_low is None:
            text = _num(diff.difference, places)
        else:
            text = _("%(d)s (95%% CI %(lo)s to %(hi)s; p %(p)s)") % {
                "d": _num(diff.difference, places),
                "lo": _num(diff.ci_low, places),
                "hi": _num(diff.ci_high, places),
                "p": _p(diff.p),
            }
        result.append(Comparison(measure, label, measure == data.primary_measure, diff, text))
    return result


@dataclass
class SurvivalRow:
    label: str
    day: int
    cells: list[str]  # per arm, then all


def survival_times(subjects: Iterable[Subject], today: dt.date) -> tuple[list[int], list[bool]]:
    """Days from randomisation to death, or to the last day known alive: the last contact
    done, the withdrawal, or randomisation itself when nothing has happened since (censored)."""
    times, died = [], []
    for s in subjects:
        if s.died_on is not None:
            times.append((s.died_on - s.randomised_on).days)
            died.append(True)
            continue
        known = [d for d in (s.last_contact, s.withdrawn_on) if d is not None]
        last = min(max(known), today) if known else s.randomised_on
        times.append(max(0, (last - s.randomised_on).days))
        died.append(False)
    return times, died


def survival_table(
    data: OutcomeData, today: dt.date | None = None, by: str = ITT
) -> list[SurvivalRow]:
    today = today or timezone.localdate()
    labels = {91: _("3 months"), 365: _("12 months")}
    points = [(labels[day], day) for day in SURVIVAL_DAYS]
    subjects = _analysed(data)
    groups = [*([s for s in subjects if getattr(s, by) == arm] for arm in ARMS), subjects]
    estimates = []
    for group in groups:
        times, died = survival_times(group, today)
        estimates.append(statistics.kaplan_meier(times, died, [d for _c, d in points]))
    rows = []
    for i, (label, day) in enumerate(points):
        cells = []
        for est in estimates:
            point = est[i]
            if point.not_reached:
                cells.append(
                    _(
                        "no estimate: nobody has been followed for %(period)s yet "
                        "(longest follow-up %(days)d days)"
                    )
                    % {"period": label, "days": point.longest}
                )
            elif point.survival is None:
                cells.append(_("no estimate: no participants"))
            else:
                cells.append(
                    _("%(s)s%% (%(events)d died, %(risk)d at risk)")
                    % {
                        "s": _num(100 * point.survival, 1),
                        "events": point.events,
                        "risk": point.at_risk,
                    }
                )
        rows.append(SurvivalRow(label, day, cells))
    return rows


def analysis(data: OutcomeData, by: str = ITT) -> dict:
    """The tables of one analysis: baseline, outcomes by visit, the difference between the
    arms and survival, with the participants grouped by ``by`` (ITT or AS_TREATED)."""
    return {
        "baseline": baseline_table(data, by),
        "outcomes": outcome_table(data, by),
        "comparisons": between_arms(data, by),
        "survival": survival_table(data, by=by),
    }


def outcome_report(site: Site | None = None, data: OutcomeData | None = None) -> dict:
    """The context of the outcome report page and PDF: the intention-to-treat analysis
    (the primary one; its tables also at the top level), and the same tables as treated,
    the sensitivity analysis; the adjusted models (trial.reports.adjusted). ``data`` is given
    by the benchmark (simulated subjects); otherwise it is read from the database."""
    data = outcome_data(site) if data is None else data
    leakage = data.leakage
    itt = analysis(data, ITT)
    flow = consort_flow(site, data)
    return {
        "data": data,
        "arm_labels": [data.arm_labels.get(arm, arm) for arm in ARMS],
        **itt,
        "itt": itt,
        "as_treated": analysis(data, AS_TREATED),
        "models": models_report(data),
        "measure_labels": measure_labels(),
        "leakage": leakage,
        "leakage_text": _n_pct_slash(leakage) if leakage else None,
        "primary_visit": data.primary_visit,
        "excluded_no_data": sum(1 for s in data.subjects if not s.data_use_allowed),
        "primary_measure_label": flow.primary_measure_label,
        "flow": flow,
        "generated_at": timezone.localtime(),
        "missing": data.missing,
    }


def _n_pct_slash(p: statistics.Proportion) -> str:
    return f"{p.n}/{p.total} ({_num(p.percent, 1)})" if p.total else "0/0"
