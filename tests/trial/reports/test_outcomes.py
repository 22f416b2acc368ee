"""The outcome report's statistics against figures computed by hand (trial.reports.statistics)."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from trial.reports import outcomes, statistics
from trial.reports.outcome_data import Subject


def test_it_gives_mean_and_sample_sd():
    # 2 4 4 4 5 5 7 9: sum 40, mean 5; squared deviations 9+1+1+1+0+0+4+16 = 32;
    # sample variance 32 / 7 = 4.5714; SD = sqrt(4.5714) = 2.1381.
    result = statistics.summarise([2, 4, 4, 4, 5, 5, 7, 9, None])
    assert result.n == 8
    assert result.mean == 5
    assert result.sd == pytest.approx(2.13809, abs=1e-5)


def test_it_leaves_sd_empty_for_fewer_than_two_values():
    assert statistics.summarise([]) == statistics.Summary(0, None, None)
    assert statistics.summarise([3.5]) == statistics.Summary(1, 3.5, None)


def test_the_paired_t_test_matches_the_hand_computation():
    # before 10 20 30 40, after 12 25 31 48 -> changes 2 5 1 8.
    # Mean change 4; deviations -2 1 -3 4, squares 4+1+9+16 = 30; variance 30/3 = 10;
    # SD 3.1623; SE = 3.1623 / sqrt(4) = 1.5811; t = 4 / 1.5811 = 2.5298 with 3 df.
    # Table (df 3): t(0.10) = 2.353 < 2.53 < t(0.05) = 3.182, so 0.05 < p < 0.10.
    # Exactly, for 3 df: p = 1 - (2/pi) (theta + sin theta cos theta), theta = atan(t / sqrt 3)
    # = atan(1.46059) = 0.97044; sin cos = 1.46059 / (1 + 1.46059^2) = 0.46615;
    # p = 1 - 0.63662 * 1.43659 = 0.0854.
    result = statistics.paired_change([(10, 12), (20, 25), (30, 31), (40, 48), (50, None)])
    assert result.n == 4
    assert result.mean_before == 25
    assert result.mean_after == 29
    assert result.mean_change == 4
    assert result.sd_change == pytest.approx(math.sqrt(10))
    assert result.t == pytest.approx(2.52982, abs=1e-5)
    theta = math.atan(result.t / math.sqrt(3))
    exact_p = 1 - (2 / math.pi) * (theta + math.sin(theta) * math.cos(theta))
    assert result.p == pytest.approx(exact_p, abs=1e-9)
    assert result.p == pytest.approx(0.0854, abs=1e-4)


def test_the_paired_test_needs_two_pairs_and_some_spread():
    assert statistics.paired_change([(1, 2)]).p is None
    same = statistics.paired_change([(1, 2), (3, 4)])
    assert same.mean_change == 1 and same.t is None  # no spread, no t statistic


def test_welchs_difference_matches_the_hand_computation():
    # a = 1..5: mean 3, variance 2.5; b = 2 4 6 8: mean 5, variance 20/3 = 6.6667.
    # Difference -2; SE^2 = 2.5/5 + 6.6667/4 = 0.5 + 1.6667 = 2.1667, SE = 1.47196;
    # t = -2 / 1.47196 = -1.35873.
    # Welch df = 2.1667^2 / (0.5^2/4 + 1.6667^2/3) = 4.6944 / 0.98843 = 4.7494.
    # 95% CI = -2 +/- t(0.975; 4.75) * SE, with t(0.975) between 2.571 (df 5) and 2.776 (df 4).
    result = statistics.welch_difference([1, 2, 3, 4, 5], [2, 4, 6, 8, None])
    assert (result.n_a, result.n_b) == (5, 4)
    assert result.difference == pytest.approx(-2)
    assert result.t == pytest.approx(-1.35873, abs=1e-5)
    assert result.df == pytest.approx(4.7494, abs=1e-4)
    assert (result.ci_low + result.ci_high) / 2 == pytest.approx(-2)
    half = (result.ci_high - result.ci_low) / 2
    assert 2.571 * 1.47196 < half < 2.776 * 1.47196
    assert result.p > 0.2  # |t| = 1.36 is below t(0.10) for 4 or 5 df (2.132, 2.015)


def test_welchs_difference_without_two_values_per_arm_has_no_interval():
    result = statistics.welch_difference([40], [30, 35])
    assert result.difference == pytest.approx(40 - 32.5)
    assert result.ci_low is None and result.p is None
    assert statistics.welch_difference([], [1, 2]).difference is None


def test_kaplan_meier_matches_the_hand_computation():
    # days 1 2 2 3 4 5, deaths at 1, 2 and 3; censored at 2, 4, 5.
    # day 1: 6 at risk, 1 dies -> S = 5/6 = 0.8333
    # day 2: 5 at risk (the one censored at 2 still counts), 1 dies -> 0.8333 * 4/5 = 0.6667
    # day 3: 3 at risk, 1 dies -> 0.6667 * 2/3 = 0.4444; no deaths after that.
    times = [1, 2, 2, 3, 4, 5]
    died = [True, True, False, True, False, False]
    points = statistics.kaplan_meier(times, died, [0, 1, 2, 3, 5, 10])
    assert [round(p.survival, 4) for p in points[:5]] == [1.0, 0.8333, 0.6667, 0.4444, 0.4444]
    assert [p.events for p in points] == [0, 1, 2, 3, 3, 3]
    assert [p.at_risk for p in points] == [6, 5, 3, 2, 0, 0]
    assert points[5].survival is None and points[5].not_reached  # beyond day 5, censored


def test_kaplan_meier_without_deaths_or_people():
    assert statistics.kaplan_meier([5, 9], [False, False], [3])[0].survival == 1.0
    assert statistics.kaplan_meier([], [], [3])[0].survival is None


def test_the_case_series_leakage_reads_as_in_its_table_1():
    # Table 1 of the case series: cement leakage 12/81 (14.8).
    assert round(statistics.Proportion(12, 81).percent, 1) == 14.8
    assert statistics.Proportion(0, 0).percent is None


def _subject(**kwargs) -> Subject:
    defaults = {
        "pk": 1,
        "trial_number": "AAR-001",
        "site_code": "AAR",
        "arm": "pvp",
        "stratum": "A1N",
        "randomised_on": dt.date(2026, 1, 1),
        "sex": "F",
        "age": 70,
    }
    return Subject(**(defaults | kwargs))


def test_survival_time_is_censored_at_the_last_contact_or_the_withdrawal():
    day0 = dt.date(2026, 1, 1)
    subjects = [
        _subject(died_on=day0 + dt.timedelta(days=40)),
        _subject(last_contact=day0 + dt.timedelta(days=91)),
        _subject(last_contact=day0 + dt.timedelta(days=10), withdrawn_on=day0 + dt.timedelta(50)),
        _subject(),  # nothing since randomisation
    ]
    times, died = outcomes.survival_times(subjects, today=dt.date(2027, 1, 1))
    assert times == [40, 91, 50, 0]
    assert died == [True, False, False, False]


def test_kaplan_meier_is_not_carried_beyond_the_longest_follow_up():
    # Deaths at 10 and 20; the longest follow-up (30 days) ended alive: at day 40 nobody knows.
    points = statistics.kaplan_meier([10, 20, 30], [True, True, False], [25, 40])
    assert round(points[0].survival, 4) == round(2 / 3 * 1 / 2, 4)
    assert points[1].survival is None and points[1].not_reached and points[1].longest == 30
    # When the longest follow-up ended in a death but someone was censored earlier, the
    # formal estimate (0, nobody at risk) claims what nobody observed: no estimate either.
    points = statistics.kaplan_meier([10, 30], [False, True], [40])
    assert points[0].survival is None and points[0].not_reached and points[0].longest == 30
    # When everyone died, 0 is known, not extrapolated.
    points = statistics.kaplan_meier([10, 30], [True, True], [40])
    assert points[0].survival == 0.0 and not points[0].not_reached
    # Without deaths, the curve is 1 up to the longest follow-up and unknown after it.
    assert statistics.kaplan_meier([5, 9], [False, False], [9, 10])[0].survival == 1.0
    assert statistics.kaplan_meier([5, 9], [False, False], [9, 10])[1].not_reached


def test_every_primary_measure_a_schedule_may_name_is_a_measure_of_the_report():
    from trial.protocol.schedule import PRIMARY_MEASURES

    assert set(PRIMARY_MEASURES) <= set(outcomes.MEASURES)
    assert set(PRIMARY_MEASURES) <= set(outcomes.measure_labels())
