"""The statistician's models for the outcome report: plain rows in, small result objects out.

No ORM and no settings here (trial.reports.adjusted turns the report's subjects into rows), so
every function is checked against figures computed independently
(tests/trial/reports/test_models_analysis.py). The models themselves are statsmodels', a
well-kept library; this module only builds the formula, chooses the rows, guards against
degenerate data and names the results.

* ``ancova``: the primary analysis, ordinary least squares of the outcome on the arm, its
  baseline value and the stratification factors (categorical), i.e. ANCOVA; the arm's
  coefficient is the adjusted difference (PVP minus conservative) with its t-based 95% CI.
* ``mixed_model``: every visit at once, a linear mixed model (REML) with a random intercept per
  participant and fixed effects arm, visit, arm x visit, baseline value and strata; the
  adjusted difference at each visit and the adjusted means by arm and visit are linear
  contrasts of the fixed effects averaged over the participants' own covariates (Wald, normal).
* ``mice_primary``: the ANCOVA after multiple imputation by chained equations
  (statsmodels.imputation.mice, seeded, so the same data give the same figures), pooled by
  Rubin's rules.
* ``risk_difference``: a difference of two proportions with Newcombe's hybrid score interval
  (method 10 of Newcombe 1998), which keeps within -1..1 and behaves with small counts.

A result that cannot be estimated says why (``not_estimable``) instead of raising.
"""

from __future__ import annotations

import math
import platform
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

TREATED, CONTROL = "pvp", "conservative"
ARM, PID, VISIT = "arm", "pid", "visit"
# Rows carrying it are imputed in its order (``mice_primary``), whatever order they came in.
ORDER = "trial_number"


def _(message: str) -> str:
    """Django's translation inside the app; the message itself where Django is not set up:
    every full export carries a copy of this module for its analysis script
    (trial.reports.reproduce), run by the statistician without the app."""
    try:
        from django.conf import settings
        from django.utils.translation import gettext
    except ImportError:
        return message
    return gettext(message) if settings.configured else message


def software_versions() -> str:
    """The software the figures were computed with, as the report states it."""
    import patsy
    import scipy
    import statsmodels

    return (
        f"Python {platform.python_version()}, statsmodels {statsmodels.__version__}, "
        f"scipy {scipy.__version__}, pandas {pd.__version__}, numpy {np.__version__}, "
        f"patsy {patsy.__version__}"
    )


@dataclass(frozen=True)
class Estimate:
    """PVP minus conservative, adjusted, with its confidence interval."""

    estimate: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    p: float | None = None
    n: int = 0
    n_treated: int = 0
    n_control: int = 0
    not_estimable: str = ""  # why there is no estimate
    notes: tuple[str, ...] = ()  # what was dropped or assumed on the way
    confidence: float = 0.95


def _frame(rows: Iterable[dict] | pd.DataFrame) -> pd.DataFrame:
    return rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows))


def _numeric(df: pd.DataFrame, columns: Iterable[str]) -> pd.DataFrame:
    for col in columns:
        df[col] = pd.to_numeric(df[col], errors="coerce").astype(float)
    return df


def _arm_counts(df: pd.DataFrame) -> tuple[int, int]:
    return int((df[ARM] == TREATED).sum()), int((df[ARM] == CONTROL).sum())


def _empty_arm(n_t: int, n_c: int) -> str:
    if n_t and n_c:
        return ""
    if not n_t and not n_c:
        return _("no participant has the data needed")
    return _("no participant in the %(arm)s arm has the data needed") % {
        "arm": "PVP" if not n_t else _("conservative")
    }


def _constant_dropped(
    df: pd.DataFrame, columns: Sequence[str], labels: Mapping[str, str] | None = None
) -> tuple[list[str], list[str]]:
    """Columns that vary among the rows, and a note for each one left out because it does not
    (one site, one cohort: such a term cannot be estimated and adjusts for nothing). Notes
    name a term by its label in ``labels`` when it has one."""
    labels = labels or {}
    kept, notes = [], []
    for col in columns:
        if df[col].nunique(dropna=True) > 1:
            kept.append(col)
        else:
            notes.append(
                _("%(term)s left out of the model: the same in every participant analysed")
                % {"term": labels.get(col, col)}
            )
    return kept, notes


def _rhs(baseline: str | None, covariates: Sequence[str]) -> str:
    terms = [f"Q('{baseline}')"] if baseline else []
    terms += [f"C(Q('{c}'))" for c in covariates]
    return "".join(f" + {t}" for t in terms)


@dataclass
class _Design:
    y: pd.DataFrame | None
    x: pd.DataFrame | None
    covariates: list[str]
    notes: list[str]


def _full_rank(
    df: pd.DataFrame,
    lhs: str,
    first: str,
    baseline: str | None,
    covariates: list[str],
    labels: Mapping[str, str] | None = None,
) -> _Design:
    """The design (patsy) with covariates dropped from the last until it has full rank
    (strata that coincide with each other or with the arm in the data analysed)."""
    import patsy

    notes: list[str] = []
    covariates = list(covariates)
    while True:
        formula = f"{lhs} ~ {first}{_rhs(baseline, covariates)}"
        y, x = patsy.dmatrices(formula, df, return_type="dataframe")
        if np.linalg.matrix_rank(x.to_numpy()) == x.shape[1]:
            return _Design(y, x, covariates, notes)
        if not covariates:
            return _Design(None, None, covariates, notes)
        dropped = covariates.pop()
        notes.append(
            _("%(term)s left out of the model: it coincides with other terms in these data")
            % {"term": (labels or {}).get(dropped, dropped)}
        )


def ancova(
    rows: Iterable[dict] | pd.DataFrame,
    outcome: str,
    baseline: str | None,
    covariates: Sequence[str] = (),
    *,
    confidence: float = 0.95,
    labels: Mapping[str, str] | None = None,
) -> Estimate:
    """Adjusted difference PVP minus conservative by ANCOVA (OLS), complete cases.

    ``rows`` hold ``arm`` ("pvp" or "conservative"), the outcome, the baseline value and the
    covariates (each treated as categorical). Rows missing any of them are left out.
    ``labels`` name the covariates in the notes.
    """
    import statsmodels.api as sm

    df = _frame(rows)
    needed = [ARM, outcome, *([baseline] if baseline else []), *covariates]
    if df.empty or any(c not in df.columns for c in needed):
        return Estimate(not_estimable=_("no participant has the data needed"))
    df = _numeric(df[needed].copy(), [outcome, *([baseline] if baseline else [])])
    df = df.dropna()
    df = df[df[ARM].isin((TREATED, CONTROL))].copy()
    n_t, n_c = _arm_counts(df)
    counts: dict[str, Any] = {
        "n": n_t + n_c,
        "n_treated": n_t,
        "n_control": n_c,
        "confidence": confidence,
    }
    if why := _empty_arm(n_t, n_c):
        return Estimate(not_estimable=why, **counts)
    df["treat"] = (df[ARM] == TREATED).astype(float)
    notes: list[str] = []
    if baseline and df[baseline].nunique() < 2:
        notes.append(_("the baseline value is left out: the same in every participant"))
        baseline = None
    kept, dropped = _constant_dropped(df, covariates, labels)
    notes += dropped
    design = _full_rank(df, f"Q('{outcome}')", "treat", baseline, kept, labels)
    notes += design.notes
    if design.x is None:
        return Estimate(
            not_estimable=_("the arm cannot be told apart from the baseline value in these data"),
            notes=tuple(notes),
            **counts,
        )
    n_terms = design.x.shape[1]
    if n_t + n_c <= n_terms:
        return Estimate(
            not_estimable=_("too few participants (%(n)d) for the %(k)d terms of the model")
            % {"n": n_t + n_c, "k": n_terms},
            notes=tuple(notes),
            **counts,
        )
    fit = sm.OLS(design.y, design.x).fit()
    if not fit.scale > 0:
        return Estimate(
            not_estimable=_("the model fits every value exactly: no residual variation"),
            notes=tuple(notes),
            **counts,
        )
    low, high = fit.conf_int(alpha=1 - confidence).loc["treat"]
    return Estimate(
        estimate=float(fit.params["treat"]),
        ci_low=float(low),
        ci_high=float(high),
        p=float(fit.pvalues["treat"]),
        notes=tuple(notes),
        **counts,
    )


@dataclass(frozen=True)
class VisitDifference:
    visit: str
    estimate: float
    ci_low: float
    ci_high: float
    p: float
    n_treated: int
    n_control: int


@dataclass(frozen=True)
class AdjustedMean:
    visit: str
    arm: str
    mean: float
    ci_low: float
    ci_high: float


@dataclass(frozen=True)
class MixedResult:
    differences: list[VisitDifference] = field(default_factory=list)
    means: list[AdjustedMean] = field(default_factory=list)
    n_participants: int = 0
    n_observations: int = 0
    not_estimable: str = ""
    notes: tuple[str, ...] = ()


def mixed_model(
    rows: Iterable[dict] | pd.DataFrame,
    outcome: str,
    baseline: str | None,
    covariates: Sequence[str] = (),
    visits: Sequence[str] = (),
    *,
    confidence: float = 0.95,
    labels: Mapping[str, str] | None = None,
) -> MixedResult:
    """Linear mixed model over the visits: one row per participant (``pid``) and ``visit``.

    Fixed effects arm, visit, arm x visit, baseline and covariates (categorical); a random
    intercept per participant; REML. ``visits`` gives their order (others are ignored).
    """
    import patsy
    import statsmodels.api as sm
    from statsmodels.tools.sm_exceptions import ConvergenceWarning

    df = _frame(rows)
    needed = [PID, VISIT, ARM, outcome, *([baseline] if baseline else []), *covariates]
    if df.empty or any(c not in df.columns for c in needed):
        return MixedResult(not_estimable=_("no participant has the data needed"))
    df = _numeric(df[needed].copy(), [outcome, *([baseline] if baseline else [])]).dropna()
    df = df[df[ARM].isin((TREATED, CONTROL)) & df[VISIT].isin(visits)].copy()
    if why := _empty_arm(*_arm_counts(df.drop_duplicates(PID))):
        return MixedResult(not_estimable=why)
    notes: list[str] = []
    # A visit is modelled only where both arms have someone: otherwise arm x visit is not
    # estimable there.
    both = df.groupby(VISIT)[ARM].nunique()
    order = [v for v in visits if both.get(v, 0) == 2]
    if skipped := [v for v in visits if v in both.index and v not in order]:
        notes.append(_("visits with data in one arm only: %(v)s") % {"v": ", ".join(skipped)})
    df = df[df[VISIT].isin(order)].copy()
    people = df.drop_duplicates(PID)
    n_t, n_c = _arm_counts(people)
    counts: dict[str, Any] = {"n_participants": n_t + n_c, "n_observations": len(df)}
    if why := _empty_arm(n_t, n_c):
        return MixedResult(not_estimable=why, notes=tuple(notes), **counts)
    df["treat"] = (df[ARM] == TREATED).astype(float)
    if baseline and people[baseline].nunique() < 2:
        notes.append(_("the baseline value is left out: the same in every participant"))
        baseline = None
    kept, dropped = _constant_dropped(people, covariates, labels)
    notes += dropped
    first = "treat * C(visit)" if len(order) > 1 else "treat"
    design = _full_rank(df, f"Q('{outcome}')", first, baseline, kept, labels)
    notes += design.notes
    if design.x is None or len(people) < 3 or len(df) <= len(people):
        return MixedResult(
            not_estimable=_("too few participants or repeated visits for a mixed model"),
            notes=tuple(notes),
            **counts,
        )
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            fit = sm.MixedLM(design.y, design.x, groups=df[PID]).fit(reml=True)
    except (np.linalg.LinAlgError, ValueError) as exc:
        return MixedResult(
            not_estimable=_("the mixed model could not be fitted: %(error)s") % {"error": exc},
            notes=tuple(notes),
            **counts,
        )
    if any(issubclass(w.category, ConvergenceWarning) for w in caught):
        notes.append(_("the fit reported convergence problems: read the intervals with care"))
    design_info = design.x.design_info
    contrasts, keys = [], []
    for visit in order:
        for arm, value in ((TREATED, 1.0), (CONTROL, 0.0)):
            # Averaged over the participants' own baseline values and strata: the adjusted
            # mean of the arm at the visit if everyone had been allocated to it.
            new = people.assign(treat=value, **{VISIT: visit})
            (x,) = patsy.build_design_matrices([design_info], new, return_type="dataframe")
            contrasts.append(x.to_numpy().mean(axis=0))
            keys.append((visit, arm))
    rows_l = np.array(contrasts)
    diffs = rows_l[0::2] - rows_l[1::2]
    alpha = 1 - confidence
    means_t = fit.t_test(rows_l)
    diffs_t = fit.t_test(diffs)
    mci, dci = means_t.conf_int(alpha=alpha), diffs_t.conf_int(alpha=alpha)
    by_visit = df.drop_duplicates([PID, VISIT]).groupby([VISIT, ARM]).size()
    means = [
        AdjustedMean(v, a, float(means_t.effect[i]), float(mci[i][0]), float(mci[i][1]))
        for i, (v, a) in enumerate(keys)
    ]
    differences = [
        VisitDifference(
            visit=v,
            estimate=float(diffs_t.effect[i]),
            ci_low=float(dci[i][0]),
            ci_high=float(dci[i][1]),
            p=float(np.atleast_1d(diffs_t.pvalue)[i]),
            n_treated=int(by_visit.get((v, TREATED), 0)),
            n_control=int(by_visit.get((v, CONTROL), 0)),
        )
        for i, v in enumerate(order)
    ]
    return MixedResult(differences, means, notes=tuple(notes), **counts)


# The imputation's settings: the report and the analysis script of an export use these.
MICE_IMPUTATIONS, MICE_BURN_IN, MICE_SEED = 20, 10, 20260101


@dataclass(frozen=True)
class MiceResult:
    pooled: Estimate
    n_imputed: int = 0  # participants with at least one value imputed
    missing_outcome: int = 0
    missing_baseline: int = 0
    imputations: int = 0
    seed: int = 0
    # Each imputation's arm coefficient and its variance, for checking the pooling.
    estimates: tuple[float, ...] = ()
    variances: tuple[float, ...] = ()


def mice_primary(
    rows: Iterable[dict] | pd.DataFrame,
    outcome: str,
    baseline: str,
    covariates: Sequence[str] = (),
    *,
    imputations: int = MICE_IMPUTATIONS,
    burn_in: int = MICE_BURN_IN,
    seed: int = MICE_SEED,
    labels: Mapping[str, str] | None = None,
) -> MiceResult:
    """The ANCOVA after multiple imputation of missing outcome and baseline values by
    chained equations (predictive mean matching, statsmodels' default), pooled by Rubin's
    rules; the imputation models use arm, outcome, baseline and strata.

    The draws depend on the order of the rows: rows with a ``trial_number`` are imputed in
    trial-number order, so that the report and the analysis script an export carries
    (which read the participants in different orders) impute the same values."""
    import statsmodels.api as sm
    from statsmodels.imputation.mice import MICE, MICEData

    df = _frame(rows)
    needed = [ARM, outcome, baseline, *covariates]
    if df.empty or any(c not in df.columns for c in needed):
        return MiceResult(Estimate(not_estimable=_("no participant has the data needed")))
    if ORDER in df.columns:
        df = df.sort_values(ORDER, kind="stable")
    df = _numeric(df[needed].copy(), [outcome, baseline])
    df = df[df[ARM].isin((TREATED, CONTROL))].dropna(subset=list(covariates)).copy()
    n_t, n_c = _arm_counts(df)
    miss_y, miss_b = int(df[outcome].isna().sum()), int(df[baseline].isna().sum())
    n_imputed = int((df[outcome].isna() | df[baseline].isna()).sum())
    counts: dict[str, Any] = {"n": n_t + n_c, "n_treated": n_t, "n_control": n_c}
    common: dict[str, Any] = {
        "n_imputed": n_imputed,
        "missing_outcome": miss_y,
        "missing_baseline": miss_b,
        "seed": seed,
    }
    if why := _empty_arm(n_t, n_c):
        return MiceResult(Estimate(not_estimable=why, **counts), **common)
    if not n_imputed:
        return MiceResult(
            Estimate(not_estimable=_("no missing values: nothing to impute"), **counts), **common
        )
    observed = df.dropna()
    if _empty_arm(*_arm_counts(observed)) or len(observed) < 5:
        return MiceResult(
            Estimate(not_estimable=_("too few complete records to impute from"), **counts),
            **common,
        )
    kept, notes = _constant_dropped(observed, covariates, labels)
    frame = pd.DataFrame(
        {"y": df[outcome], "treat": (df[ARM] == TREATED).astype(float), "base": df[baseline]}
    )
    for i, col in enumerate(kept):
        dummies = pd.get_dummies(df[col].astype(str), prefix=f"s{i}", drop_first=True)
        frame = frame.join(dummies.astype(float))
    frame = frame.reset_index(drop=True)
    terms = " + ".join(c for c in frame.columns if c != "y")
    try:
        data = MICEData(frame, rng=np.random.default_rng(seed))
        mice = MICE(f"y ~ {terms}", sm.OLS, data)
        fit = mice.fit(n_burnin=burn_in, n_imputations=imputations)
    except (np.linalg.LinAlgError, ValueError) as exc:
        return MiceResult(
            Estimate(
                not_estimable=_("the imputation failed: %(error)s") % {"error": exc}, **counts
            ),
            **common,
        )
    i = list(mice.exog_names).index("treat")
    low, high = fit.conf_int()[i]
    pooled = Estimate(
        estimate=float(fit.params[i]),
        ci_low=float(low),
        ci_high=float(high),
        p=float(fit.pvalues[i]),
        notes=tuple(notes),
        **counts,
    )
    return MiceResult(
        pooled,
        imputations=imputations,
        estimates=tuple(float(r.params["treat"]) for r in mice.results_list),
        variances=tuple(float(r.bse["treat"] ** 2) for r in mice.results_list),
        **common,
    )


@dataclass(frozen=True)
class RiskDifference:
    responders_treated: int
    n_treated: int
    responders_control: int
    n_control: int
    difference: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    not_estimable: str = ""
    method: str = "Newcombe hybrid score (method 10)"

    @property
    def percent_treated(self) -> float | None:
        return 100 * self.responders_treated / self.n_treated if self.n_treated else None

    @property
    def percent_control(self) -> float | None:
        return 100 * self.responders_control / self.n_control if self.n_control else None


def risk_difference(
    x_treated: int, n_treated: int, x_control: int, n_control: int, *, confidence: float = 0.95
) -> RiskDifference:
    """``x_treated / n_treated - x_control / n_control`` with Newcombe's hybrid score CI."""
    from statsmodels.stats.proportion import confint_proportions_2indep

    counts = (x_treated, n_treated, x_control, n_control)
    if not n_treated or not n_control:
        return RiskDifference(*counts, not_estimable=_empty_arm(n_treated, n_control))
    low, high = confint_proportions_2indep(
        x_treated,
        n_treated,
        x_control,
        n_control,
        method="newcomb",
        compare="diff",
        alpha=1 - confidence,
    )
    diff = x_treated / n_treated - x_control / n_control
    if not (math.isfinite(low) and math.isfinite(high)):
        return RiskDifference(*counts, difference=diff, not_estimable=_("no interval"))
    return RiskDifference(*counts, difference=diff, ci_low=float(low), ci_high=float(high))


def responders(
    rows: Iterable[dict] | pd.DataFrame,
    outcome: str,
    baseline: str,
    threshold: float,
    *,
    confidence: float = 0.95,
) -> RiskDifference:
    """Responders by arm: an improvement (``baseline`` minus ``outcome``, lower is better as
    in the ODI) of at least ``threshold``, among rows with both values; PVP minus
    conservative as a risk difference (``risk_difference``)."""
    df = _frame(rows)
    counts = {TREATED: [0, 0], CONTROL: [0, 0]}
    if not df.empty and all(c in df.columns for c in (ARM, outcome, baseline)):
        df = _numeric(df[[ARM, outcome, baseline]].copy(), [outcome, baseline]).dropna()
        for arm in counts:
            mine = df[df[ARM] == arm]
            counts[arm] = [int((mine[baseline] - mine[outcome] >= threshold).sum()), len(mine)]
    return risk_difference(*counts[TREATED], *counts[CONTROL], confidence=confidence)
