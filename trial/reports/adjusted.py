"""The outcome report's adjusted analyses: the report's subjects turned into plain rows for the
models of trial.reports.models_analysis, and their results into the report's tables.

* the primary outcome by ANCOVA next to Welch, in each population (trial.reports.populations);
* missing data: complete cases against multiple imputation (MICE), intention to treat;
* responders: an ODI improvement of at least ``TRIAL_ODI_MCID`` points at the primary visit;
* every visit at once: a linear mixed model per measure, its adjusted differences and a chart
  of the adjusted means.

Adjusted for the baseline value of the outcome and the stratification factors used at
randomisation (the factors of the participant's stratum, decoded by the randomization app's
one declaration of the strata) and the site.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.conf import settings
from django.utils.translation import gettext as _

from trial.protocol.schedule import PRIMARY_MEASURES
from trial.registry import dashboard
from trial.reports import charts, statistics
from trial.reports import models_analysis as models
from trial.reports import populations as pops
from trial.reports.formatting import _num, _p
from trial.reports.outcome_data import ARMS, OutcomeData, Subject, measure_labels

SITE = "site"
Y, BASE = "y", "base"


def mcid() -> float:
    """The minimal clinically important improvement of the ODI, in points (a setting)."""
    return float(getattr(settings, "TRIAL_ODI_MCID", 10))


def measure_places(measure: str) -> int:
    """Decimals the report shows for a measure (the EQ-5D index has two)."""
    return 2 if measure == "eq5d_index" else 1


def _fmt(value: float | None, places: int) -> str:
    return _num(value, places)


def estimate_text(est: models.Estimate, places: int) -> str:
    if est.estimate is None:
        return _("not estimable: %(why)s") % {"why": est.not_estimable}
    return _("%(d)s (95%% CI %(lo)s to %(hi)s; p %(p)s)") % {
        "d": _fmt(est.estimate, places),
        "lo": _fmt(est.ci_low, places),
        "hi": _fmt(est.ci_high, places),
        "p": _p(est.p),
    }


def covariates(subjects: Sequence[Subject]) -> list[str]:
    """The stratification factors (as coded in the strata) and the site."""
    factors: list[str] = []
    for s in subjects:
        for code in s.stratum_levels:
            if code not in factors:
                factors.append(code)
    return [*factors, SITE]


def covariate_labels() -> dict[str, str]:
    """Each covariate's name for people: the strata's factor labels (the randomization app's
    declaration, through its report source) and the site."""
    return {**(dashboard.report_source("strata_factors") or {}), SITE: _("Site")}


def _values(s: Subject, arm: str | None) -> dict:
    return {"arm": arm, models.ORDER: s.trial_number, SITE: s.site_code, **s.stratum_levels}


def wide_rows(
    members: Sequence[tuple[Subject, str]], measure: str, visit: str, baseline: str
) -> list[dict]:
    """One row per participant: arm, the measure at ``visit`` and at baseline, strata, site."""
    return [
        {
            **_values(s, arm),
            Y: s.scores.get(visit, {}).get(measure),
            BASE: s.scores.get(baseline, {}).get(measure),
        }
        for s, arm in members
    ]


def long_rows(
    members: Sequence[tuple[Subject, str]], measure: str, visits: Sequence[str], baseline: str
) -> list[dict]:
    """One row per participant and visit with a value of the measure."""
    rows = []
    for s, arm in members:
        base = s.scores.get(baseline, {}).get(measure)
        for visit in visits:
            value = s.scores.get(visit, {}).get(measure)
            if value is not None:
                rows.append(
                    {
                        **_values(s, arm),
                        models.PID: s.trial_number,
                        models.VISIT: visit,
                        Y: value,
                        BASE: base,
                    }
                )
    return rows


def _welch(rows: list[dict]) -> statistics.Difference:
    return statistics.welch_difference(
        [r[Y] for r in rows if r["arm"] == models.TREATED],
        [r[Y] for r in rows if r["arm"] == models.CONTROL],
    )


def _welch_text(diff: statistics.Difference, places: int) -> str:
    if diff.difference is None or diff.ci_low is None:
        return _("not estimable: too few participants with a value in each arm")
    return _("%(d)s (95%% CI %(lo)s to %(hi)s; p %(p)s)") % {
        "d": _fmt(diff.difference, places),
        "lo": _fmt(diff.ci_low, places),
        "hi": _fmt(diff.ci_high, places),
        "p": _p(diff.p),
    }


def primary_by_population(
    data: OutcomeData, covs: list[str], labels: dict[str, str] | None = None
) -> list[dict]:
    measure, visit = data.primary_measure or "", data.primary_visit or ""
    places = measure_places(measure)
    names = pops.population_labels()
    result = []
    for which in pops.POPULATIONS:
        rows = wide_rows(pops.population(data.subjects, which), measure, visit, data.baseline_visit)
        welch = _welch(rows)
        est = models.ancova(rows, Y, BASE, covs, labels=labels)
        result.append(
            {
                "code": which,
                "label": names[which],
                "n": f"{est.n_treated} / {est.n_control}",
                "n_welch": f"{welch.n_a} / {welch.n_b}",
                "welch": _welch_text(welch, places),
                "ancova": estimate_text(est, places),
                "estimate": est,
                "notes": est.notes,
            }
        )
    return result


def missing_data(data: OutcomeData, covs: list[str], labels: dict[str, str] | None = None) -> dict:
    measure, visit = data.primary_measure or "", data.primary_visit or ""
    places = measure_places(measure)
    rows = wide_rows(pops.population(data.subjects, pops.ITT), measure, visit, data.baseline_visit)
    complete = models.ancova(rows, Y, BASE, covs, labels=labels)
    mice = models.mice_primary(rows, Y, BASE, covs, labels=labels)
    return {
        "complete": complete,
        "complete_text": estimate_text(complete, places),
        "mice": mice,
        "mice_text": estimate_text(mice.pooled, places),
    }


def responders(data: OutcomeData) -> dict | None:
    """ODI improvement (baseline minus the primary visit) of at least the MCID, by allocated
    arm, among participants with both values."""
    visit = data.primary_visit
    if visit is None:
        return None
    threshold = mcid()
    rows = wide_rows(pops.population(data.subjects, pops.ITT), "odi", visit, data.baseline_visit)
    rd = models.responders(rows, Y, BASE, threshold)
    if rd.difference is None or rd.ci_low is None:
        text = _("not estimable: %(why)s") % {"why": rd.not_estimable or "–"}
    else:
        text = _("%(d)s percentage points (95%% CI %(lo)s to %(hi)s)") % {
            "d": _fmt(100 * rd.difference, 1),
            "lo": _fmt(100 * rd.ci_low, 1),
            "hi": _fmt(100 * (rd.ci_high or 0), 1),
        }
    return {
        "mcid": _fmt(threshold, 0 if threshold == int(threshold) else 1),
        "result": rd,
        "treated": f"{rd.responders_treated}/{rd.n_treated} ({_fmt(rd.percent_treated, 1)}%)",
        "control": f"{rd.responders_control}/{rd.n_control} ({_fmt(rd.percent_control, 1)}%)",
        "text": text,
    }


def measure_visits(visits: Sequence[dict], baseline: str, measure: str) -> list[str]:
    """The scheduled visits after baseline that collect the measure, in schedule order
    (``visits`` as trial.reports.outcome_data.schedule_visits gives them)."""
    item = PRIMARY_MEASURES.get(measure)
    ordered = sorted(
        (v for v in visits if item in (v.get("collects") or ())), key=lambda v: v["day"]
    )
    return [v["code"] for v in ordered if v["code"] != baseline]


def repeated_measures(
    data: OutcomeData, covs: list[str], arm_labels: dict, labels: dict[str, str] | None = None
) -> list[dict]:
    members = pops.population(data.subjects, pops.ITT)
    result = []
    for measure, label in measure_labels().items():
        codes = measure_visits(data.visits, data.baseline_visit, measure)
        if not codes:
            continue
        fit = models.mixed_model(
            long_rows(members, measure, codes, data.baseline_visit),
            Y,
            BASE,
            covs,
            codes,
            labels=labels,
        )
        places = measure_places(measure)
        means = {(m.visit, m.arm): m for m in fit.means}
        rows = []
        for d in fit.differences:
            cells = []
            for arm in ARMS:
                m = means[(d.visit, arm)]
                cells.append(
                    _("%(m)s (%(lo)s to %(hi)s)")
                    % {
                        "m": _fmt(m.mean, places),
                        "lo": _fmt(m.ci_low, places),
                        "hi": _fmt(m.ci_high, places),
                    }
                )
            rows.append(
                {
                    "visit": d.visit,
                    "primary": d.visit == data.primary_visit,
                    "n": f"{d.n_treated} / {d.n_control}",
                    "means": cells,
                    "difference": estimate_text(
                        models.Estimate(d.estimate, d.ci_low, d.ci_high, d.p), places
                    ),
                }
            )
        shown = [(c, c) for c in codes if any(d.visit == c for d in fit.differences)]
        result.append(
            {
                "measure": measure,
                "label": label,
                "fit": fit,
                "rows": rows,
                "chart": charts.means_chart(shown, fit.means, arm_labels, places),
            }
        )
    return result


def models_report(data: OutcomeData) -> dict:
    """The adjusted analyses of the report; empty when the schedule names no primary
    outcome."""
    if data.primary_measure is None or data.primary_visit is None:
        return {}
    analysed = [s for s in data.subjects if pops.in_analysis(s.data_use_allowed)]
    covs = covariates(analysed)
    labels = covariate_labels()
    arm_labels = {arm: data.arm_labels.get(arm, arm) for arm in ARMS}
    return {
        "covariates": [labels.get(c, c) for c in covs],
        "populations": primary_by_population(data, covs, labels),
        "definitions": pops.definitions(),
        "common_exclusion": pops.common_exclusion(),
        "exclusions": [
            (pops.exclusion_labels()[k], n) for k, n in pops.exclusion_counts(analysed).items()
        ],
        "missing": missing_data(data, covs, labels),
        "responders": responders(data),
        "repeated": repeated_measures(data, covs, arm_labels, labels),
        "software": models.software_versions(),
    }
