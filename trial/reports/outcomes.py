"""The CONSORT flow and the outcome report: data gathering (a constant number of queries) and
the assembly of tables; the statistics themselves are pure functions in
trial.reports.statistics.

``trial`` must not import the apps built on it, so allocations, scores and contacts come
through named report sources that those apps register in their ``dashboard.py``
(trial.registry.dashboard). Models that other helpers are still adding (crossover, procedures,
adverse events) are looked up lazily, so the report works before and after they land.

Analysis population: every randomised participant by allocated arm (intention to treat),
except participants who withdrew without allowing the use of the data collected so far. The
same participants grouped by the arm as treated (``trial.treatment.selectors``, the one
definition the exports and the participant page use too) make the sensitivity analysis.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.apps import apps
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from trial.models import Participant, Sex, Site
from trial.protocol import active_schedule
from trial.registry import dashboard
from trial.reports import statistics
from trial.screening import selectors
from trial.treatment.selectors import annotate_as_treated

PVP, CONSERVATIVE = "pvp", "conservative"
ARMS = (PVP, CONSERVATIVE)
# What the tables group by: an attribute of Subject.
ITT, AS_TREATED = "arm", "as_treated"
MEASURES = ("odi", "vas_back", "vas_leg", "eq5d_index")
# Survival is an analysis time point counted from randomisation, not a visit: another protocol's
# visits may be anchored on the procedure date or fall on other days, so the points are days.
SURVIVAL_DAYS = (91, 365)


def optional_model(app_label: str, name: str):
    """A model another helper may not have added yet, or None."""
    try:
        return apps.get_model(app_label, name)
    except LookupError:
        return None


def measure_labels() -> dict[str, str]:
    return {
        "odi": _("ODI (0-100)"),
        "vas_back": _("Back pain VAS (0-100)"),
        "vas_leg": _("Leg pain VAS (0-100)"),
        "eq5d_index": _("EQ-5D-3L index"),
    }


# === Data =================================================================================


@dataclass
class Subject:
    """One randomised participant, with everything the report needs, as plain values."""

    pk: int
    trial_number: str
    site_code: str
    arm: str
    stratum: str
    randomised_on: dt.date
    sex: str
    age: int | None
    myeloma_status: str | None = None
    iss_stage: str | None = None
    prior_lines: int | None = None
    opioid: bool | None = None
    ome: float | None = None
    pain_days: int | None = None  # days from pain onset to randomisation
    planned_levels: int | None = None
    earlier_fractures: bool | None = None
    died_on: dt.date | None = None
    withdrawn_on: dt.date | None = None
    data_use_allowed: bool = True
    crossed_over: bool = False
    as_treated: str | None = None  # trial.treatment.selectors.as_treated_expression
    last_contact: dt.date | None = None
    visits_done: set = field(default_factory=set)
    scores: dict = field(default_factory=dict)  # visit code -> {measure: value}


@dataclass
class OutcomeData:
    subjects: list[Subject]
    baseline_visit: str
    visits: list[dict]  # schedule visits: code, label, day, primary, collects
    arm_labels: dict[str, str]
    leakage: statistics.Proportion | None
    missing: list[str]  # what could not be wired (models or sources not there yet)
    # The primary outcome's measure, a key of measure_labels(): the schedule's, never assumed.
    primary_measure: str | None = None

    @property
    def primary_visit(self) -> str | None:
        return next((v["code"] for v in self.visits if v["primary"]), None)


def outcome_data(site: Site | None = None) -> OutcomeData:
    """Everything the CONSORT flow and the outcome report need, in a constant number of queries.

    Participants (one query, with screening form, surgical assessment, death and withdrawal
    joined), then one query per report source: allocations, scores, contacts; one for
    crossovers and one for cement leakage when those models exist.
    """
    missing: list[str] = []
    allocations = dashboard.report_source("allocations")
    if allocations is None:
        missing.append("randomization: allocations source")
        allocations = {}
    scores = dashboard.report_source("scores") or {"baseline": "BL", "rows": {}}
    contacts = dashboard.report_source("contacts")
    if contacts is None:
        missing.append("followup: contacts source")
        contacts = []
    schedule = active_schedule()
    visits = [
        {
            "code": v.code,
            "label": v.label,
            "day": v.day,
            "primary": v.primary,
            "collects": v.collects,
        }
        for v in schedule.visits
    ]
    arm_labels = dashboard.report_source("arm_labels") or {PVP: "PVP", CONSERVATIVE: "Usual care"}

    # By status rather than a list of ids: the list would not scale to a large trial.
    qs = annotate_as_treated(
        Participant.objects.filter(status__in=selectors.RANDOMISED_STATUSES).select_related(
            "site", "screening_form", "surgical_assessment", "death", "withdrawal"
        )
    )
    if site is not None:
        qs = qs.filter(site=site)
    subjects: dict[int, Subject] = {}
    for p in qs.order_by("site__code", "sequence"):
        alloc = allocations.get(p.pk)
        if alloc is None:
            continue
        day0 = alloc["randomised_on"]
        subject = Subject(
            pk=p.pk,
            trial_number=p.trial_number,
            site_code=p.site.code,
            arm=alloc["arm"],
            as_treated=p.as_treated_arm,
            stratum=alloc["stratum"],
            randomised_on=day0,
            sex=p.sex,
            age=day0.year - p.year_of_birth if p.year_of_birth else None,
        )
        form = getattr(p, "screening_form", None)
        if form is not None:
            subject.myeloma_status = form.myeloma_status
            subject.iss_stage = form.iss_stage
            subject.prior_lines = form.prior_lines
            subject.opioid = form.opioid
            if form.opioid and form.opioid_ome_mg_per_day is not None:
                subject.ome = float(form.opioid_ome_mg_per_day)
            if form.pain_onset_date:
                subject.pain_days = (day0 - form.pain_onset_date).days
        assessment = getattr(p, "surgical_assessment", None)
        if assessment is not None:
            subject.planned_levels = len(assessment.planned_levels or [])
            subject.earlier_fractures = assessment.earlier_fractures
        death = getattr(p, "death", None)
        if death is not None:
            subject.died_on = death.date_of_death
        withdrawal = getattr(p, "withdrawal", None)
        if withdrawal is not None:
            subject.withdrawn_on = withdrawal.withdrawn_on
            subject.data_use_allowed = withdrawal.data_use_allowed
        subjects[p.pk] = subject

    for (pid, visit), values in scores["rows"].items():
        if pid in subjects:
            subjects[pid].scores[visit] = values
    for pid, visit, status, completed_on in contacts:
        contacted = subjects.get(pid)
        if contacted is None or status != "done":
            continue
        contacted.visits_done.add(visit)
        if completed_on and (
            contacted.last_contact is None or completed_on > contacted.last_contact
        ):
            contacted.last_contact = completed_on

    crossover = optional_model("trial", "Crossover")
    if crossover is None:
        missing.append("trial.Crossover (crossed over)")
    else:
        for pid in crossover.objects.values_list("participant_id", flat=True):
            if pid in subjects:
                subjects[pid].crossed_over = True

    return OutcomeData(
        subjects=list(subjects.values()),
        baseline_visit=scores["baseline"],
        visits=visits,
        arm_labels=arm_labels,
        leakage=_leakage(missing, site),
        missing=missing,
        primary_measure=schedule.primary_measure,
    )


def _leakage(missing: list[str], site: Site | None) -> statistics.Proportion | None:
    """Cement leakage per treated vertebra (one query).

    ``trial.treatment.selectors.leakage_rates`` is the one place that defines the rate once the
    treatment work lands; until then the treated levels are counted here.
    """
    try:
        from trial.treatment import selectors as treatment_selectors

        rates = getattr(treatment_selectors, "leakage_rates", None)
    except ImportError:
        rates = None
    procedure = optional_model("trial", "Procedure")
    if rates is not None and procedure is not None:
        procedures = procedure.objects.all()
        if site is not None:
            procedures = procedures.filter(participant__site=site)
        shaped = _as_proportion(rates(procedures))
        if shaped is not None:
            return shaped
        missing.append("trial.treatment.selectors.leakage_rates: unknown result shape")
    level = optional_model("trial", "ProcedureLevel")
    if level is None:
        missing.append("trial.ProcedureLevel (cement leakage)")
        return None
    from django.db.models import Count, Q

    levels = level.objects.all()
    if site is not None:
        levels = levels.filter(procedure__participant__site=site)
    counts = levels.aggregate(n=Count("pk", filter=Q(leakage=True)), total=Count("pk"))
    return statistics.Proportion(counts["n"], counts["total"])


def _as_proportion(result) -> statistics.Proportion | None:
    """``leakage_rates(...).per_vertebra`` (numerator / denominator) as a Proportion."""
    rate = getattr(result, "per_vertebra", None)
    if rate is None or not hasattr(rate, "numerator") or not hasattr(rate, "denominator"):
        return None
    return statistics.Proportion(int(rate.numerator), int(rate.denominator))


def _analysed(data: OutcomeData) -> list[Subject]:
    return [s for s in data.subjects if s.data_use_allowed]


# === CONSORT flow =========================================================================


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


def _report_visits(data: OutcomeData) -> list[tuple[str, str]]:
    """Follow-up visits that collect the ODI or the EQ-5D (in VERTEBRA: 4 weeks, 3 and 12
    months); for a schedule with neither, the visits that collect a pain VAS."""
    for wanted in ({"odi", "eq5d3l"}, {"vas_back", "vas_leg"}):
        visits = [
            (v["code"], _(v["label"]))
            for v in data.visits
            if wanted & set(v.get("collects") or ()) or v["primary"]
        ]
        if any(code != data.primary_visit for code, _label in visits):
            return visits
    return visits


# === Outcome report =======================================================================


def _num(value: float | None, places: int = 1) -> str:
    if value is None:
        return "–"
    return formats.number_format(round(value, places), places, use_l10n=True)


def _mean_sd(summary: statistics.Summary, places: int) -> str:
    if not summary.n:
        return "–"
    if summary.sd is None:
        return f"{_num(summary.mean, places)} ({summary.n})"
    return f"{_num(summary.mean, places)} ± {_num(summary.sd, places)} ({summary.n})"


def _p(p: float | None) -> str:
    if p is None:
        return "–"
    if p < 0.001:
        return "< " + _num(0.001, 3)
    return _num(p, 3)


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
                    _("not reached (longest follow-up %(days)d days, alive)")
                    % {"days": point.longest}
                )
            elif point.survival is None:
                cells.append("–")
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


def outcome_report(site: Site | None = None) -> dict:
    """The context of the outcome report page and PDF: the intention-to-treat analysis
    (the primary one; its tables also at the top level), and the same tables as treated,
    the sensitivity analysis."""
    data = outcome_data(site)
    leakage = data.leakage
    itt = analysis(data, ITT)
    flow = consort_flow(site, data)
    return {
        "data": data,
        "arm_labels": [data.arm_labels.get(arm, arm) for arm in ARMS],
        **itt,
        "itt": itt,
        "as_treated": analysis(data, AS_TREATED),
        "measure_labels": measure_labels(),
        "leakage": leakage,
        "leakage_text": _n_pct_slash(leakage) if leakage else None,
        "primary_visit": data.primary_visit,
        "primary_measure_label": flow.primary_measure_label,
        "excluded_no_data": sum(1 for s in data.subjects if not s.data_use_allowed),
        "flow": flow,
        "generated_at": timezone.localtime(),
        "missing": data.missing,
    }


def _n_pct_slash(p: statistics.Proportion) -> str:
    return f"{p.n}/{p.total} ({_num(p.percent, 1)})" if p.total else "0/0"
