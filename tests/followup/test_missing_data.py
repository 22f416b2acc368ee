"""The missing-data report: expected, present and missing forms per participant, visit and
form, the share present per site and visit, and its CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.urls import reverse
from django.utils import timezone

from followup.models import CallLog, Contact, VisitItems
from questionnaires.models import QuestionnaireResponse, ResponseStatus
from tests.conftest import verified_client
from tests.factories import ParticipantFactory, allocate, outcome_scores
from trial.models import Death, Role

URL = reverse("followup:missing_data")
CSV_URL = reverse("followup:missing_data_csv")


def _randomised(site, sequence, *, arm, day0):
    p = ParticipantFactory(site=site, sequence=sequence)
    at = dt.datetime.combine(day0, dt.time(12), tzinfo=timezone.get_default_timezone())
    allocate(p, at, arm=arm)
    return p


def _call(participant, visit, day0, *, nurse, reasons, **items):
    target = day0 + dt.timedelta(days=7)
    contact = Contact.objects.create(
        participant=participant, visit_code=visit, anchor="randomisation", anchor_date=day0,
        target_date=target, window_opens=target - dt.timedelta(days=3),
        window_closes=target + dt.timedelta(days=3), status="done",
    )  # fmt: skip
    call = CallLog.objects.create(
        contact=contact, participant=participant, called_by=nurse, outcome="reached",
        called_at=timezone.now() - dt.timedelta(days=13),
    )  # fmt: skip
    VisitItems.objects.create(
        contact=contact, call=call, recorded_by=nurse, missing_reasons=reasons, **items
    )


@pytest.fixture
def report(world, fixed_day):
    """Randomised 20 days ago (W1 and W2 closed, W3 open, W4 still to come):
    a: PVP at AAR, baseline done, W1 called (VAS by phone, HSU declined), W2 nothing;
    b: conservative at AAR, nothing recorded, died on day 8 (inside W1's window);
    c: PVP at ODE, baseline done, nothing else."""
    day0 = fixed_day - dt.timedelta(days=20)
    nurse = world.users[Role.NURSE]
    a = _randomised(world.own, 70, arm="pvp", day0=day0)
    b = _randomised(world.own, 71, arm="conservative", day0=day0)
    c = _randomised(world.other, 70, arm="pvp", day0=day0)
    outcome_scores(a, "BL", 60)
    outcome_scores(c, "BL", 50)
    _call(a, "W1", day0, nurse=nurse, reasons={"hsu": "declined"}, opioid_omeq_mg=10,
          new_adverse_events=False)  # fmt: skip
    QuestionnaireResponse.objects.create(
        participant=a, visit_code="W1", instrument_code="vas", instrument_version="1",
        mode="phone", status=ResponseStatus.SUBMITTED, submitted_at=timezone.now(),
        answers={"vas_back": 30, "vas_leg": 20},
    )  # fmt: skip
    Death.objects.create(
        participant=b, date_of_death=day0 + dt.timedelta(days=8), relation="myeloma",
        recorded_by=nurse,
    )  # fmt: skip
    return a, b, c


def _states(response, participant):
    rows = response.context["page"].paginator.object_list
    return {
        (r.visit_code, r.form): (r.state, r.reason)
        for r in rows
        if r.trial_number == participant.trial_number
    }


def test_each_form_is_present_missing_with_or_without_reason_or_not_yet_due(world, report):
    a, b, _c = report
    response = verified_client(world.users[Role.DATA_MANAGER]).get(URL)
    assert _states(response, a) == {
        ("BL", "odi"): ("present", ""),
        ("BL", "vas"): ("present", ""),
        ("BL", "eq5d3l"): ("present", ""),
        ("W1", "vas"): ("present", ""),
        ("W1", "pain_medication"): ("present", ""),
        ("W1", "hsu"): ("missing_reason", "declined"),
        ("W1", "adverse_events"): ("present", ""),
        ("W2", "vas"): ("missing", ""),
        ("W2", "pain_medication"): ("missing", ""),
        ("W2", "hsu"): ("missing", ""),
        ("W2", "adverse_events"): ("missing", ""),
        ("W3", "vas"): ("not_due", ""),
        ("W3", "pain_medication"): ("not_due", ""),
        ("W3", "hsu"): ("not_due", ""),
        ("W3", "adverse_events"): ("not_due", ""),
    }
    # Died on day 8, inside W1's window: W1 (crossover asked in the conservative arm) is
    # missing because of the death, and nothing after it is expected.
    assert _states(response, b) == {
        ("BL", "odi"): ("missing", ""),
        ("BL", "vas"): ("missing", ""),
        ("BL", "eq5d3l"): ("missing", ""),
        **{
            ("W1", form): ("missing_reason", "died")
            for form in ("vas", "pain_medication", "hsu", "adverse_events", "crossover")
        },
    }


def test_the_summary_gives_the_share_present_per_site_and_visit(world, report):
    response = verified_client(world.users[Role.COORDINATOR]).get(URL)
    assert response.context["sites"] == ["AAR", "ODE"]
    shares = {
        row.visit_code: [(cell.present, cell.expected, cell.percent) for cell in row.cells]
        for row in response.context["summary"]
    }
    assert shares["BL"] == [(3, 6, 50), (3, 3, 100)]
    assert shares["W1"] == [(3, 9, 33), (0, 4, 0)]
    assert shares["W2"] == [(0, 4, 0), (0, 4, 0)]
    assert shares["W3"] == [(0, 0, None), (0, 0, None)]
    assert b'data-testid="missing-summary"' in response.content


def test_the_list_filters_by_site_visit_form_and_state(world, report):
    a, b, _c = report
    client = verified_client(world.users[Role.MONITOR])
    response = client.get(
        URL, {"site": world.own.pk, "visit": "W1", "form": "hsu", "state": "missing_reason"}
    )
    rows = list(response.context["page"].object_list)
    assert [(r.trial_number, r.reason) for r in rows] == [
        (a.trial_number, "declined"),
        (b.trial_number, "died"),
    ]


def test_an_unknown_filter_value_is_shown_as_an_error_not_a_500(world, report):
    response = verified_client(world.users[Role.COORDINATOR]).get(URL, {"state": "nonsense"})
    assert response.status_code == 200
    assert response.context["form"].errors["state"]


def test_site_staff_see_their_own_site_and_an_outsider_nothing_of_it(world, report):
    a, b, c = report
    nurse = verified_client(world.users[Role.NURSE]).get(URL)
    numbers = {r.trial_number for r in nurse.context["page"].paginator.object_list}
    assert numbers == {a.trial_number, b.trial_number}
    outsider = verified_client(world.outsider).get(URL)
    numbers = {r.trial_number for r in outsider.context["page"].paginator.object_list}
    assert numbers == {c.trial_number}
    assert outsider.context["sites"] == ["ODE"]


def test_the_csv_holds_the_filtered_list(world, report):
    a, _b, _c = report
    response = verified_client(world.users[Role.DATA_MANAGER]).get(CSV_URL, {"visit": "W1"})
    assert response["Content-Type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert lines[0] == [
        "trial_number", "site", "visit", "form", "state", "reason", "window_opens",
        "window_closes",
    ]  # fmt: skip
    assert [a.trial_number, "AAR", "W1", "hsu", "missing_reason", "declined"] == lines[3][:6]
    assert len(lines) == 1 + 4 + 5 + 4  # a, b (with crossover) and c at W1
    w1 = a.allocation.randomised_at.date() + dt.timedelta(days=7)
    assert lines[1][6:] == [
        (w1 - dt.timedelta(days=3)).isoformat(),
        (w1 + dt.timedelta(days=3)).isoformat(),
    ]


def _grow(world, start, n, day0):
    for i in range(n):
        p = _randomised(world.own, start + i, arm="pvp", day0=day0)
        outcome_scores(p, "BL", 60)


@pytest.mark.parametrize("url", [URL, CSV_URL])
def test_the_report_costs_the_same_queries_for_few_and_many(
    world, report, fixed_day, django_assert_num_queries, url
):
    client = verified_client(world.users[Role.COORDINATOR])

    def count():
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url)
            if url == CSV_URL:
                b"".join(response.streaming_content)
        return len(ctx.captured_queries)

    few = count()
    _grow(world, 200, 8, fixed_day - dt.timedelta(days=40))
    with django_assert_num_queries(few):
        response = client.get(url)
        if url == CSV_URL:
            b"".join(response.streaming_content)


def test_participants_not_randomised_are_not_in_it(world, fixed_day):
    response = verified_client(world.users[Role.COORDINATOR]).get(URL)
    assert response.context["count"] == 0
    assert b'data-testid="missing-empty"' in response.content
