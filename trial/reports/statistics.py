"""Pure statistics for the outcome report: plain lists in, small result objects out.

No ORM and no settings here, so every function can be checked against figures computed by
hand (tests/trial/test_outcomes.py). The tests of significance come from scipy.stats, a
well-kept library; this module only chooses the test, drops missing values and names the
results.

Which tests, and why:

* change from baseline within an arm: a paired t-test (``scipy.stats.ttest_rel``) over the
  participants who answered at both visits, as in Table 2 of the Danish case series;
* the between-arm difference (the primary outcome: the schedule's primary measure at its primary
  visit, in VERTEBRA the ODI at 4 weeks): Welch's t-test and its 95% confidence interval
  (``scipy.stats.ttest_ind(equal_var=False)``). Welch does not assume that the two arms have
  the same variance, which cannot be taken for granted when one arm is
  operated and the arms may end up unequal in size (deaths, withdrawals); when the variances
  are equal it gives practically the pooled answer, so it costs nothing to use it by default;
* survival: the Kaplan-Meier estimate (``scipy.stats.ecdf`` on right-censored data).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from scipy import stats


def _clean(values: Iterable[float | None]) -> list[float]:
    return [float(v) for v in values if v is not None and not math.isnan(float(v))]


@dataclass(frozen=True)
class Summary:
    """Mean ± SD (n); SD is the sample standard deviation (n - 1 in the denominator)."""

    n: int
    mean: float | None
    sd: float | None


def summarise(values: Iterable[float | None]) -> Summary:
    data = _clean(values)
    n = len(data)
    if n == 0:
        return Summary(0, None, None)
    mean = math.fsum(data) / n
    if n == 1:
        return Summary(1, mean, None)
    sd = math.sqrt(math.fsum((x - mean) ** 2 for x in data) / (n - 1))
    return Summary(n, mean, sd)


@dataclass(frozen=True)
class PairedResult:
    """Change from ``before`` to ``after`` in the same participants."""

    n: int
    mean_before: float | None
    mean_after: float | None
    mean_change: float | None
    sd_change: float | None
    t: float | None
    p: float | None


def paired_change(pairs: Iterable[tuple[float | None, float | None]]) -> PairedResult:
    """Paired t-test over the pairs where both values are present (needs n >= 2)."""
    complete = [(float(a), float(b)) for a, b in pairs if a is not None and b is not None]
    n = len(complete)
    if n == 0:
        return PairedResult(0, None, None, None, None, None, None)
    before = [a for a, _b in complete]
    after = [b for _a, b in complete]
    change = summarise(b - a for a, b in complete)
    t = p = None
    if n >= 2 and change.sd:  # a zero SD (all changes equal) has no t statistic
        result = stats.ttest_rel(after, before)
        t, p = float(result.statistic), float(result.pvalue)
    return PairedResult(
        n=n,
        mean_before=math.fsum(before) / n,
        mean_after=math.fsum(after) / n,
        mean_change=change.mean,
        sd_change=change.sd,
        t=t,
        p=p,
    )


@dataclass(frozen=True)
class Difference:
    """``mean(a) - mean(b)`` with its confidence interval (Welch's t)."""

    n_a: int
    n_b: int
    difference: float | None
    ci_low: float | None
    ci_high: float | None
    t: float | None
    df: float | None
    p: float | None
    confidence: float = 0.95


def welch_difference(
    a: Sequence[float | None], b: Sequence[float | None], *, confidence: float = 0.95
) -> Difference:
    """Difference in means of two independent groups, Welch's t-test and its CI."""
    xa, xb = _clean(a), _clean(b)
    if not xa or not xb:
        return Difference(len(xa), len(xb), None, None, None, None, None, None, confidence)
    diff = math.fsum(xa) / len(xa) - math.fsum(xb) / len(xb)
    if len(xa) < 2 or len(xb) < 2 or (summarise(xa).sd == 0 and summarise(xb).sd == 0):
        return Difference(len(xa), len(xb), diff, None, None, None, None, None, confidence)
    result = stats.ttest_ind(xa, xb, equal_var=False)
    ci = result.confidence_interval(confidence_level=confidence)
    return Difference(
        n_a=len(xa),
        n_b=len(xb),
        difference=diff,
        ci_low=float(ci.low),
        ci_high=float(ci.high),
        t=float(result.statistic),
        df=float(result.df),
        p=float(result.pvalue),
        confidence=confidence,
    )


@dataclass(frozen=True)
class SurvivalPoint:
    day: int
    survival: float | None  # Kaplan-Meier S(day), 0..1; None when it cannot be estimated
    at_risk: int  # still followed (alive and not censored) at ``day``
    events: int  # deaths up to and including ``day``
    # Nobody has been followed as far as ``day`` and someone's fate there is unknown: the
    # curve is not defined that far, and carrying its last value forward would claim
    # knowledge nobody has.
    not_reached: bool = False
    longest: int = 0  # days of the longest follow-up


def kaplan_meier(times: Sequence[float], died: Sequence[bool], days: Iterable[int]) -> list:
    """Kaplan-Meier survival at each of ``days``.

    ``times`` are days from randomisation to death (``died`` true) or to the last day the
    participant was known alive (censored: last contact, withdrawal).
    """
    if len(times) != len(died):
        raise ValueError("times and died must have the same length")
    days = list(days)
    if not times:
        return [SurvivalPoint(d, None, 0, 0) for d in days]
    uncensored = [float(t) for t, d in zip(times, died, strict=True) if d]
    censored = [float(t) for t, d in zip(times, died, strict=True) if not d]
    if uncensored:
        sf = stats.ecdf(stats.CensoredData(uncensored=uncensored, right=censored)).sf
        values = [float(sf.evaluate(d)) for d in days]
    else:
        values = [1.0 for _d in days]
    longest = max(times)
    # The curve ends at the longest follow-up. Beyond it, 0 is known only when every
    # participant died; with anyone censored (lost, withdrawn, still followed), the formal
    # estimate after a last death is 0 with nobody at risk, which reads as a fact nobody has
    # observed, so there is no estimate there.
    points = []
    for d, s in zip(days, values, strict=True):
        beyond = d > longest and bool(censored)
        points.append(
            SurvivalPoint(
                day=d,
                survival=None if beyond else s,
                at_risk=sum(1 for t in times if t > d),
                events=sum(1 for t in uncensored if t <= d),
                not_reached=beyond,
                longest=int(longest),
            )
        )
    return points


@dataclass(frozen=True)
class Proportion:
    n: int
    total: int

    @property
    def percent(self) -> float | None:
        return 100.0 * self.n / self.total if self.total else None
