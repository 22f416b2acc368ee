"""The DMC safety report: its tables on known data (pure functions and read from the
database), who may open which version (every role, the coordinator's setting), the log of
each look, the PDFs' text, and a constant number of queries."""

from __future__ import annotations

import datetime as dt
import subprocess
import tempfile
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone, translation
from hypothesis import given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from tests.conftest import verified_client
from tests.factories import (
    AdverseEventFactory,
    ParticipantFactory,
    ProcedureFactory,
    ProcedureLevelFactory,
    randomised,
)
from trial import access
from trial.audit import ReasonRequired
from trial.models import Death, RadiographicControl, Role
from trial.reports import dmc, dmc_access, dmc_selectors
from trial.reports.dmc import DeathRow, EventRow, LevelRow, XrayRow
from trial.reports.models import DmcReportAccess

CLOSED = ("trial:dmc_closed", "trial:dmc_closed_pdf")
OPEN = ("trial:dmc_open", "trial:dmc_open_pdf")

# --- the pure tables ------------------------------------------------------------------------

ARM_OF = {1: "pvp", 2: "pvp", 3: "conservative", 4: "conservative"}
EVENTS = [
    EventRow(1, 1, False, "not_related"),
    EventRow(1, 1, False, "not_related"),
    EventRow(2, 1, False, "not_related"),
    EventRow(2, 3, True, "possible"),
    EventRow(3, 3, True, "possible"),
    EventRow(4, 5, True, "not_related"),
    EventRow(99, 2, True, "definite"),  # not randomised: never counted
]


def test_events_are_counted_by_arm_grade_and_relation_with_participants_once():
    table = dmc.event_table(EVENTS, dmc.group_of(ARM_OF, by_arm=True))
    cell = table[(1, "not_related")]["pvp"]
    assert (cell.events, cell.participants) == (3, 2)
    possible = table[(3, "possible")]
    assert (possible["pvp"].events, possible["conservative"].events) == (1, 1)
    total = table[(None, None)]
    assert (total["pvp"].events, total["pvp"].participants) == (4, 2)
    assert (total["conservative"].events, total["conservative"].participants) == (2, 2)
    assert (2, "definite") not in table


def test_serious_events_only_and_pooled():
    serious = dmc.event_table(EVENTS, dmc.group_of(ARM_OF, by_arm=True), serious_only=True)
    assert serious[(None, None)]["pvp"].events == 1
    assert serious[(None, None)]["conservative"].events == 2
    pooled = dmc.event_table(EVENTS, dmc.group_of(ARM_OF, by_arm=False), serious_only=True)
    assert (pooled[(None, None)]["all"].events, pooled[(None, None)]["all"].participants) == (3, 3)
    assert pooled[(5, None)]["all"].events == 1


def test_deaths_are_counted_by_relation_and_listed_by_date():
    deaths = [
        DeathRow(3, "AAR-003", dt.date(2026, 3, 1), "myeloma", "Progression"),
        DeathRow(4, "AAR-004", dt.date(2026, 2, 1), "other", "Pneumonia"),
        DeathRow(1, "AAR-001", dt.date(2026, 1, 1), "procedure", "Embolism"),
    ]
    table = dmc.death_table(deaths, dmc.group_of(ARM_OF, by_arm=True))
    assert table["counts"]["conservative"]["total"] == 2
    assert table["counts"]["pvp"]["procedure"] == 1
    assert [d.trial_number for d in table["listed"]["conservative"]] == ["AAR-004", "AAR-003"]
    pooled = dmc.death_table(deaths, dmc.group_of(ARM_OF, by_arm=False))
    assert pooled["counts"]["all"]["total"] == 3


def test_new_fractures_count_participants_adjacent_first():
    xrays = [
        XrayRow(1, "sc", True, False),
        XrayRow(1, "m12", True, True),  # adjacent on the second: counts as adjacent
        XrayRow(2, "m12", True, False),
        XrayRow(3, "m12", False, None),
        XrayRow(4, "m12", True, None),
    ]
    table = dmc.fracture_table(xrays, dmc.group_of(ARM_OF, by_arm=True))
    assert table["pvp"] == {
        "examinations": 3,
        "participants": 2,
        "new_fracture": 2,
        "adjacent": 1,
        "non_adjacent_only": 1,
        "not_stated": 0,
    }
    assert table["conservative"]["new_fracture"] == 1
    assert table["conservative"]["not_stated"] == 1
    pooled = dmc.fracture_table(xrays, dmc.group_of(ARM_OF, by_arm=False))["all"]
    assert (pooled["participants"], pooled["new_fracture"]) == (4, 3)


def test_leakage_per_treated_level():
    levels = [
        LevelRow(1, "L1", True, ("disc",)),
        LevelRow(1, "L2", False),
        LevelRow(2, "L1", True, ("venous", "disc")),
        LevelRow(3, "T12", False),
    ]
    table = dmc.leakage_table(levels, dmc.group_of(ARM_OF, by_arm=True))
    assert table["levels"]["pvp"]["L1"] == [2, 2]
    assert table["levels"]["pvp"]["total"] == [3, 2]
    assert table["levels"]["conservative"]["total"] == [1, 0]
    assert table["sites"]["pvp"] == {"disc": 2, "venous": 1}


# --- from the database ----------------------------------------------------------------------


def _safety_data(world):
    """Two PVP and one conservative participant, with known events, a death, X-rays and
    treated levels; returns the participants."""
    user = world.users[Role.SURGEON]
    a = randomised(ParticipantFactory(site=world.own, sequence=11), arm="pvp", days_ago=100)
    b = randomised(ParticipantFactory(site=world.own, sequence=12), arm="pvp", days_ago=100)
    c = randomised(
        ParticipantFactory(site=world.other, sequence=13), arm="conservative", days_ago=100
    )
    ParticipantFactory(site=world.own, sequence=14)  # in screening, with an event: not counted
    AdverseEventFactory(participant=a, grade=1)
    AdverseEventFactory(participant=a, grade=1)
    AdverseEventFactory(participant=b, grade=2, relation="possible")
    AdverseEventFactory(participant=c, grade=3, serious=True, relation="not_related")
    procedure = ProcedureFactory(participant=a, recorded_by=user)
    ProcedureLevelFactory(procedure=procedure, level="L1", leakage=True)
    ProcedureLevelFactory(procedure=procedure, level="L2", leakage=False)
    Death.objects.create(
        participant=c,
        date_of_death=timezone.localdate() - dt.timedelta(days=3),
        relation="myeloma",
        cause="Progressive myeloma",
        recorded_by=user,
    )
    RadiographicControl.objects.create(
        participant=a,
        kind="sc",
        examined_on=timezone.localdate(),
        treated_stability="stable",
        new_fracture=True,
        new_fracture_levels=["L3"],
        new_fracture_adjacent=True,
        height_loss=False,
        recorded_by=user,
    )
    return a, b, c


def test_the_closed_report_has_hand_counted_numbers_by_arm(world):
    _safety_data(world)
    report = dmc.dmc_report(closed=True)
    assert [code for code, _label in report["groups"]] == ["pvp", "conservative"]
    assert report["randomised"] == [2, 1]
    any_grade = report["ae"][-1][2]
    assert [(c.events, c.participants) for c in any_grade] == [(3, 2), (1, 1)]
    assert [(c.events, c.participants) for c in report["sae"][-1][2]] == [(0, 0), (1, 1)]
    assert report["deaths"]["total"] == [0, 1]
    fractures = {code: counts for code, _l, counts in report["fractures"]}
    assert fractures["new_fracture"] == [1, 0] and fractures["adjacent"] == [1, 0]
    leakage = dict(report["leakage"])
    assert leakage["L1"][0].startswith("1/1") and leakage["total"][0].startswith("1/2")
    assert leakage["total"][1] == "0/0"


def test_the_open_report_pools_the_same_numbers(world):
    _safety_data(world)
    report = dmc.dmc_report(closed=False)
    assert len(report["groups"]) == 1
    assert report["randomised"] == [3]
    assert [(c.events, c.participants) for c in report["ae"][-1][2]] == [(4, 3)]
    assert report["deaths"]["total"] == [1]


def test_the_report_reads_a_constant_number_of_queries(world, django_assert_max_num_queries):
    _safety_data(world)
    with django_assert_max_num_queries(8) as small:
        dmc.dmc_report(closed=True)
    for i in range(5):
        p = randomised(ParticipantFactory(site=world.own, sequence=40 + i), arm="conservative")
        AdverseEventFactory(participant=p, grade=2)
        ProcedureLevelFactory(procedure=ProcedureFactory(participant=p), level="T12")
    with django_assert_max_num_queries(len(small.captured_queries)):
        dmc.dmc_report(closed=True)


# --- who may open it ------------------------------------------------------------------------


@pytest.mark.parametrize("role", list(Role))
def test_by_default_only_the_data_manager_opens_the_closed_report(world, role):
    client = verified_client(world.users[role])
    for name in CLOSED:
        expected = 200 if role == Role.DATA_MANAGER else 403
        assert client.get(reverse(name)).status_code == expected, (name, role)


@pytest.mark.parametrize("role", list(Role))
def test_the_open_report_is_for_central_roles(world, role):
    client = verified_client(world.users[role])
    central = role in (Role.COORDINATOR, Role.DATA_MANAGER, Role.MONITOR)
    for name in OPEN:
        assert client.get(reverse(name)).status_code == (200 if central else 403), (name, role)


@pytest.mark.parametrize("role", list(Role))
def test_the_closed_report_follows_the_roles_the_coordinator_names(world, role):
    coordinator = world.users[Role.COORDINATOR]
    dmc_access.dmc_closed_roles_set(
        user=coordinator, roles=[Role.MONITOR, Role.COORDINATOR], reason="DMC charter v2"
    )
    client = verified_client(world.users[role])
    expected = 200 if role in (Role.MONITOR, Role.COORDINATOR) else 403
    assert client.get(reverse("trial:dmc_closed")).status_code == expected
    assert access.can_open_closed_dmc_report(world.users[role]) == (expected == 200)


def test_a_site_role_is_never_named_even_if_stored(world):
    from trial.reports.models import DmcSettings

    # A row written around the service (e.g. by hand in the database) cannot open it either.
    DmcSettings.objects.create(closed_report_roles=[Role.HEMATOLOGIST, Role.NURSE])
    for role in (Role.HEMATOLOGIST, Role.NURSE):
        client = verified_client(world.users[role])
        assert client.get(reverse("trial:dmc_closed")).status_code == 403


def test_the_coordinator_names_roles_on_the_page_with_a_reason(world):
    client = verified_client(world.users[Role.COORDINATOR])
    url = reverse("trial:dmc_settings")
    refused = client.post(url, {"roles": [Role.MONITOR], "reason": ""})
    assert refused.status_code == 200 and dmc_selectors.dmc_closed_roles() == {Role.DATA_MANAGER}
    bad = client.post(url, {"roles": [Role.NURSE], "reason": "Charter says so"})
    assert bad.status_code == 200 and dmc_selectors.dmc_closed_roles() == {Role.DATA_MANAGER}
    saved = client.post(url, {"roles": [Role.MONITOR], "reason": "DMC charter version 2"})
    assert saved.status_code == 302
    assert dmc_selectors.dmc_closed_roles() == {Role.MONITOR}
    row = dmc_selectors.dmc_settings().history.first()
    assert row.history_change_reason == "DMC charter version 2"
    assert row.history_user == world.users[Role.COORDINATOR]
    # The data manager and the monitor read the page; they cannot change it.
    assert verified_client(world.users[Role.MONITOR]).post(url, {}).status_code == 403
    assert verified_client(world.users[Role.DATA_MANAGER]).get(url).status_code == 200


def test_the_service_refuses_to_name_a_site_role(world):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        dmc_access.dmc_closed_roles_set(
            user=world.users[Role.COORDINATOR], roles=[Role.SURGEON], reason="Charter says so"
        )
    assert dmc_selectors.dmc_closed_roles() == {Role.DATA_MANAGER}


def test_a_short_reason_is_refused_by_the_service(world):
    with pytest.raises(ReasonRequired):
        dmc_access.dmc_closed_roles_set(
            user=world.users[Role.COORDINATOR], roles=[Role.MONITOR], reason="x"
        )


def test_every_look_is_logged_with_who_and_which_version(world):
    dm = world.users[Role.DATA_MANAGER]
    client = verified_client(dm)
    client.get(reverse("trial:dmc_open"))
    client.get(reverse("trial:dmc_closed"))
    client.get(reverse("trial:dmc_closed_pdf"))
    verified_client(world.users[Role.NURSE]).get(reverse("trial:dmc_closed"))  # refused
    looks = list(DmcReportAccess.objects.order_by("pk").values_list("user", "version", "format"))
    assert looks == [(dm.pk, "open", "page"), (dm.pk, "closed", "page"), (dm.pk, "closed", "pdf")]


# --- the PDFs -------------------------------------------------------------------------------


def _pdf_text(content: bytes) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "report.pdf"
        path.write_bytes(content)
        return subprocess.run(
            ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
        ).stdout


def test_the_closed_pdf_shows_the_arms_the_consort_figure_and_the_death(world, settings):
    settings.LANGUAGE_CODE = "en"
    _safety_data(world)
    with translation.override("en"):
        response = verified_client(world.users[Role.DATA_MANAGER]).get(
            reverse("trial:dmc_closed_pdf")
        )
    assert response["Content-Type"] == "application/pdf"
    text = _pdf_text(response.content)
    assert "DMC safety report (closed)" in text
    assert "Progressive myeloma" in text
    assert "Assessed for eligibility" in text and "Allocated to" in text
    assert "All participants" not in text


def test_the_open_pdf_is_pooled(world, settings):
    settings.LANGUAGE_CODE = "en"
    _safety_data(world)
    with translation.override("en"):
        response = verified_client(world.users[Role.MONITOR]).get(reverse("trial:dmc_open_pdf"))
    text = _pdf_text(response.content)
    assert "DMC safety report (open)" in text
    assert "All participants" in text
    assert "Allocated to" not in text


def test_the_dashboard_links_the_open_report_and_it_the_closed_one_when_allowed(world):
    monitor = verified_client(world.users[Role.MONITOR])
    dashboard = monitor.get(reverse("trial:dashboard")).content.decode()
    assert reverse("trial:dmc_open") in dashboard
    assert (
        'data-testid="dmc-closed-link"'
        not in monitor.get(reverse("trial:dmc_open")).content.decode()
    )
    dm = verified_client(world.users[Role.DATA_MANAGER])
    assert 'data-testid="dmc-closed-link"' in dm.get(reverse("trial:dmc_open")).content.decode()


_events = st.lists(
    st.builds(
        EventRow,
        st.integers(1, 8),
        st.integers(1, 5),
        st.booleans(),
        st.sampled_from(["not_related", "unlikely", "possible", "probable", "definite"]),
    ),
    max_size=40,
)


@hyp_settings(max_examples=100, deadline=None)
@given(_events, st.dictionaries(st.integers(1, 8), st.sampled_from(["pvp", "conservative"])))
def test_the_pooled_events_are_the_sum_of_the_arms(events, arm_of):
    by_arm = dmc.event_table(events, dmc.group_of(arm_of, by_arm=True))
    pooled = dmc.event_table(events, dmc.group_of(arm_of, by_arm=False))
    assert set(by_arm) == set(pooled)
    for key, cells in pooled.items():
        arms = by_arm[key].values()
        assert cells["all"].events == sum(c.events for c in arms)
        # A participant is in one arm only, so participants add up too.
        assert cells["all"].participants == sum(c.participants for c in arms)
    counted = [e for e in events if e.participant in arm_of]
    if counted:
        assert pooled[(None, None)]["all"].events == len(counted)


@pytest.mark.parametrize("name", ["trial:dmc_closed", "trial:dmc_open"])
def test_the_pages_keep_a_constant_number_of_queries(world, name, django_assert_max_num_queries):
    _safety_data(world)
    client = verified_client(world.users[Role.DATA_MANAGER])
    client.get(reverse(name))  # warm the session and the caches
    with django_assert_max_num_queries(200) as small:
        assert client.get(reverse(name)).status_code == 200
    for i in range(6):
        p = randomised(ParticipantFactory(site=world.own, sequence=60 + i), arm="pvp")
        AdverseEventFactory(participant=p, grade=2, serious=True)
        ProcedureLevelFactory(procedure=ProcedureFactory(participant=p), level="L4")
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert client.get(reverse(name)).status_code == 200
