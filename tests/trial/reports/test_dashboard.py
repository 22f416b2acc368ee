"""The coordinator's dashboard and the outcome report: who may open them, the CONSORT numbers
on known data, a constant number of queries as the trial grows, and the PDF."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from followup.models import ContactStatus
from tests.conftest import verified_client
from tests.factories import (
    ParticipantFactory,
    allocate,
    outcome_contact,
    outcome_scores,
    randomised_with_outcomes,
)
from trial.models import Crossover, Death, Participant, ParticipantStatus, Role, Withdrawal
from trial.reports import outcomes
from trial.reports.consort_flow import consort_flow

URLS = ("trial:dashboard", "trial:outcome_report", "trial:outcome_report_pdf")


@pytest.mark.parametrize("name", URLS)
@pytest.mark.parametrize("role", [Role.HEMATOLOGIST, Role.SURGEON, Role.NURSE])
def test_it_refuses_site_roles(world, name, role):
    assert verified_client(world.users[role]).get(reverse(name)).status_code == 403


@pytest.mark.parametrize("name", URLS)
@pytest.mark.parametrize("role", [Role.COORDINATOR, Role.DATA_MANAGER, Role.MONITOR])
def test_central_roles_open_it(world, name, role):
    response = verified_client(world.users[role]).get(reverse(name))
    assert response.status_code == 200


def test_it_is_the_coordinators_first_navigation_entry(world):
    response = verified_client(world.users[Role.COORDINATOR]).get(reverse("home"))
    assert response.context["nav_items"][0]["name"] == "trial:dashboard"


def test_the_consort_flow_counts_known_data(world):
    user = world.users[Role.COORDINATOR]
    pvp = randomised_with_outcomes(world.own, 3, arm="pvp", user=user)
    conservative = randomised_with_outcomes(
        world.other, 2, arm="conservative", start=200, user=user
    )
    today = timezone.localdate()
    Crossover.objects.create(
        participant=conservative[0], crossover_date=today, reason="pain", recorded_by=user
    )
    Death.objects.create(
        participant=pvp[0], date_of_death=today, relation="myeloma", recorded_by=user
    )
    Withdrawal.objects.create(
        participant=conservative[1],
        withdrawn_on=today,
        reason="moved abroad",
        data_use_allowed=False,
        recorded_by=user,
    )
    outcome_contact(pvp[1], "M3", today - dt.timedelta(days=200), 91)

    flow = consort_flow()
    arms = {a.arm: a for a in flow.arms}
    assert flow.primary_visit == "W4"
    assert [code for code, _label in flow.followed_visits] == ["W4", "M3", "M12"]
    assert (arms["pvp"].randomised, arms["conservative"].randomised) == (3, 2)
    assert (arms["pvp"].crossed_over, arms["conservative"].crossed_over) == (0, 1)
    assert arms["pvp"].followed_up == {"W4": 3, "M3": 1}
    assert arms["pvp"].died == 1 and arms["conservative"].died == 0
    assert arms["conservative"].withdrawn == 1 and arms["conservative"].withdrawn_no_data == 1
    # Analysed: primary outcome there, data use allowed (the withdrawal said no).
    assert (arms["pvp"].analysed, arms["conservative"].analysed) == (3, 1)

    with translation.override("en"):
        page = verified_client(user).get(reverse("trial:dashboard")).content.decode()
    assert 'data-panel="consort"' in page
    assert 'data-row="crossed_over"' in page


def test_the_outcome_report_compares_the_arms_at_4_weeks(world, settings):
    settings.LANGUAGE_CODE = "en"
    user = world.users[Role.COORDINATOR]
    randomised_with_outcomes(world.own, 3, arm="pvp", user=user)
    randomised_with_outcomes(world.other, 3, arm="conservative", start=200, user=user)
    report = outcomes.outcome_report()
    primary = next(c for c in report["comparisons"] if c.primary)
    assert primary.measure == "odi"
    assert primary.result.difference == pytest.approx(40 - 50)
    odi_w4 = next(r for r in report["outcomes"] if r.measure == "odi" and r.visit == "W4")
    assert [c.n_pairs for c in odi_w4.cells] == [3, 3]
    with translation.override("en"):
        page = verified_client(user).get(reverse("trial:outcome_report")).content.decode()
    assert "Baseline characteristics" in page
    # Numbers are localised (Danish by default: a decimal comma).
    assert "40,0 ± 0,0 (3)" in page or "40.0 ± 0.0 (3)" in page
    assert "* ODI (0-100) at this visit is the primary outcome." in page
    with translation.override("en"):
        dashboard = verified_client(user).get(reverse("trial:dashboard")).content.decode()
    assert "Analysed (primary outcome: ODI (0-100) at W4)" in dashboard


def test_with_the_kyphoplasty_schedule_the_primary_analysis_is_the_back_pain_vas_at_d15(
    world, settings
):
    # The kyphoplasty example's primary visit, D15, collects the back-pain VAS and no ODI: its
    # schedule names the VAS as the primary measure, and every reader follows it.
    settings.FOLLOWUP_SCHEDULE = "kyphoplasty_example"
    settings.LANGUAGE_CODE = "en"
    user = world.users[Role.COORDINATOR]
    day0 = timezone.localdate() - dt.timedelta(days=200)
    at = timezone.make_aware(dt.datetime.combine(day0, dt.time(10)))
    # (arm, ODI at D15, back-pain VAS at D15): the ODI points the other way, so a report still
    # analysing the ODI would give +10, not -40.
    answers = [("pvp", 50, 20), ("pvp", 50, 30), ("conservative", 40, 60), ("conservative", 40, 70)]
    for sequence, (arm, odi, back) in enumerate(answers, start=100):
        participant = ParticipantFactory(site=world.own, sequence=sequence)
        allocate(participant, at, arm=arm, user=user)
        outcome_scores(participant, "BL", 60, vas=(70, 40))
        outcome_scores(participant, "D15", odi, vas=(back, 40))
    # An ODI at D15 but no VAS: not analysed for the primary outcome.
    no_vas = ParticipantFactory(site=world.own, sequence=200)
    allocate(no_vas, at, arm="conservative", user=user)
    outcome_scores(no_vas, "D15", 40, vas=None)

    report = outcomes.outcome_report()
    assert report["primary_visit"] == "D15"
    (primary,) = [c for c in report["comparisons"] if c.primary]
    assert primary.measure == "vas_back"
    assert primary.result.difference == pytest.approx(25 - 65)
    odi = next(c for c in report["comparisons"] if c.measure == "odi")
    assert odi.result.difference == pytest.approx(50 - 40)
    flow = report["flow"]
    assert (flow.primary_visit, flow.primary_measure) == ("D15", "vas_back")
    assert [a.analysed for a in flow.arms] == [2, 2]

    client = verified_client(user)
    with translation.override("en"):
        page = client.get(reverse("trial:outcome_report")).content.decode()
        dashboard = client.get(reverse("trial:dashboard")).content.decode()
    assert "* Back pain VAS (0-100) at this visit is the primary outcome." in page
    assert "ODI (0-100) at this visit" not in page
    assert '<tr data-measure="vas_back" class="fw-semibold">' in page
    assert "Analysed (primary outcome: Back pain VAS (0-100) at D15)" in dashboard


def _dashboard_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("trial:dashboard"))
    assert response.status_code == 200
    return len(queries)


def test_the_dashboard_runs_the_same_number_of_queries_for_5_and_50_participants(world):
    user = world.users[Role.COORDINATOR]
    client = verified_client(user)
    randomised_with_outcomes(world.own, 5, arm="pvp", user=user)
    with_5 = _dashboard_queries(client)
    randomised_with_outcomes(world.own, 45, arm="conservative", start=300, user=user)
    # Overdue contacts too, so that list is exercised.
    for p in Participant.objects.filter(status=ParticipantStatus.RANDOMISED)[:10]:
        outcome_contact(
            p, "W8", timezone.localdate() - dt.timedelta(days=60), 56, ContactStatus.DUE
        )
    with_50 = _dashboard_queries(client)
    assert with_5 == with_50


def test_the_outcome_report_data_take_a_constant_number_of_queries(world):
    user = world.users[Role.COORDINATOR]
    randomised_with_outcomes(world.own, 5, arm="pvp", user=user)
    with CaptureQueriesContext(connection) as five:
        outcomes.outcome_report()
    randomised_with_outcomes(world.other, 45, arm="conservative", start=300, user=user)
    with CaptureQueriesContext(connection) as fifty:
        outcomes.outcome_report()
    assert len(five) == len(fifty)


def test_the_pdf_renders(world):
    user = world.users[Role.DATA_MANAGER]
    randomised_with_outcomes(world.own, 3, arm="pvp", user=user)
    randomised_with_outcomes(world.other, 3, arm="conservative", start=200, user=user)
    response = verified_client(user).get(reverse("trial:outcome_report_pdf"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert len(response.content) > 10_000


def test_the_dashboard_runs_the_same_number_of_queries_for_few_and_many_in_screening(world):
    client = verified_client(world.users[Role.COORDINATOR])
    for i in range(2):
        ParticipantFactory(site=world.own, sequence=500 + i)
    few = _dashboard_queries(client)
    for i in range(10):
        ParticipantFactory(site=world.own, sequence=600 + i)
    assert _dashboard_queries(client) == few


def test_it_lists_serious_adverse_events_until_acknowledged(world):
    from trial.models import AdverseEvent

    user = world.users[Role.COORDINATOR]
    (participant,) = randomised_with_outcomes(world.own, 1, arm="pvp", user=user)
    common = {
        "participant": participant,
        "onset_date": timezone.localdate(),
        "grade": 3,
        "relation": "possible",
        "outcome": "ongoing",
        "recorded_by": user,
    }
    open_sae = AdverseEvent.objects.create(description="New fracture L2", serious=True, **common)
    AdverseEvent.objects.create(description="Bruise at needle site", serious=False, **common)
    AdverseEvent.objects.create(
        description="Pneumonia", serious=True, acknowledged_at=timezone.now(), **common
    )
    html = verified_client(user).get(reverse("trial:dashboard")).content.decode()
    assert open_sae.description in html
    assert "Bruise at needle site" not in html
    assert "Pneumonia" not in html


def test_the_report_gives_cement_leakage_per_treated_vertebra(world):
    from trial.models import Procedure, ProcedureLevel

    user = world.users[Role.COORDINATOR]
    first, second = randomised_with_outcomes(world.own, 2, arm="pvp", user=user)
    # 3 vertebrae treated in two patients, one with leakage: 1/3 (33.3 %).
    for participant, levels in ((first, [("L1", True), ("L2", False)]), (second, [("T12", False)])):
        procedure = Procedure.objects.create(
            participant=participant,
            procedure_date=timezone.localdate(),
            facility="AAR spine",
            anaesthesia="local",
            biopsy_taken=False,
            complications=False,
            recorded_by=user,
        )
        for level, leakage in levels:
            ProcedureLevel.objects.create(
                procedure=procedure,
                level=level,
                cement_volume_ml=3,
                leakage=leakage,
                posterior_wall_defect=False,
            )
    report = outcomes.outcome_report()
    assert (report["leakage"].n, report["leakage"].total) == (1, 3)
    assert report["leakage_text"] in ("1/3 (33,3)", "1/3 (33.3)")


@pytest.fixture(autouse=True)
def _pages_in_english(settings):
    # Assertions on page text are in English; the trial's default language is Danish.
    settings.LANGUAGE_CODE = "en"
