"""The statistician's models (trial.reports.models_analysis) against figures computed
independently: ANCOVA by explicit least squares, the mixed model in a balanced design by the
one-way ANOVA estimators, Rubin's rules from each imputation, Newcombe's published example."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from trial.reports import models_analysis as m


@pytest.fixture(autouse=True)
def _english():
    # The reasons are translated; these tests read the English source text.
    from django.utils import translation

    with translation.override("en"):
        yield


# A fixed data set: 12 participants, arm, baseline ODI, cohort, site and the ODI at 4 weeks.
DATA = [
    ("pvp", 62, "A", "AAR", 38),
    ("pvp", 55, "B", "AAR", 30),
    ("pvp", 70, "A", "ODE", 47),
    ("pvp", 48, "B", "ODE", 29),
    ("pvp", 66, "A", "AAR", 40),
    ("pvp", 58, "B", "ODE", 36),
    ("conservative", 60, "A", "AAR", 51),
    ("conservative", 52, "B", "AAR", 44),
    ("conservative", 68, "A", "ODE", 60),
    ("conservative", 50, "B", "ODE", 41),
    ("conservative", 64, "A", "AAR", 49),
    ("conservative", 57, "B", "ODE", 50),
]
ROWS = [
    {"arm": arm, "base": base, "cohort": cohort, "site": site, "y": y}
    for arm, base, cohort, site, y in DATA
]


def _least_squares(rows):
    """The same ANCOVA by hand: design [1, PVP, baseline, cohort B, site ODE], beta by least
    squares, SE from s^2 (X'X)^-1, t with n - 5 df."""
    x = np.array(
        [[1, r["arm"] == "pvp", r["base"], r["cohort"] == "B", r["site"] == "ODE"] for r in rows],
        dtype=float,
    )
    y = np.array([r["y"] for r in rows], dtype=float)
    beta, *_ = np.linalg.lstsq(x, y, rcond=None)
    resid = y - x @ beta
    df = len(y) - x.shape[1]
    s2 = resid @ resid / df
    se = math.sqrt(s2 * np.linalg.inv(x.T @ x)[1, 1])
    return beta[1], se, df


def test_ancova_matches_explicit_least_squares():
    est = m.ancova(ROWS, "y", "base", ["cohort", "site"])
    beta, se, df = _least_squares(ROWS)
    t975 = stats.t.ppf(0.975, df)
    assert est.estimate == pytest.approx(beta, abs=1e-9)
    assert est.ci_low == pytest.approx(beta - t975 * se, abs=1e-9)
    assert est.ci_high == pytest.approx(beta + t975 * se, abs=1e-9)
    assert est.p == pytest.approx(2 * stats.t.sf(abs(beta / se), df), rel=1e-9)
    assert (est.n, est.n_treated, est.n_control) == (12, 6, 6)
    assert est.notes == ()
    # The adjusted difference is PVP minus conservative: clearly below zero on these data.
    assert est.estimate < -8


def test_ancova_leaves_out_incomplete_rows_and_constant_strata():
    rows = [{**r, "site": "AAR"} for r in ROWS] + [
        {"arm": "pvp", "base": None, "cohort": "A", "site": "AAR", "y": 10},
        {"arm": "conservative", "base": 60, "cohort": "A", "site": "AAR", "y": None},
    ]
    est = m.ancova(rows, "y", "base", ["cohort", "site"])
    assert est.n == 12
    assert any("site" in note for note in est.notes)
    # Without the site term: the model on arm, baseline and cohort.
    x = np.array([[1, r["arm"] == "pvp", r["base"], r["cohort"] == "B"] for r in ROWS], float)
    beta, *_ = np.linalg.lstsq(x, np.array([r["y"] for r in ROWS], float), rcond=None)
    assert est.estimate == pytest.approx(beta[1], abs=1e-9)


def test_ancova_drops_a_stratum_that_coincides_with_another():
    # Cohort and site carry the same information: the design would be singular.
    rows = [{**r, "site": "AAR" if r["cohort"] == "A" else "ODE"} for r in ROWS]
    est = m.ancova(rows, "y", "base", ["cohort", "site"])
    assert est.estimate is not None
    assert any("site" in note and "coincides" in note for note in est.notes)


@pytest.mark.parametrize(
    ("rows", "why"),
    [
        ([r for r in ROWS if r["arm"] == "pvp"], "conservative"),
        ([], "no participant"),
        (ROWS[:2] + ROWS[6:8], "too few participants"),
    ],
)
def test_ancova_says_why_it_cannot_estimate(rows, why):
    est = m.ancova(rows, "y", "base", ["cohort", "site"])
    assert est.estimate is None
    assert why in est.not_estimable


def _balanced_long(seed=3, n_per_arm=8, visits=("W1", "W4", "M3")):
    rng = np.random.default_rng(seed)
    rows = []
    for pid in range(2 * n_per_arm):
        arm = "pvp" if pid < n_per_arm else "conservative"
        u = rng.normal(0, 6)
        for k, visit in enumerate(visits):
            effect = -5 * (k + 1) if arm == "pvp" else 0
            rows.append(
                {"pid": pid, "arm": arm, "visit": visit, "y": 50 + effect + u + rng.normal(0, 4)}
            )
    return rows, list(visits), n_per_arm


def test_the_mixed_model_matches_the_anova_estimators_in_a_balanced_design():
    # Balanced, no missing visits, no covariates: the REML fixed effects are the cell means,
    # and the variance components are the one-way ANOVA estimators (residual variance from
    # within participants after the arm x visit means, participant variance from between).
    # Var(difference at a visit) = (s2_u + s2_e) (1/n + 1/n).
    rows, visits, n = _balanced_long()
    fit = m.mixed_model(rows, "y", None, [], visits)
    assert fit.not_estimable == ""
    y = {(r["pid"], r["visit"]): r["y"] for r in rows}
    arm_of = {r["pid"]: r["arm"] for r in rows}
    k = len(visits)
    cell = {
        (a, v): np.mean([y[p, v] for p in arm_of if arm_of[p] == a])
        for a in ("pvp", "conservative")
        for v in visits
    }
    pid_mean = {p: np.mean([y[p, v] for v in visits]) for p in arm_of}
    arm_mean = {a: np.mean([cell[a, v] for v in visits]) for a in ("pvp", "conservative")}
    # Residual: y - cell mean - (participant mean - arm mean).
    sse = sum(
        (y[p, v] - cell[arm_of[p], v] - (pid_mean[p] - arm_mean[arm_of[p]])) ** 2
        for p in arm_of
        for v in visits
    )
    n_people = len(arm_of)
    s2_e = sse / ((n_people - 2) * (k - 1))
    ms_between = k * sum((pid_mean[p] - arm_mean[arm_of[p]]) ** 2 for p in arm_of) / (n_people - 2)
    s2_u = (ms_between - s2_e) / k
    se = math.sqrt((s2_u + s2_e) * 2 / n)
    z = stats.norm.ppf(0.975)
    for d in fit.differences:
        expected = cell["pvp", d.visit] - cell["conservative", d.visit]
        assert d.estimate == pytest.approx(expected, abs=1e-6)
        assert d.ci_high - d.ci_low == pytest.approx(2 * z * se, rel=1e-3)
        assert (d.n_treated, d.n_control) == (n, n)
    for mean in fit.means:
        assert mean.mean == pytest.approx(cell[mean.arm, mean.visit], abs=1e-6)
    assert [d.visit for d in fit.differences] == visits
    assert (fit.n_participants, fit.n_observations) == (2 * n, 2 * n * k)


def test_the_mixed_model_with_baseline_and_strata_averages_over_the_participants():
    rows, visits, _n = _balanced_long(seed=5)
    for r in rows:
        r["base"] = 40 + r["pid"] % 5 * 3
        r["cohort"] = "A" if r["pid"] % 3 else "B"
    fit = m.mixed_model(rows, "y", "base", ["cohort"], visits)
    assert fit.not_estimable == ""
    means = {(x.visit, x.arm): x.mean for x in fit.means}
    for d in fit.differences:
        # The difference of the adjusted means is the difference reported at the visit.
        assert d.estimate == pytest.approx(means[d.visit, "pvp"] - means[d.visit, "conservative"])
        assert d.ci_low < d.estimate < d.ci_high


def test_the_mixed_model_says_why_it_cannot_estimate():
    rows, visits, _n = _balanced_long()
    one_arm = [r for r in rows if r["arm"] == "pvp"]
    assert "conservative" in m.mixed_model(one_arm, "y", None, [], visits).not_estimable
    assert m.mixed_model([], "y", None, [], visits).not_estimable
    # A visit where only one arm has data is left out, and said so.
    rows.append({"pid": 0, "arm": "pvp", "visit": "M12", "y": 20.0})
    fit = m.mixed_model(rows, "y", None, [], [*visits, "M12"])
    assert [d.visit for d in fit.differences] == visits
    assert any("M12" in note for note in fit.notes)


def _with_missing():
    rng = np.random.default_rng(11)
    rows = []
    for i in range(80):
        arm = "pvp" if i % 2 else "conservative"
        base = float(rng.normal(55, 10))
        y = 10 + 0.6 * base - (9 if arm == "pvp" else 0) + float(rng.normal(0, 6))
        rows.append(
            {
                "arm": arm,
                "base": None if i % 17 == 3 else base,
                "y": None if i % 6 == 1 else y,
                "cohort": "A" if i % 3 else "B",
                "site": "AAR" if i % 4 < 2 else "ODE",
            }
        )
    return rows


def test_mice_pools_by_rubins_rules_and_is_reproducible():
    rows = _with_missing()
    result = m.mice_primary(rows, "y", "base", ["cohort", "site"], imputations=10, burn_in=5)
    again = m.mice_primary(rows, "y", "base", ["cohort", "site"], imputations=10, burn_in=5)
    assert result.pooled.estimate == again.pooled.estimate  # seeded
    missing_y = sum(r["y"] is None for r in rows)
    missing_b = sum(r["base"] is None for r in rows)
    either = sum(r["y"] is None or r["base"] is None for r in rows)
    assert (result.missing_outcome, result.missing_baseline) == (missing_y, missing_b)
    assert result.n_imputed == either
    assert result.imputations == len(result.estimates) == 10
    # Rubin: the mean of the estimates; T = W + (1 + 1/m) B.
    q = np.array(result.estimates)
    w = np.mean(result.variances)
    b = np.var(q, ddof=1)
    total = w + (1 + 1 / len(q)) * b
    assert result.pooled.estimate == pytest.approx(q.mean(), rel=1e-9)
    half = (result.pooled.ci_high - result.pooled.ci_low) / 2
    assert half == pytest.approx(stats.norm.ppf(0.975) * math.sqrt(total), rel=1e-6)
    # Missing completely at random here: close to the complete-case estimate (true -9).
    complete = m.ancova(rows, "y", "base", ["cohort", "site"])
    assert abs(result.pooled.estimate - complete.estimate) < 2
    assert result.pooled.n == len(rows) and complete.n == len(rows) - either


def test_mice_with_nothing_missing_says_so():
    result = m.mice_primary(ROWS, "y", "base", ["cohort", "site"])
    assert result.pooled.estimate is None
    assert "nothing to impute" in result.pooled.not_estimable
    assert result.n_imputed == 0


def test_the_risk_difference_gives_newcombes_published_interval():
    # Newcombe RG. Interval estimation for the difference between independent proportions:
    # comparison of eleven methods. Stat Med 1998;17:873-890, Table II, example (a):
    # 56/70 - 48/80, method 10 (score, hybrid): +0.0524 to +0.3339.
    rd = m.risk_difference(56, 70, 48, 80)
    assert rd.difference == pytest.approx(0.2)
    assert rd.ci_low == pytest.approx(0.0524, abs=1e-4)
    assert rd.ci_high == pytest.approx(0.3339, abs=1e-4)
    # Example (b) of the same table, 9/10 - 3/10: +0.1705 to +0.8090.
    small = m.risk_difference(9, 10, 3, 10)
    assert (small.ci_low, small.ci_high) == pytest.approx((0.1705, 0.8090), abs=1e-4)


def test_the_risk_difference_of_an_empty_arm_is_not_estimable():
    rd = m.risk_difference(3, 10, 0, 0)
    assert rd.difference is None and rd.not_estimable


def test_the_software_is_named_with_versions():
    import statsmodels

    text = m.software_versions()
    assert f"statsmodels {statsmodels.__version__}" in text
    assert text.startswith("Python 3.")
