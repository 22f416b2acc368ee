"""The screening path through its pages: log -> form -> checklist -> consent -> referral ->
surgical assessment, the participant page's panels, lists, CONSORT and scoping."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.conftest import verified_client
from tests.factories import (
    ParticipantFactory,
    ReferralFactory,
    ScreeningLogEntryFactory,
    SiteFactory,
    UserFactory,
    ensure_default_criteria,
    screening_complete,
)
from tests.trial.screening.conftest import SCREENING_FORM, d, screen, walk_hematologist_path
from trial.models import (
    Consent,
    EligibilityAssessment,
    InformationSheetVersion,
    Participant,
    ParticipantStatus,
    Referral,
    ReferralStatus,
    Role,
    ScreeningForm,
    ScreeningLogEntry,
    SurgicalAssessment,
)
from trial.participants.selectors import randomisation_blocker_details


@pytest.fixture(autouse=True)
def _reference_data(db):
    ensure_default_criteria()


# Dates here are computed before the code under test asks the clock: both see FIXED_DAY.
pytestmark = pytest.mark.usefixtures("fixed_day")


def test_the_whole_path_through_the_pages(world):
    participant = walk_hematologist_path(world)
    number = participant.trial_number
    referral = Referral.objects.get(participant=participant)
    assert referral.surgical_site == world.own.surgical_partner
    assert referral.status == ReferralStatus.OPEN

    surgeon = verified_client(world.users[Role.SURGEON])
    home = surgeon.get(reverse("home"))
    assert number in home.content.decode()
    r = surgeon.post(
        reverse("trial:surgical_assessment", args=[number]),
        {
            "assessed_on": d(0),
            "contraindication": "no",
            "planned_levels": ["L2", "T12"],
            "earlier_fractures": "yes",
            "earlier_fracture_levels": ["T8"],
            "risk_information_given": "on",
        },
    )
    assert r.status_code == 302, r.context["form"].errors
    assessment = SurgicalAssessment.objects.get(participant=participant)
    assert assessment.planned_levels == ["T12", "L2"]
    referral.refresh_from_db()
    assert referral.status == ReferralStatus.ASSESSED
    codes = {b.code for b in randomisation_blocker_details(participant)}
    assert not codes & {"screening_form", "eligibility", "consent", "surgical_assessment"}

    page = verified_client(world.users[Role.HEMATOLOGIST]).get(participant.get_absolute_url())
    html = page.content.decode()
    assert 'data-testid="readiness"' in html
    assert "T12, L2" in html


def test_the_screening_log_entry_keeps_no_cpr(world):
    walk_hematologist_path(world)
    entry = ScreeningLogEntry.objects.get()
    values = [str(v) for v in ScreeningLogEntry.objects.values().get().values()]
    assert not any("170550" in v for v in values)
    assert not any("170550" in str(v) for row in entry.history.values() for v in row.values())
    assert len(entry.cpr_digest) == 64


def test_a_not_included_patient_is_logged_without_a_participant(world):
    hema = verified_client(world.users[Role.HEMATOLOGIST])
    before = Participant.objects.count()
    r = screen(hema, world.own, decision="declined", reason="Does not want surgery", full_name="")
    assert r.status_code == 302
    assert Participant.objects.count() == before
    assert ScreeningLogEntry.objects.get().decision == "declined"


def test_not_included_needs_a_reason(world):
    hema = verified_client(world.users[Role.HEMATOLOGIST])
    r = screen(hema, world.own, decision="not_eligible", reason="", full_name="")
    assert r.status_code == 200
    assert "reason" in r.context["form"].errors
    assert not ScreeningLogEntry.objects.exists()


def test_the_age_must_match_the_cpr_number(world):
    hema = verified_client(world.users[Role.HEMATOLOGIST])
    r = screen(hema, world.own, age="40")
    assert "age" in r.context["form"].errors
    assert not ScreeningLogEntry.objects.exists()


def test_a_repeated_cpr_warns_and_needs_confirmation(world):
    hema = verified_client(world.users[Role.HEMATOLOGIST])
    screen(hema, world.own, decision="declined", reason="No", full_name="")
    r = screen(hema, world.own, decision="declined", reason="No", full_name="")
    assert r.status_code == 200
    earlier = ScreeningLogEntry.objects.get()
    html = r.content.decode()
    assert 'data-testid="duplicate-warning"' in html
    assert reverse("trial:screening_log_detail", args=[earlier.pk]) in html
    assert ScreeningLogEntry.objects.count() == 1
    r = screen(
        hema, world.own, decision="declined", reason="No", full_name="", confirm_duplicate="on"
    )
    assert r.status_code == 302
    assert ScreeningLogEntry.objects.count() == 2


def test_a_repeat_at_another_site_shows_only_the_date(world):
    hema = verified_client(world.users[Role.HEMATOLOGIST])
    screen(hema, world.own, decision="declined", reason="No", full_name="")
    earlier = ScreeningLogEntry.objects.get()
    outsider = verified_client(world.outsider)
    r = screen(outsider, world.other, decision="declined", reason="No", full_name="")
    html = r.content.decode()
    assert 'data-testid="duplicate-warning"' in html
    assert reverse("trial:screening_log_detail", args=[earlier.pk]) not in html
    assert "AAR" not in html.split('data-testid="duplicate-warning"')[1].split("</div>")[0]
    # ... and the entry itself is not reachable from the other site.
    detail = outsider.get(reverse("trial:screening_log_detail", args=[earlier.pk]))
    assert detail.status_code == 404


def test_the_coordinator_sees_the_link_to_any_earlier_screening(world):
    from trial.screening import selectors

    entry = ScreeningLogEntryFactory(site=world.other)
    [earlier] = selectors.screening_duplicates(world.users[Role.COORDINATOR], [entry])
    assert earlier.visible and earlier.url
    [hidden] = selectors.screening_duplicates(world.users[Role.HEMATOLOGIST], [entry])
    assert not hidden.visible and not hidden.url and hidden.site_code == ""


def test_the_referral_goes_to_the_collaborating_department_and_only_once(world):
    participant = walk_hematologist_path(world)
    hema = verified_client(world.users[Role.HEMATOLOGIST])
    r = hema.post(
        reverse("trial:referral_create", args=[participant.trial_number]), {"referred_on": d(0)}
    )
    assert r.status_code == 200
    assert r.context["form"].non_field_errors()
    assert Referral.objects.filter(participant=participant).count() == 1


def test_a_surgeon_of_another_department_cannot_assess(world):
    participant = walk_hematologist_path(world)
    stranger = UserFactory(
        username="surgeon2", role=Role.SURGEON, sites=[world.other.surgical_partner]
    )
    client = verified_client(stranger)
    assert (
        client.get(
            reverse("trial:surgical_assessment", args=[participant.trial_number])
        ).status_code
        == 404
    )
    assert (
        participant.trial_number not in client.get(reverse("trial:referral_list")).content.decode()
    )
    assert participant.trial_number not in client.get(reverse("home")).content.decode()


def test_a_contraindication_ends_the_path_as_not_included(world):
    participant = walk_hematologist_path(world)
    surgeon = verified_client(world.users[Role.SURGEON])
    r = surgeon.post(
        reverse("trial:surgical_assessment", args=[participant.trial_number]),
        {
            "assessed_on": d(0),
            "contraindication": "yes",
            "contraindication_details": "Uncorrectable coagulopathy",
            "earlier_fractures": "no",
        },
    )
    assert r.status_code == 302, r.context["form"].errors
    participant.refresh_from_db()
    assert participant.status == ParticipantStatus.NOT_INCLUDED
    assert participant.not_included_reason == "contraindicated"


def test_editing_needs_a_reason_for_change(world):
    participant = walk_hematologist_path(world)
    hema = verified_client(world.users[Role.HEMATOLOGIST])
    url = reverse("trial:screening_form", args=[participant.trial_number])
    r = hema.post(url, {**SCREENING_FORM, "prior_lines": "2"})
    assert r.status_code == 200 and "reason" in r.context["form"].errors
    assert ScreeningForm.objects.get().prior_lines == 1
    r = hema.post(url, {**SCREENING_FORM, "prior_lines": "2", "reason": "Typo"})
    assert r.status_code == 302
    form = ScreeningForm.objects.get()
    assert form.prior_lines == 2
    assert form.history.first().history_change_reason == "Typo"


@pytest.mark.parametrize(
    "change, field",
    [
        ({"diagnosis_date": d(-3)}, "diagnosis_date"),
        ({"pain_onset_date": d(500)}, "pain_onset_date"),
        ({"opioid_ome_mg_per_day": "5000"}, "opioid_ome_mg_per_day"),
        ({"opioid_ome_mg_per_day": ""}, "opioid_ome_mg_per_day"),
        ({"bone_therapy_start": ""}, "bone_therapy_start"),
        ({"disease_status": "untreated"}, "prior_lines"),
    ],
)
def test_the_screening_form_explains_what_is_wrong(world, change, field):
    participant = ParticipantFactory(site=world.own, sequence=5)
    hema = verified_client(world.users[Role.HEMATOLOGIST])
    r = hema.post(
        reverse("trial:screening_form", args=[participant.trial_number]),
        {**SCREENING_FORM, **change},
    )
    assert r.status_code == 200
    assert field in r.context["form"].errors, r.context["form"].errors
    assert not ScreeningForm.objects.exists()


def test_consent_before_screening_is_refused(world):
    participant = walk_hematologist_path(world)
    Consent.objects.all().delete()
    hema = verified_client(world.users[Role.HEMATOLOGIST])
    r = hema.post(
        reverse("trial:consent", args=[participant.trial_number]),
        {
            "consent_date": d(10),
            "information_sheet": InformationSheetVersion.objects.get().pk,
            "taken_by": world.users[Role.HEMATOLOGIST].pk,
            "oral_information_given": "on",
            "written_information_given": "on",
        },
    )
    assert r.status_code == 200
    assert "consent_date" in r.context["form"].errors
    assert not Consent.objects.exists()


def test_nothing_can_be_changed_after_randomisation(world):
    participant = world.own_participant
    Participant.objects.filter(pk=participant.pk).update(status=ParticipantStatus.RANDOMISED)
    hema = verified_client(world.users[Role.HEMATOLOGIST])
    for name in ("consent", "screening_form", "eligibility", "referral_create", "not_included"):
        r = hema.get(reverse(f"trial:{name}", args=[participant.trial_number]))
        assert r.status_code == 302, name


def test_participant_page_panels_and_timeline(world):
    user = world.users[Role.HEMATOLOGIST]
    participant = screening_complete(world.own_participant, user)
    r = verified_client(user).get(participant.get_absolute_url())
    html = r.content.decode()
    assert 'data-testid="readiness"' in html
    assert 'data-testid="screening-panel"' in html
    assert 'data-testid="surgical-panel"' in html
    kinds = [e.kind for e in r.context["timeline"]]
    assert {"eligibility", "consent", "referral", "surgical"} <= set(kinds)


def test_the_monitor_sees_no_action_buttons(world):
    r = verified_client(world.users[Role.MONITOR]).get(world.own_participant.get_absolute_url())
    # The monitor's one action is a question about the data (a query), never a change to it.
    html = r.content.decode().replace('data-testid="action-query-raise"', "")
    assert 'data-testid="action-' not in html


def test_not_included_ends_the_path(world):
    hema = verified_client(world.users[Role.HEMATOLOGIST])
    p = world.own_participant
    r = hema.post(
        reverse("trial:not_included", args=[p.trial_number]),
        {"reason_code": "declined", "note": "Changed her mind"},
    )
    assert r.status_code == 302
    p.refresh_from_db()
    assert (p.status, p.not_included_reason) == ("not_included", "declined")


# --- lists keep a constant number of queries ---------------------------------------------


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx)


def _grow_log(world, n):
    user = world.users[Role.HEMATOLOGIST]
    for i in range(n):
        participant = ParticipantFactory(
            site=world.own, sequence=1000 + ScreeningLogEntry.objects.count()
        )
        ScreeningLogEntryFactory(
            site=world.own,
            created_by=user,
            decision="included" if i % 2 else "declined",
            reason="" if i % 2 else "No",
            participant=participant if i % 2 else None,
        )


def test_the_screening_log_keeps_its_query_count(world):
    client = verified_client(world.users[Role.COORDINATOR])
    url = reverse("trial:screening_log")
    _grow_log(world, 10)
    small = _queries(client, url)
    _grow_log(world, 190)
    assert _queries(client, url) == small


def _grow_referrals(world, n):
    user = world.users[Role.HEMATOLOGIST]
    start = Participant.objects.count()
    for i in range(n):
        participant = ParticipantFactory(site=world.own, sequence=2000 + start + i)
        ReferralFactory(participant=participant, referred_by=user)


@pytest.mark.parametrize("role", [Role.SURGEON, Role.COORDINATOR])
def test_the_referral_lists_keep_their_query_count(world, role):
    client = verified_client(world.users[role])
    _grow_referrals(world, 10)
    small = (_queries(client, reverse("trial:referral_list")), _queries(client, reverse("home")))
    _grow_referrals(world, 190)
    large = (_queries(client, reverse("trial:referral_list")), _queries(client, reverse("home")))
    assert large == small


def test_the_screening_log_is_scoped_by_site(world):
    ScreeningLogEntryFactory(site=world.own, reason="own-site-reason")
    ScreeningLogEntryFactory(site=world.other, reason="other-site-reason")
    html = (
        verified_client(world.users[Role.HEMATOLOGIST])
        .get(reverse("trial:screening_log"))
        .content.decode()
    )
    assert "own-site-reason" in html and "other-site-reason" not in html
    central = verified_client(world.users[Role.MONITOR])
    html = central.get(reverse("trial:screening_log")).content.decode()
    assert "own-site-reason" in html and "other-site-reason" in html
    html = central.get(reverse("trial:screening_log"), {"site": world.other.pk}).content.decode()
    assert "own-site-reason" not in html and "other-site-reason" in html


def test_a_third_site_is_invisible_to_the_hematologist(world):
    third = SiteFactory(code="CPH")
    p = ParticipantFactory(site=third, sequence=1)
    r = verified_client(world.users[Role.HEMATOLOGIST]).get(
        reverse("trial:consent", args=[p.trial_number])
    )
    assert r.status_code == 404
    assert not EligibilityAssessment.objects.exists()


def test_the_coordinator_starts_a_new_criteria_version(world):
    from trial.models import EligibilityCriteriaVersion

    client = verified_client(world.users[Role.COORDINATOR])
    url = reverse("trial:criteria_versions")
    r = client.post(url, {"effective_from": d(-30), "note": "Amendment 2"})
    assert r.status_code == 302
    latest = EligibilityCriteriaVersion.objects.order_by("-version").first()
    assert latest.version == 2 and latest.criteria.count() == 7
    html = client.get(url).content.decode()
    assert 'data-testid="criteria-version-2"' in html


def test_read_only_roles_read_the_surgical_assessment(world):
    user = world.users[Role.HEMATOLOGIST]
    participant = screening_complete(world.own_participant, user)
    url = reverse("trial:surgical_assessment", args=[participant.trial_number])
    for role in (Role.HEMATOLOGIST, Role.NURSE, Role.MONITOR):
        r = verified_client(world.users[role]).get(url)
        assert r.status_code == 200
        assert 'data-testid="surgical-summary"' in r.content.decode()
        assert '<form method="post"' not in r.content.decode().split("<main")[1]
    assert verified_client(world.users[Role.HEMATOLOGIST]).post(url, {}).status_code == 403


def test_the_consort_page_shows_the_numbers(world):
    ScreeningLogEntryFactory(site=world.own, decision="declined", reason="No")
    r = verified_client(world.users[Role.MONITOR]).get(reverse("trial:consort"))
    assert r.status_code == 200
    assert r.context["counts"].declined == 1
    r = verified_client(world.users[Role.MONITOR]).get(
        reverse("trial:consort"), {"site": world.other.pk}
    )
    assert r.context["counts"].declined == 0
