"""The demo trial: seed_demo is idempotent, covers every role and state, and adds load."""

from __future__ import annotations

import zipfile
from collections import Counter
from io import StringIO
from pathlib import Path

import pytest
import time_machine
from django.core.management import call_command
from django.db import transaction

from tests.clock import FIXED_DAY, noon
from tests.conftest import private_files
from trial.audit import audited_models
from trial.cpr import cpr_sex, validate_cpr
from trial.models import (
    Identity,
    Participant,
    ParticipantStatus,
    Role,
    Site,
    SiteKind,
    SiteMembership,
    User,
)
from trial.participants.demo import add_participants
from trial.staff.demo import DEMO_PASSWORD

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


MODULE_FILES: dict[str, Path] = {}


@pytest.fixture(scope="module", autouse=True)
def seeded_once(django_db_setup, django_db_blocker, tmp_path_factory):
    """Seed the demo once for the module, inside a transaction rolled back at the end.

    A first seeding takes seconds (it runs every capability's demo step); each test's own
    seed() is then the cheap idempotent second run, and its changes roll back per test. The
    clock stands at noon of a fixed day and runs on: the demo's dates count back from today.
    """
    root = MODULE_FILES["root"] = tmp_path_factory.mktemp("seed-demo")
    with (
        django_db_blocker.unblock(),
        private_files(root),
        time_machine.travel(noon(FIXED_DAY), tick=True),
    ):
        outer = transaction.atomic()
        outer.__enter__()
        try:
            seed()
            yield
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def counts() -> dict[str, int]:
    numbers = {
        "sites": Site.objects.count(),
        "users": User.objects.count(),
        "memberships": SiteMembership.objects.count(),
        "participants": Participant.objects.count(),
        "identities": Identity.objects.count(),
    }
    for model in audited_models():
        numbers[f"history {model._meta.label}"] = model.history.count()
    return numbers


def test_seeding_twice_changes_nothing():
    seed()
    first = counts()
    seed()
    assert counts() == first


def test_it_creates_hematology_sites_with_surgical_partners():
    seed()
    hematology = Site.objects.filter(kind=SiteKind.HEMATOLOGY)
    assert hematology.count() >= 3
    for site in hematology:
        assert site.surgical_partner is not None
        assert site.surgical_partner.kind == SiteKind.SURGERY


def test_it_creates_a_user_per_role_with_the_demo_password():
    seed()
    for role in Role:
        users = User.objects.filter(role=role, is_active=True)
        assert users.exists(), role
        assert all(u.check_password(DEMO_PASSWORD) for u in users)


def test_site_roles_have_sites_and_central_roles_none():
    seed()
    for user in User.objects.all():
        sites = set(user.memberships.values_list("site__kind", flat=True))
        if user.role == Role.SURGEON:
            assert sites == {SiteKind.SURGERY}, user
        elif user.role in (Role.HEMATOLOGIST, Role.NURSE):
            assert sites == {SiteKind.HEMATOLOGY}, user
        else:
            assert sites == set(), user


def test_the_readme_logins_exist():
    seed()
    expected = {
        "hematologist": (Role.HEMATOLOGIST, {"AAR"}),
        "hematologist.ode": (Role.HEMATOLOGIST, {"ODE"}),
        "surgeon": (Role.SURGEON, {"AARS"}),
        "nurse": (Role.NURSE, {"AAR"}),
        "coordinator": (Role.COORDINATOR, set()),
        "datamanager": (Role.DATA_MANAGER, set()),
        "monitor": (Role.MONITOR, set()),
    }
    for username, (role, sites) in expected.items():
        user = User.objects.get(username=username)
        assert user.role == role
        assert set(user.memberships.values_list("site__code", flat=True)) == sites


def test_it_creates_participants_in_every_status_at_every_site():
    seed()
    statuses = set(Participant.objects.values_list("status", flat=True))
    assert statuses == set(ParticipantStatus.values)
    for site in Site.objects.filter(kind=SiteKind.HEMATOLOGY):
        assert site.participants.exists(), site


def test_every_participant_has_a_valid_identity_matching_its_sex():
    seed()
    participants = Participant.objects.select_related("identity")
    assert participants.exists()
    for participant in participants:
        identity = participant.identity
        validate_cpr(identity.cpr)
        assert cpr_sex(identity.cpr) == participant.sex
        identity.full_clean()


def test_demo_participants_are_audited():
    seed()
    participant = Participant.objects.first()
    row = participant.history.get()
    assert row.history_type == "+"
    assert row.history_user is not None


def test_it_prints_the_logins():
    output = seed()
    assert DEMO_PASSWORD in output
    for username in ("hematologist", "surgeon", "coordinator", "monitor"):
        assert username in output


def test_participants_option_adds_exactly_that_many():
    seed()
    before = counts()
    seed("--participants", "30")
    after = counts()
    assert after["participants"] == before["participants"] + 30
    assert after["identities"] == before["identities"] + 30
    assert after["history trial.Participant"] == before["history trial.Participant"] + 30
    assert after["history trial.Identity"] == before["history trial.Identity"] + 30
    assert after["sites"] == before["sites"]
    assert after["users"] == before["users"]


def test_added_participants_are_spread_over_every_site_with_valid_identities():
    seed()
    existing = set(Participant.objects.values_list("id", flat=True))
    seed("--participants", "30")
    added = Participant.objects.exclude(id__in=existing).select_related("identity", "site")
    per_site = Counter(p.site.code for p in added)
    hematology = set(
        Site.objects.filter(kind=SiteKind.HEMATOLOGY, active=True).values_list("code", flat=True)
    )
    assert set(per_site) == hematology
    assert max(per_site.values()) - min(per_site.values()) <= 1
    for participant in added:
        validate_cpr(participant.identity.cpr)
        assert cpr_sex(participant.identity.cpr) == participant.sex
        participant.full_clean()


def test_added_participants_keep_trial_numbers_consecutive_per_site():
    seed("--participants", "30")
    for site in Site.objects.filter(kind=SiteKind.HEMATOLOGY):
        sequences = list(site.participants.order_by("sequence").values_list("sequence", flat=True))
        assert sequences == list(range(1, len(sequences) + 1))
        for participant in site.participants.all():
            assert participant.trial_number == f"{site.code}-{participant.sequence:03d}"


@pytest.mark.parametrize("seed_value", range(4))
def test_added_participants_cover_every_status(seed_value):
    # The docstring and the brief promise participants "spread over every state": with 30
    # of them, every status must appear, whatever the random seed.
    seed()
    existing = set(Participant.objects.values_list("id", flat=True))
    add_participants(30, seed=seed_value)
    added = Participant.objects.exclude(id__in=existing)
    assert set(added.values_list("status", flat=True)) == set(ParticipantStatus.values)


def test_the_demo_has_one_finished_export_to_download():
    seed()
    seed()  # idempotent: still one
    from trial.models import ExportRun, ExportStatus

    runs = list(ExportRun.objects.all())
    assert len(runs) == 1
    run = runs[0]
    assert run.status == ExportStatus.DONE and run.requested_by.username == "coordinator"
    path = MODULE_FILES["root"] / "exports" / run.file_name  # made by the module's seeding
    with zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
    assert {"csv/analysis_wide.csv", "csv/participants.csv", "codebook.pdf"} <= names


def test_the_demo_serious_adverse_events_carry_their_e2a_report():
    from trial.models import AdverseEvent

    serious = list(AdverseEvent.objects.filter(serious=True))
    assert len(serious) == 2
    for event in serious:
        assert event.seriousness_criteria == ["hospitalisation"]
        assert event.hospital_admitted_on and event.site_aware_at and event.expectedness


def test_the_demo_nurse_has_calls_today_and_this_week():
    from followup.selectors import worklist
    from trial.protocol.schedule import local_today

    nurse = User.objects.get(username="nurse")
    today = local_today()
    calls_today = worklist(nurse, tab="today", today=today).count()
    assert calls_today >= 2
    assert worklist(nurse, tab="week", today=today).count() >= calls_today


def test_everyone_in_follow_up_has_their_whole_schedule():
    """As confirming an allocation does in the trial: every visit anchored on randomisation,
    not only the coming week's."""
    from followup.models import Contact
    from trial.protocol import active_schedule

    codes = {v.code for v in active_schedule().visits if v.anchor == "randomisation"}
    in_follow_up = Participant.objects.filter(status=ParticipantStatus.RANDOMISED)
    assert in_follow_up.exists()
    for participant in in_follow_up:
        got = set(
            Contact.objects.filter(participant=participant, anchor="randomisation").values_list(
                "visit_code", flat=True
            )
        )
        assert got == codes, participant.trial_number


# --- the analysis cohort and its outcomes ----------------------------------------------------


def test_the_outcome_report_estimates_every_adjusted_analysis():
    """The statistician's demo: the primary ANCOVA in each population, multiple imputation,
    responders and the ODI mixed model all give figures, not "not estimable"."""
    from trial.reports import populations as pops
    from trial.reports.adjusted import models_report
    from trial.reports.outcome_data import outcome_data

    report = models_report(outcome_data())
    by_code = {row["code"]: row for row in report["populations"]}
    for code in pops.POPULATIONS:
        estimate = by_code[code]["estimate"]
        assert estimate.estimate is not None, (code, estimate.not_estimable)
        assert estimate.n_treated >= 10 and estimate.n_control >= 10, code
    itt = by_code[pops.ITT]["estimate"]
    # PVP lowers disability faster in the demo's outcome model (about 10 ODI points at W4).
    assert itt.estimate < 0
    # Crossovers and a declined PVP: the other populations group some participants otherwise.
    assert by_code[pops.AS_TREATED]["n"] != by_code[pops.ITT]["n"]
    assert by_code[pops.PER_PROTOCOL]["n"] != by_code[pops.ITT]["n"]
    # The strata vary, so none of them is left out of the model as constant.
    assert not itt.notes
    mice = report["missing"]["mice"]
    assert mice.missing_outcome > 0 and mice.pooled.estimate is not None
    assert report["responders"]["result"].ci_low is not None
    odi = next(r for r in report["repeated"] if r["measure"] == "odi")
    assert not odi["fit"].not_estimable
    assert {row["visit"] for row in odi["rows"]} == {"W4", "M3", "M12"}


def test_seeding_again_adds_no_questionnaire_answers():
    from questionnaires.models import QuestionnaireResponse

    def answers():
        return set(
            QuestionnaireResponse.objects.values_list(
                "participant_id", "visit_code", "instrument_code", "status"
            )
        )

    first = answers()
    assert any(visit == "W4" for _pid, visit, _code, _status in first)
    history = QuestionnaireResponse.history.count()
    seed()
    assert answers() == first
    assert QuestionnaireResponse.history.count() == history


def test_follow_up_answers_stop_at_death_or_withdrawal():
    from questionnaires.models import QuestionnaireResponse
    from trial.models import Death, Withdrawal
    from trial.protocol.windows import participant_timings

    ends = dict(Withdrawal.objects.values_list("participant_id", "withdrawn_on"))
    ends.update(Death.objects.values_list("participant_id", "date_of_death"))
    assert ends
    for participant in Participant.objects.filter(pk__in=ends):
        _randomised, timings = participant_timings(participant)
        visits = set(
            QuestionnaireResponse.objects.filter(participant=participant)
            .exclude(visit_code="BL")
            .values_list("visit_code", flat=True)
        )
        for visit in visits:
            assert timings[visit].target < ends[participant.pk], (participant, visit)


def test_every_randomised_cohort_participant_has_the_primary_visit_due():
    """The analysis cohort: in every stratum's factor levels at each site, randomised long
    enough ago that W4 and M3 have passed (and M12 for those who completed)."""
    from randomization.models import Allocation
    from trial.participants.demo import cohort_member
    from trial.protocol.schedule import local_today

    cohort = [
        a
        for a in Allocation.objects.select_related("participant__site")
        if cohort_member(a.participant) is not None
    ]
    assert len(cohort) == 8 * Site.objects.filter(kind=SiteKind.HEMATOLOGY).count()
    strata = {a.stratum for a in cohort}
    assert {code[0] for code in strata} == {"A", "B"}
    assert {code[1] for code in strata} == {"1", "2"}
    assert {code[2] for code in strata} == {"Y", "N"}
    for allocation in cohort:
        days = (local_today() - local_today(allocation.randomised_at)).days
        completed = allocation.participant.status == ParticipantStatus.COMPLETED
        assert days > (365 + 30 if completed else 91 + 14), allocation.participant
