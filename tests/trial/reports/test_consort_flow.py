"""The complete CONSORT 2010 flow: hand-counted boxes on known data, the figure on the page,
and, for random data, every stage of every arm adding up to the arm (hypothesis)."""

from __future__ import annotations

import datetime as dt

from django.urls import reverse
from django.utils import timezone, translation
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import verified_client
from tests.factories import (
    ParticipantFactory,
    ProcedureFactory,
    ScreeningLogEntryFactory,
    outcome_scores,
    randomised,
)
from trial.models import Crossover, Death, Role, Withdrawal
from trial.reports.consort_figure import consort_figure
from trial.reports.consort_flow import (
    ANALYSED,
    ConsortFlow,
    arm_flows,
    consort_flow,
)
from trial.reports.outcome_data import OutcomeData, Subject
from trial.screening.selectors import ConsortCounts


def _known_flow(world):
    user = world.users[Role.NURSE]
    today = timezone.localdate()
    ScreeningLogEntryFactory(site=world.own, decision="not_eligible")
    ScreeningLogEntryFactory(site=world.own, decision="not_eligible")
    ScreeningLogEntryFactory(site=world.own, decision="declined", reason="No wish")
    # PVP: treated and analysed; died untreated; withdrawn by the investigator, no data use.
    a = randomised(ParticipantFactory(site=world.own, sequence=21), arm="pvp", days_ago=200)
    ProcedureFactory(participant=a)
    outcome_scores(a, "W4", 40)
    b = randomised(ParticipantFactory(site=world.own, sequence=22), arm="pvp", days_ago=200)
    Death.objects.create(
        participant=b,
        date_of_death=today - dt.timedelta(days=190),
        relation="myeloma",
        recorded_by=user,
    )
    c = randomised(ParticipantFactory(site=world.own, sequence=23), arm="pvp", days_ago=200)
    Withdrawal.objects.create(
        participant=c,
        withdrawn_on=today - dt.timedelta(days=150),
        initiated_by="investigator",
        reason="Moved abroad",
        data_use_allowed=False,
        recorded_by=user,
    )
    # Conservative: crossed over and treated (analysed); lost; randomised 5 days ago.
    d = randomised(
        ParticipantFactory(site=world.other, sequence=24), arm="conservative", days_ago=200
    )
    Crossover.objects.create(participant=d, crossover_date=today, reason="pain", recorded_by=user)
    ProcedureFactory(participant=d)
    outcome_scores(d, "W4", 50)
    randomised(ParticipantFactory(site=world.other, sequence=25), arm="conservative", days_ago=200)
    randomised(ParticipantFactory(site=world.other, sequence=26), arm="conservative", days_ago=5)


def test_the_flow_has_hand_counted_boxes(world):
    _known_flow(world)
    flow = consort_flow()
    # Screened: 3 log entries, the world's two participants in screening, six randomised.
    assert flow.screening.screened == 11
    assert flow.excluded == 5
    reasons = {code: n for code, _label, n in flow.excluded_reasons}
    assert reasons == {"not_eligible": 2, "declined": 1, "in_screening": 2}
    pvp, conservative = flow.arms
    assert (pvp.randomised, pvp.received) == (3, 1)
    assert {c: n for c, _l, n in pvp.not_received} == {"died_untreated": 1, "withdrew_untreated": 1}
    assert {c: n for c, _l, n in pvp.discontinued} == {"died": 1, "withdrawn_investigator": 1}
    assert pvp.analysed_total == pvp.analysed == 1
    assert {c: n for c, _l, n in pvp.excluded_from_analysis} == {
        "missing_died": 1,
        "no_data_use": 1,
    }
    assert (conservative.randomised, conservative.received) == (3, 2)
    assert {c: n for c, _l, n in conservative.not_received} == {"crossed_over_treated": 1}
    assert {c: n for c, _l, n in conservative.discontinued} == {"lost": 1}
    assert conservative.analysed_total == 1
    assert {c: n for c, _l, n in conservative.excluded_from_analysis} == {
        "missing_lost": 1,
        "not_yet_due": 1,
    }


def test_the_figure_is_on_the_outcome_report_and_its_pdf(world, settings):
    settings.LANGUAGE_CODE = "en"
    _known_flow(world)
    client = verified_client(world.users[Role.COORDINATOR])
    with translation.override("en"):
        page = client.get(reverse("trial:outcome_report")).content.decode()
    assert 'data-testid="consort-figure"' in page and "<svg" in page
    assert "Assessed for eligibility (n = 11)" in page
    assert 'data-box="allocation-pvp"' in page and "Allocated to PVP" in page
    assert "Died before the procedure: 1" in page
    with translation.override("en"):
        pdf = client.get(reverse("trial:outcome_report_pdf"))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def test_boxes_never_overlap_and_fit_the_width(world):
    _known_flow(world)
    figure = consort_figure(consort_flow())
    boxes = figure.boxes
    for box in boxes:
        assert box.x >= 0 and box.x + box.w <= figure.width and box.bottom <= figure.height
    for i, one in enumerate(boxes):
        for other in boxes[i + 1 :]:
            apart = (
                one.x + one.w <= other.x
                or other.x + other.w <= one.x
                or one.bottom <= other.y
                or other.bottom <= one.y
            )
            assert apart, (one.code, other.code)


# --- the property: every stage of every arm adds up ----------------------------------------

DAY0 = dt.date(2026, 1, 1)
TODAY = dt.date(2026, 6, 1)
_day = st.one_of(st.none(), st.integers(min_value=0, max_value=150))


@st.composite
def _subject(draw, pk: int) -> Subject:
    randomised_on = DAY0 + dt.timedelta(days=draw(st.integers(0, 150)))
    died, withdrew = draw(_day), draw(_day)
    return Subject(
        pk=pk,
        trial_number=f"AAR-{pk:03d}",
        site_code="AAR",
        arm=draw(st.sampled_from(["pvp", "conservative"])),
        stratum="A1N",
        randomised_on=randomised_on,
        sex="F",
        age=70,
        died_on=None if died is None else randomised_on + dt.timedelta(days=died),
        withdrawn_on=None if withdrew is None else randomised_on + dt.timedelta(days=withdrew),
        data_use_allowed=withdrew is None or draw(st.booleans()),
        withdrawn_by=draw(st.sampled_from(["participant", "investigator"])),
        crossed_over=draw(st.booleans()),
        as_treated=draw(st.sampled_from(["pvp", "conservative"])),
        scores={"W4": {"odi": 30.0}} if draw(st.booleans()) else {},
    )


VISITS = [
    {"code": "BL", "label": "Baseline", "day": 0, "primary": False, "collects": ["odi"]},
    {"code": "W4", "label": "4 weeks", "day": 28, "primary": True, "collects": ["odi"]},
]


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 40).flatmap(lambda n: st.tuples(*[_subject(i) for i in range(n)])))
def test_every_stage_of_every_arm_adds_up(subjects):
    data = OutcomeData(
        subjects=list(subjects),
        baseline_visit="BL",
        visits=VISITS,
        arm_labels={"pvp": "PVP", "conservative": "Usual care"},
        leakage=None,
        missing=[],
        primary_measure="odi",
    )
    flows = arm_flows(data, TODAY)
    assert sum(f.randomised for f in flows) == len(subjects)
    for f in flows:
        assert f.received + sum(n for *_x, n in f.not_received) == f.randomised
        followed = f.follow_up["followed"]
        assert followed + sum(n for *_x, n in f.discontinued) == f.randomised
        excluded = sum(n for *_x, n in f.excluded_from_analysis)
        assert f.analysis[ANALYSED] + excluded == f.randomised
        assert f.analysed == f.analysis[ANALYSED]
        assert f.died >= f.follow_up["died"]


@settings(max_examples=100, deadline=None)
@given(
    st.integers(0, 50),
    st.lists(st.integers(0, 20), min_size=4, max_size=4),
    st.integers(0, 20),
    st.integers(0, 100),
)
def test_the_excluded_box_adds_up(randomised_n, reasons, in_screening, slack):
    codes = ["not_eligible", "declined", "contraindicated", "other"]
    counts = ConsortCounts(
        screened=randomised_n + sum(reasons) + in_screening + slack,
        not_included_by_reason=[
            {"code": c, "label": c, "count": n} for c, n in zip(codes, reasons, strict=True) if n
        ],
        in_screening=in_screening,
        randomised=randomised_n,
    )
    flow = ConsortFlow(screening=counts, arms=[], followed_visits=[], primary_visit="W4")
    assert flow.excluded + flow.screening.randomised == flow.screening.screened
    assert sum(n for *_x, n in flow.excluded_reasons) == flow.excluded
