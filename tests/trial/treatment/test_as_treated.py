"""One as-treated arm everywhere: the participant page, the exports (wide analysis file, the
allocations form, and on PostgreSQL its COPY), the query annotation and the outcome report's
sensitivity analysis all read ``trial.treatment.selectors`` and so agree, scenario by
scenario (allocation x procedure recorded x crossover recorded, and not randomised).

The rule: randomised with a PVP procedure recorded -> PVP; randomised without one ->
conservative (also after a crossover whose procedure is not recorded yet); not randomised ->
no arm.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
from dataclasses import dataclass

import pytest
from django.db import connection
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from randomization.exports import AllocationExporter
from tests.conftest import verified_client
from tests.factories import ParticipantFactory, ProcedureFactory, randomised
from trial.exports import sql as export_sql
from trial.exports.tables import analysis_table, form_table
from trial.models import Crossover, Participant, Role
from trial.reports import outcomes
from trial.reports.outcome_data import outcome_data
from trial.treatment.selectors import annotate_as_treated, as_treated_arm

pytestmark = pytest.mark.django_db

PVP, CONSERVATIVE = "pvp", "conservative"


@dataclass(frozen=True)
class Scenario:
    allocation: str | None  # allocated arm, None: not randomised
    procedure: bool
    crossover: bool

    @property
    def expected(self) -> str | None:
        if self.allocation is None:
            return None
        return PVP if self.procedure else CONSERVATIVE


SCENARIOS = [
    Scenario(allocation, procedure, crossover)
    for allocation, procedure, crossover in itertools.product(
        (PVP, CONSERVATIVE, None), (True, False), (True, False)
    )
]


def _make(site, user, scenario: Scenario, sequence: int) -> Participant:
    participant = ParticipantFactory(site=site, sequence=sequence)
    if scenario.allocation is not None:
        participant = randomised(participant, arm=scenario.allocation, days_ago=40, user=user)
    if scenario.crossover:
        # Written directly: the scenarios include records the services would refuse (a
        # crossover in the PVP arm, a procedure without randomisation), so that the rule is
        # pinned down for whatever the database holds.
        Crossover.objects.create(
            participant=participant,
            crossover_date=timezone.localdate(),
            reason="Pain",
            recorded_by=user,
        )
    if scenario.procedure:
        ProcedureFactory(participant=participant, recorded_by=user)
    return participant


@pytest.fixture
def scenarios(world) -> dict[int, Scenario]:
    user = world.users[Role.COORDINATOR]
    return {
        _make(world.own, user, scenario, 100 + n).pk: scenario
        for n, scenario in enumerate(SCENARIOS)
    }


def _page_value(client, participant: Participant) -> str | None:
    page = client.get(participant.get_absolute_url()).content.decode()
    found = re.search(r'data-testid="as-treated-arm" data-arm="([a-z]*)"', page)
    return (found.group(1) or None) if found else None


def _wide_values() -> dict[str, str | None]:
    table = analysis_table(identified=False)
    column = 2 + [v.name for v in table.variables].index("arm_as_treated")
    return {row[0]: row[column] for row in table.rows()}


def _form_values() -> dict[str, str | None]:
    table = form_table(AllocationExporter(), identified=False)
    column = 2 + [v.name for v in table.variables].index("arm_as_treated")
    return {row[0]: row[column] for row in table.rows()}


def test_an_allocated_pvp_participant_without_a_procedure_is_exported_as_conservative(world):
    user = world.users[Role.COORDINATOR]
    untreated = _make(world.own, user, Scenario(PVP, procedure=False, crossover=False), 10)
    assert _wide_values()[untreated.trial_number] == CONSERVATIVE
    assert _form_values()[untreated.trial_number] == CONSERVATIVE


def test_a_crossover_counts_as_pvp_only_once_its_procedure_is_recorded(world):
    user = world.users[Role.COORDINATOR]
    crossed = _make(world.own, user, Scenario(CONSERVATIVE, procedure=False, crossover=True), 10)
    assert _wide_values()[crossed.trial_number] == CONSERVATIVE
    ProcedureFactory(participant=crossed, recorded_by=user)
    assert _wide_values()[crossed.trial_number] == PVP
    assert as_treated_arm(crossed) == PVP


def test_a_participant_not_randomised_has_no_as_treated_arm_even_with_a_procedure(world):
    user = world.users[Role.COORDINATOR]
    participant = _make(world.own, user, Scenario(None, procedure=True, crossover=False), 10)
    assert as_treated_arm(participant) is None
    assert _wide_values()[participant.trial_number] is None
    annotated = annotate_as_treated(Participant.objects.filter(pk=participant.pk))
    assert annotated.get().as_treated_arm is None


def test_every_place_agrees_on_the_as_treated_arm(world, scenarios):
    client = verified_client(world.users[Role.NURSE])
    annotated = dict(
        annotate_as_treated(Participant.objects.filter(pk__in=scenarios)).values_list(
            "pk", "as_treated_arm"
        )
    )
    wide, form = _wide_values(), _form_values()
    subjects = {s.pk: s.as_treated for s in outcome_data().subjects}
    for participant in Participant.objects.filter(pk__in=scenarios):
        scenario = scenarios[participant.pk]
        expected = scenario.expected
        assert as_treated_arm(participant) == expected, scenario
        assert annotated[participant.pk] == expected, scenario
        assert _page_value(client, participant) == expected, scenario
        assert wide[participant.trial_number] == expected, scenario
        assert form.get(participant.trial_number) == expected, scenario
        assert subjects.get(participant.pk) == expected, scenario

    # The sensitivity analysis counts the same groups.
    report = outcomes.outcome_report()
    counts = report["as_treated"]["baseline"][0].cells
    per_arm = {
        arm: sum(s.expected == arm for s in scenarios.values()) for arm in (PVP, CONSERVATIVE)
    }
    assert counts == [str(per_arm[PVP]), str(per_arm[CONSERVATIVE]), str(sum(per_arm.values()))]


@pytest.mark.postgres
def test_the_copy_of_the_allocations_form_agrees_with_the_rule(world, scenarios):
    assert connection.vendor == "postgresql"
    table = form_table(AllocationExporter(), identified=False)
    out = io.BytesIO()
    with timezone.override("Europe/Copenhagen"):
        export_sql.copy_long(
            out,
            table.sql(),
            [v.name for v in table.sql_variables],
            [v.type for v in table.sql_variables],
            table.sql_positions,
        )
    copied = {
        trial_number: value
        for trial_number, _key, item, value in csv.reader(io.StringIO(out.getvalue().decode()))
        if item == "arm_as_treated"
    }
    for participant in Participant.objects.filter(pk__in=scenarios):
        assert copied.get(participant.trial_number) == scenarios[participant.pk].expected


# --- the outcome report's sensitivity analysis --------------------------------------------


def _itt_differs_from_as_treated(world):
    """Two allocated to PVP (one never treated), one to conservative care: 2/1 by
    intention to treat, 1/2 as treated."""
    user = world.users[Role.COORDINATOR]
    _make(world.own, user, Scenario(PVP, procedure=True, crossover=False), 10)
    _make(world.own, user, Scenario(PVP, procedure=False, crossover=False), 11)
    _make(world.own, user, Scenario(CONSERVATIVE, procedure=False, crossover=False), 12)


def test_the_outcome_report_adds_an_as_treated_sensitivity_analysis(world):
    _itt_differs_from_as_treated(world)
    report = outcomes.outcome_report()
    assert report["baseline"][0].cells == ["2", "1", "3"]
    sensitivity = report["as_treated"]
    assert sensitivity["baseline"][0].cells == ["1", "2", "3"]
    # Same statistics, grouped differently: one table of each kind.
    assert len(sensitivity["outcomes"]) == len(report["outcomes"])
    assert [c.measure for c in sensitivity["comparisons"]] == [
        c.measure for c in report["comparisons"]
    ]
    assert len(sensitivity["survival"]) == len(report["survival"])

    client = verified_client(world.users[Role.COORDINATOR])
    page = client.get(reverse("trial:outcome_report"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Sensitivity analysis: as treated" in page
    itt = page[page.index('data-testid="baseline-table"') :]
    assert re.search(r"Participants, n</th><td>2</td><td>1</td><td>3</td>", itt)
    sensitivity_page = page[page.index('data-testid="as-treated-baseline-table"') :]
    assert re.search(r"Participants, n</th><td>1</td><td>2</td><td>3</td>", sensitivity_page)
    for testid in ("outcome-table", "comparison-table", "survival-table"):
        assert f'data-testid="as-treated-{testid}"' in page
    # The intention-to-treat tables come first: the sensitivity analysis is beside them.
    assert page.index('data-testid="survival-table"') < page.index(
        "Sensitivity analysis: as treated"
    )


def test_the_pdf_carries_the_sensitivity_analysis(world):
    _itt_differs_from_as_treated(world)
    with translation.override("en"):
        html = render_to_string(
            "trial/dashboard/outcome_report_pdf.html", outcomes.outcome_report()
        )
        response = verified_client(world.users[Role.DATA_MANAGER]).get(
            reverse("trial:outcome_report_pdf")
        )
    assert "Sensitivity analysis: as treated" in html
    sensitivity = html[html.index('data-testid="as-treated-baseline-table"') :]
    assert re.search(r"Participants, n</th><td>1</td><td>2</td><td>3</td>", sensitivity)
    assert response.status_code == 200
    assert response.content.startswith(b"%PDF")
