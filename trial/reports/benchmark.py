"""Benchmark of the outcome report: `python manage.py outcome_report_benchmark --participants N`.

Simulates N randomised participants with full follow-up (every questionnaire of every visit of
the schedule in force, spread over the strata and three sites, a true ODI effect of PVP) as the
report's plain data (trial.reports.outcome_data.Subject), then times the report with every
model (ANCOVA per population, MICE, the mixed models) rendered to HTML, and the same to PDF.
The database reads are not in the figure: they are a constant number of queries
(tests/trial/reports/test_dashboard.py) and the exports benchmark measures reads at scale.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import numpy as np
from django.template.loader import render_to_string
from django.utils import translation

from trial.protocol import active_schedule
from trial.protocol.schedule import PRIMARY_MEASURES
from trial.reports.outcome_data import CONSERVATIVE, PVP, OutcomeData, Subject

SITES = ("AAR", "ODE", "RH")


def simulated_data(n: int, seed: int = 2026) -> OutcomeData:
    rng = np.random.default_rng(seed)
    schedule = active_schedule()
    visits: list[dict[str, Any]] = [
        {"code": v.code, "label": v.label, "day": v.day, "primary": v.primary,
         "collects": v.collects}
        for v in schedule.visits
    ]  # fmt: skip
    day0 = dt.date(2025, 1, 6)
    subjects = []
    for i in range(n):
        arm = PVP if i % 2 else CONSERVATIVE
        levels = {
            "cohort": "A" if rng.random() < 0.6 else "B",
            "planned_levels": "1" if rng.random() < 0.5 else "2",
            "earlier_fractures": "Y" if rng.random() < 0.3 else "N",
        }
        subject = Subject(
            pk=i + 1,
            trial_number=f"SIM-{i + 1:04d}",
            site_code=SITES[i % len(SITES)],
            arm=arm,
            as_treated=arm,
            stratum="".join(levels.values()),
            stratum_levels=levels,
            randomised_on=day0 + dt.timedelta(days=i % 300),
            sex="F" if i % 2 else "M",
            age=int(rng.integers(45, 85)),
        )
        person = float(rng.normal(0, 8))
        base = {"odi": float(np.clip(rng.normal(55, 14), 0, 100)),
                "vas_back": float(np.clip(rng.normal(70, 15), 0, 100)),
                "vas_leg": float(np.clip(rng.normal(40, 20), 0, 100)),
                "eq5d_index": float(np.clip(rng.normal(0.45, 0.2), -0.6, 1))}  # fmt: skip
        subject.scores["BL"] = dict(base)
        for v in visits:
            if v["code"] == "BL":
                continue
            values = {}
            for measure, item in PRIMARY_MEASURES.items():
                if item not in (v["collects"] or ()):
                    continue
                if measure == "eq5d_index":
                    gain = 0.08 if arm == PVP else 0.03
                    values[measure] = float(
                        np.clip(base[measure] + gain + rng.normal(0, 0.12), -0.6, 1)
                    )
                else:
                    drop = 18 if arm == PVP else 8
                    values[measure] = float(
                        np.clip(0.7 * base[measure] - drop + person + rng.normal(0, 9) + 15, 0, 100)
                    )
            if values:
                subject.scores[v["code"]] = values
                subject.visits_done.add(v["code"])
        subjects.append(subject)
    return OutcomeData(
        subjects=subjects,
        baseline_visit="BL",
        visits=visits,
        arm_labels={PVP: "PVP", CONSERVATIVE: "Conservative"},
        leakage=None,
        missing=[],
        primary_measure=schedule.primary_measure,
    )


def run(stdout, *, participants: int = 1000) -> dict:
    from weasyprint import HTML

    from trial.reports import outcomes

    data = simulated_data(participants)
    figures = {}
    with translation.override("en"):
        start, cpu = time.perf_counter(), time.process_time()
        html = render_to_string(
            "trial/dashboard/outcome_report_pdf.html", outcomes.outcome_report(data=data)
        )
        figures["report_seconds"] = time.perf_counter() - start
        figures["report_cpu"] = time.process_time() - cpu
        start, cpu = time.perf_counter(), time.process_time()
        html = render_to_string(
            "trial/dashboard/outcome_report_pdf.html", outcomes.outcome_report(data=data)
        )
        pdf = HTML(string=html).write_pdf()
        figures["pdf_seconds"] = time.perf_counter() - start
        figures["pdf_cpu"] = time.process_time() - cpu
    figures["pdf_bytes"] = len(pdf)
    stdout.write(
        f"Outcome report, {participants} simulated participants with full follow-up: "
        f"report (models and HTML) {figures['report_seconds']:.1f} s "
        f"({figures['report_cpu']:.1f} s CPU); "
        f"PDF (models, HTML and WeasyPrint) {figures['pdf_seconds']:.1f} s "
        f"({figures['pdf_cpu']:.1f} s CPU), {figures['pdf_bytes'] // 1024} KiB."
    )
    return figures
