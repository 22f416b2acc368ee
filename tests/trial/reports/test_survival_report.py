"""The survival lines of the outcome report, on the page and in the PDF: a time point nobody
has been followed to says there is no estimate and why, instead of "0.0% (0 at risk)"."""

from __future__ import annotations

import datetime as dt
import subprocess

from django.urls import reverse
from django.utils import timezone

from tests.conftest import verified_client
from tests.factories import ParticipantFactory, allocate, randomised_with_outcomes
from trial.models import Death, Role
from trial.reports import statistics


def _died_after(site, *, days_ago: int, died_on_day: int, sequence: int, user) -> None:
    """A PVP participant randomised ``days_ago`` who died ``died_on_day`` days later."""
    day0 = timezone.localdate() - dt.timedelta(days=days_ago)
    participant = ParticipantFactory(site=site, sequence=sequence)
    allocate(participant, timezone.make_aware(dt.datetime.combine(day0, dt.time(10))), user=user)
    Death.objects.create(
        participant=participant,
        date_of_death=day0 + dt.timedelta(days=died_on_day),
        relation="myeloma",
        recorded_by=user,
    )


def _survival_rows(page: str) -> str:
    start = page.index('data-testid="survival-table"')
    return page[start : page.index("</table>", start)]


def _client(user, language: str = "en"):
    client = verified_client(user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = language
    return client


def _pdf_text(client) -> str:
    response = client.get(reverse("trial:outcome_report_pdf"))
    assert response.status_code == 200
    return subprocess.run(
        ["pdftotext", "-raw", "-", "-"], input=response.content, capture_output=True, check=True
    ).stdout.decode()


def test_a_last_death_before_the_time_point_gives_no_estimate_when_others_were_censored():
    # Censored at 200 days twice, a death at 250: nobody was followed to day 365, and the
    # two censored may be alive. The formal estimate is 0 with nobody at risk.
    (point,) = statistics.kaplan_meier([200, 200, 250], [False, False, True], [365])
    assert point.survival is None and point.not_reached and point.longest == 250
    # When everyone died, 0 is known, not extrapolated.
    (point,) = statistics.kaplan_meier([100, 250], [True, True], [365])
    assert point.survival == 0.0 and not point.not_reached


def test_nobody_followed_for_12_months_reads_as_no_estimate_on_the_page_and_in_the_pdf(world):
    user = world.users[Role.DATA_MANAGER]
    randomised_with_outcomes(world.own, 2, arm="pvp", days_ago=200, user=user)
    _died_after(world.own, days_ago=300, died_on_day=250, sequence=300, user=user)
    client = _client(user)
    rows = _survival_rows(client.get(reverse("trial:outcome_report")).content.decode())
    pdf = _pdf_text(client)
    expected = (
        "no estimate: nobody has been followed for 12 months yet (longest follow-up 250 days)"
    )
    assert expected in rows
    assert ">0.0%" not in rows and ", 0 at risk" not in rows
    # 3 months: all three were followed past day 91, nobody had died.
    assert "100.0% (0 died, 3 at risk)" in rows
    assert "no estimate: nobody has been followed for 12 months yet" in " ".join(pdf.split())
    assert " 0.0%" not in pdf and ", 0 at risk" not in pdf


def test_the_explanation_reads_in_danish(world):
    user = world.users[Role.DATA_MANAGER]
    randomised_with_outcomes(world.own, 2, arm="pvp", days_ago=200, user=user)
    client = _client(user, "da")
    rows = _survival_rows(client.get(reverse("trial:outcome_report")).content.decode())
    assert "intet estimat: ingen er fulgt i 12 måneder endnu (længste opfølgning 200 dage)" in rows


def test_some_followed_for_12_months_give_an_estimate(world):
    user = world.users[Role.DATA_MANAGER]
    randomised_with_outcomes(world.own, 2, arm="pvp", days_ago=400, user=user)
    _died_after(world.own, days_ago=300, died_on_day=250, sequence=300, user=user)
    client = _client(user)
    rows = _survival_rows(client.get(reverse("trial:outcome_report")).content.decode())
    pdf = " ".join(_pdf_text(client).split())
    # 12 months: 3 at risk until day 250, one dies -> 2/3; two followed to day 400.
    twelve_months = rows[rows.index("12 months") :]
    assert "<td>66.7% (1 died, 2 at risk)</td>" in twelve_months
    assert "nobody has been followed" not in rows
    assert "66.7% (1 died, 2 at risk)" in pdf
