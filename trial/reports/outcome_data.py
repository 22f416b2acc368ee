"""The data of the CONSORT flow and the outcome report, gathered in a constant number of
queries: one ``Subject`` of plain values per randomised participant.

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
from dataclasses import dataclass, field

from django.apps import apps
from django.utils.translation import gettext as _

from trial.models import Participant, Site
from trial.protocol import active_schedule
from trial.registry import dashboard
from trial.reports import statistics
from trial.screening import selectors
from trial.treatment.selectors import annotate_as_treated

PVP, CONSERVATIVE = "pvp", "conservative"
ARMS = (PVP, CONSERVATIVE)


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
    withdrawn_by: str | None = None  # trial.models.WithdrawalInitiator
    crossed_over: bool = False
    crossover_date: dt.date | None = None
    # Randomised although not eligible (a protocol deviation; the randomization app's source).
    ineligible_randomised: bool = False
    # The stratification factors at randomisation, factor code -> level code (from the stratum).
    stratum_levels: dict = field(default_factory=dict)
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


def schedule_visits() -> list[dict]:
    """The visits of the schedule in force as plain values: code, label, day, primary,
    collects."""
    return [
        {
            "code": v.code,
            "label": v.label,
            "day": v.day,
            "primary": v.primary,
            "collects": v.collects,
        }
        for v in active_schedule().visits
    ]


def outcome_data(site: Site | None = None) -> OutcomeData:
    """Everything the CONSORT flow and the outcome report need, in a constant number of queries.

    Participants (one query, with screening form, surgical assessment, death and withdrawal
    joined), then one query per report source: allocations, scores, contacts, deviations that
    made a randomised participant ineligible; one for crossovers and one for cement leakage
    when those models exist.
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
    visits = schedule_visits()
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
            stratum_levels=alloc.get("stratum_levels") or {},
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
            subject.withdrawn_by = withdrawal.initiated_by
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
        for pid, on in crossover.objects.values_list("participant_id", "crossover_date"):
            if pid in subjects:
                subjects[pid].crossed_over = True
                subjects[pid].crossover_date = on
    for pid in dashboard.report_source("ineligible_randomised") or ():
        if pid in subjects:
            subjects[pid].ineligible_randomised = True

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
