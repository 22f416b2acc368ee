"""The outcome report's adjusted analyses on recorded data: populations (per protocol leaves
out an early crossover and an allocated PVP not received), ANCOVA beside Welch, MICE, the
responders at TRIAL_ODI_MCID, the mixed models and their chart, on the page and in the PDF."""

from __future__ import annotations

import datetime as dt
import subprocess

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from tests.conftest import verified_client
from tests.factories import ParticipantFactory, ProcedureFactory, allocate, outcome_scores
from trial.models import Crossover, Role
from trial.reports import adjusted, outcomes
from trial.reports import models_analysis as models
from trial.reports import populations as pops

# (arm, ODI at baseline, W4, M3): PVP improves by 20 to 26 points, conservative by 4 to 10.
PATIENTS = [
    ("pvp", 60, 38, 35),
    ("pvp", 55, 33, 30),
    ("pvp", 70, 46, 44),
    ("pvp", 48, 28, 25),
    ("pvp", 66, 40, 41),
    ("pvp", 58, 35, 33),
    ("conservative", 62, 55, 50),
    ("conservative", 52, 47, 45),
    ("conservative", 68, 60, 58),
    ("conservative", 50, 44, 41),
    ("conservative", 64, 57, 52),
    ("conservative", 57, 49, 48),
]


@pytest.fixture
def recorded(world):
    user = world.users[Role.COORDINATOR]
    day0 = timezone.localdate() - dt.timedelta(days=120)
    at = timezone.make_aware(dt.datetime.combine(day0, dt.time(10)))
    made = []
    for i, (arm, bl, w4, m3) in enumerate(PATIENTS):
        p = ParticipantFactory(site=world.own if i % 2 else world.other, sequence=100 + i)
        allocate(p, at, arm=arm, user=user)
        outcome_scores(p, "BL", bl, vas=(70 - i, 30 + i), eq5d=f"{0.3 + i / 100:.3f}")
        outcome_scores(p, "W4", w4, vas=(50 - i, 25 + i), eq5d=f"{0.5 + i / 90:.3f}")
        outcome_scores(p, "M3", m3, vas=(45 - 2 * i, 20 + i), eq5d=f"{0.55 + i / 80:.3f}")
        made.append(p)
    # Every PVP done except the last one; one conservative crossed over on day 10.
    for p in made[:5]:
        ProcedureFactory(participant=p, procedure_date=day0 + dt.timedelta(days=5))
    Crossover.objects.create(
        participant=made[6], crossover_date=day0 + dt.timedelta(days=10), reason="pain",
        recorded_by=user, early_override_reason="severe pain", early_override_by=user,
    )  # fmt: skip
    return made


def test_the_populations_follow_their_definitions(recorded, settings):
    report = outcomes.outcome_report()["models"]
    by = {row["code"]: row["estimate"] for row in report["populations"]}
    assert (by[pops.ITT].n_treated, by[pops.ITT].n_control) == (6, 6)
    # As treated: the PVP without procedure is conservative, the early crossover (no
    # procedure recorded) stays conservative.
    assert (by[pops.AS_TREATED].n_treated, by[pops.AS_TREATED].n_control) == (5, 7)
    # Per protocol: both left out.
    assert (by[pops.PER_PROTOCOL].n_treated, by[pops.PER_PROTOCOL].n_control) == (5, 5)
    counts = dict(report["exclusions"])
    labels = pops.exclusion_labels()
    assert counts[labels[pops.PVP_NOT_RECEIVED]] == 1
    assert counts[labels[pops.EARLY_CROSSOVER]] == 1
    assert counts[labels[pops.INELIGIBLE]] == 0


def test_the_primary_ancova_is_the_model_on_the_reports_rows(recorded):
    with translation.override("en"):
        report = outcomes.outcome_report()["models"]
    itt = report["populations"][0]["estimate"]
    # The strata are the same for everyone here (A1N): only the site adjusts, and it is said,
    # naming the factors as people do (the strata's labels), not by their codes.
    assert report["covariates"] == [
        "Cohort",
        "Planned PVP levels",
        "Earlier vertebral fractures not planned for PVP",
        "Site",
    ]
    assert any(n.startswith("Cohort left out of the model") for n in itt.notes), itt.notes
    assert not any("planned_levels" in n for n in itt.notes)
    rows = [
        {"arm": arm, "y": w4, "base": bl, "site": "AAR" if i % 2 else "ODE"}
        for i, (arm, bl, w4, _m3) in enumerate(PATIENTS)
    ]
    assert itt.estimate == pytest.approx(models.ancova(rows, "y", "base", ["site"]).estimate)
    assert itt.estimate < -10


def test_responders_use_the_mcid_setting(recorded, settings):
    settings.TRIAL_ODI_MCID = 10
    rd = adjusted.responders(outcomes.outcome_data())["result"]
    assert (rd.responders_treated, rd.n_treated) == (6, 6)
    assert (rd.responders_control, rd.n_control) == (0, 6)
    settings.TRIAL_ODI_MCID = 5
    rd = adjusted.responders(outcomes.outcome_data())["result"]
    # Improvements of the conservative arm: 7, 5, 8, 6, 7, 8: all at least 5.
    assert rd.responders_control == 6


def test_the_page_and_the_pdf_show_the_adjusted_figures(recorded, world, settings):
    settings.LANGUAGE_CODE = "en"
    client = verified_client(world.users[Role.COORDINATOR])
    with translation.override("en"):
        report = outcomes.outcome_report()["models"]
    itt_text = report["populations"][0]["ancova"]
    with translation.override("en"):
        page = client.get(reverse("trial:outcome_report")).content.decode()
        pdf = client.get(reverse("trial:outcome_report_pdf"))
    assert 'data-testid="population-table"' in page
    assert "Per protocol" in page and "Newcombe" in page
    assert "no missing values: nothing to impute" in page
    assert '<svg xmlns="http://www.w3.org/2000/svg"' in page
    assert 'data-testid="mixed-vas_back"' in page
    assert "Software: Python 3." in page and "statsmodels" in page
    text = subprocess.run(
        ["pdftotext", "-raw", "-", "-"], input=pdf.content, capture_output=True, check=True
    ).stdout.decode()
    assert "Adjusted analyses" in text
    # The primary ANCOVA's estimate as the page shows it (locale of the PDF render).
    estimate = itt_text.split(" (")[0]
    assert estimate.replace(",", ".") in text.replace(",", ".")
    assert "statsmodels" in text and "Per protocol" in text


def test_the_report_with_one_arm_only_says_not_estimable(world, settings):
    settings.LANGUAGE_CODE = "en"
    user = world.users[Role.COORDINATOR]
    at = timezone.now() - dt.timedelta(days=60)
    for i in range(3):
        p = ParticipantFactory(site=world.own, sequence=300 + i)
        allocate(p, at, arm="pvp", user=user)
        outcome_scores(p, "BL", 50 + i)
        outcome_scores(p, "W4", 30 + i)
    client = verified_client(user)
    with translation.override("en"):
        response = client.get(reverse("trial:outcome_report"))
    assert response.status_code == 200
    assert "not estimable: no participant in the conservative arm" in response.content.decode()
