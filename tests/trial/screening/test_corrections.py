"""Corrections with a reason after randomisation (issue 17, item 5): the screening form,
eligibility checklist, consent and surgical assessment of a randomised participant are
corrected by the site's hematologist (the surgeon for the assessment) and the data manager,
each change audited with its reason; a correction that changes the stratum or makes the
participant ineligible is a protocol deviation for the coordinator, and the allocation, arm
and envelope never change."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.urls import reverse
from django.utils import translation

from randomization.models import Allocation, DeviationKind, ProtocolDeviation
from tests.conftest import verified_client
from tests.factories import IdentityFactory, randomised, screening_complete
from trial.audit import ReasonRequired
from trial.concurrency import version_of
from trial.cpr import fake_cpr
from trial.errors import ServiceError
from trial.models import (
    Consent,
    EligibilityAssessment,
    Participant,
    ParticipantStatus,
    Role,
    ScreeningForm,
    SurgicalAssessment,
)
from trial.outbox.models import PendingTask
from trial.screening import corrections, derivation
from trial.screening import services as screening_services
from trial.screening.services import SCREENING_FORM_FIELDS

pytestmark = pytest.mark.usefixtures("fixed_day")

REASON = "typo found at source data verification"


@pytest.fixture(autouse=True)
def in_english(settings):
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@pytest.fixture
def participant(world) -> Participant:
    """Screened completely (known myeloma, L1, no earlier fractures: A1N) and randomised,
    with the CPR number the derived criteria read the age from."""
    IdentityFactory(
        participant=world.own_participant,
        cpr=fake_cpr(dt.date(1950, 5, 17), world.own_participant.sex, random.Random(1950)),
    )
    screening_complete(world.own_participant, world.users[Role.HEMATOLOGIST])
    return randomised(world.own_participant, days_ago=3)


def _value(value) -> str:
    if isinstance(value, dt.date):
        return value.isoformat()
    return "" if value is None else str(value)


def screening_form_post(participant, reason=REASON, **changes) -> dict:
    form = ScreeningForm.objects.get(participant=participant)
    data = {}
    for name in SCREENING_FORM_FIELDS:
        value = changes.get(name, getattr(form, name))
        if isinstance(value, bool):
            if value:
                data[name] = "on"
        else:
            data[name] = _value(value)
    return {**data, "version": version_of(form), "reason": reason}


def eligibility_post(participant, reason=REASON, **answers) -> dict:
    assessment = EligibilityAssessment.objects.get(participant=participant)
    data = {f"c_{code}": answer for code, answer in {**assessment.answers, **answers}.items()}
    return {
        **data,
        "assessed_on": assessment.assessed_on.isoformat(),
        "version": version_of(assessment),
        "reason": reason,
    }


def consent_post(participant, reason=REASON, **changes) -> dict:
    consent = Consent.objects.get(participant=participant)
    return {
        "consent_date": _value(consent.consent_date),
        "information_sheet": consent.information_sheet_id,
        "taken_by": changes.get("taken_by", consent.taken_by).pk,
        "oral_information_given": "on",
        "written_information_given": "on",
        "version": version_of(consent),
        "reason": reason,
    }


def surgical_post(participant, reason=REASON, **changes) -> dict:
    assessment = SurgicalAssessment.objects.get(participant=participant)
    earlier = changes.get("earlier_fractures", assessment.earlier_fractures)
    return {
        "assessed_on": assessment.assessed_on.isoformat(),
        "contraindication": "yes" if assessment.contraindication else "no",
        "contraindication_details": "",
        "planned_levels": changes.get("planned_levels", assessment.planned_levels),
        "earlier_fractures": "yes" if earlier else "no",
        "earlier_fracture_levels": changes.get(
            "earlier_fracture_levels", assessment.earlier_fracture_levels
        ),
        "risk_information_given": "on",
        "version": version_of(assessment),
        "reason": reason,
    }


def url(name: str, participant) -> str:
    return reverse(f"trial:{name}", args=[participant.trial_number])


def allocation_as_it_was(participant) -> tuple:
    allocation = Allocation.objects.get(participant=participant)
    return (allocation.arm, allocation.stratum, allocation.envelope_id, allocation.randomised_at)


# --- the pages open in correction mode for those who may correct -------------------------


@pytest.mark.parametrize("role", [Role.HEMATOLOGIST, Role.DATA_MANAGER])
@pytest.mark.parametrize("page", ["screening_form", "eligibility", "consent"])
def test_the_hematologist_and_the_data_manager_open_the_pages_in_correction_mode(
    world, participant, role, page
):
    response = verified_client(world.users[role]).get(url(page, participant))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="correction-banner"' in html
    assert "This participant is randomised" in html
    assert "reason" in response.context["form"].fields


@pytest.mark.parametrize("role", [Role.SURGEON, Role.DATA_MANAGER])
def test_the_surgeon_and_the_data_manager_open_the_surgical_assessment_to_correct(
    world, participant, role
):
    response = verified_client(world.users[role]).get(url("surgical_assessment", participant))
    assert response.status_code == 200
    assert 'data-testid="correction-banner"' in response.content.decode()


def test_the_hematologist_corrects_a_typo_in_the_screening_form(world, participant):
    hema = world.users[Role.HEMATOLOGIST]
    before = allocation_as_it_was(participant)
    new_onset = ScreeningForm.objects.get(participant=participant).pain_onset_date
    new_onset -= dt.timedelta(days=2)
    response = verified_client(hema).post(
        url("screening_form", participant),
        screening_form_post(participant, pain_onset_date=new_onset),
    )
    assert response.status_code == 302, response.context["form"].errors
    form = ScreeningForm.objects.get(participant=participant)
    assert form.pain_onset_date == new_onset
    latest = form.history.order_by("-history_date", "-pk").first()
    assert latest.history_user == hema and latest.history_change_reason == REASON
    assert allocation_as_it_was(participant) == before
    assert not ProtocolDeviation.objects.exists()
    assert Participant.objects.get(pk=participant.pk).status == ParticipantStatus.RANDOMISED


def test_the_audit_trail_shows_the_reason_and_the_old_and_new_value(world, participant):
    dm = world.users[Role.DATA_MANAGER]
    old = ScreeningForm.objects.get(participant=participant).opioid_ome_mg_per_day
    response = verified_client(dm).post(
        url("screening_form", participant),
        screening_form_post(participant, opioid_ome_mg_per_day=45),
    )
    assert response.status_code == 302, response.context["form"].errors
    history = verified_client(world.users[Role.MONITOR]).get(
        reverse("trial:participant_history", args=[participant.trial_number])
    )
    entry = next(e for e in history.context["entries"] if e.reason == REASON)
    assert entry.user == dm
    assert [(str(a), str(b)) for _label, a, b in entry.changes] == [(str(old), "45.0")]
    html = history.content.decode()
    assert REASON in html and "45.0" in html


def test_the_data_manager_corrects_who_took_consent(world, participant):
    nurse = world.users[Role.NURSE]
    response = verified_client(world.users[Role.DATA_MANAGER]).post(
        url("consent", participant), consent_post(participant, taken_by=nurse)
    )
    assert response.status_code == 302, response.context["form"].errors
    consent = Consent.objects.get(participant=participant)
    assert consent.taken_by == nurse
    assert consent.history.order_by("-history_date", "-pk").first().history_change_reason == REASON


def test_a_correction_needs_a_reason_of_the_minimum_length(world, participant, settings):
    settings.REASON_MIN_LENGTH = 10
    before = ScreeningForm.objects.get(participant=participant).prior_lines
    response = verified_client(world.users[Role.HEMATOLOGIST]).post(
        url("screening_form", participant),
        screening_form_post(participant, reason="typo", prior_lines=before + 1),
    )
    assert response.status_code == 200
    assert "reason" in response.context["form"].errors
    assert ScreeningForm.objects.get(participant=participant).prior_lines == before


def test_a_correction_from_a_stale_page_is_refused_and_nothing_is_lost(world, participant):
    client = verified_client(world.users[Role.HEMATOLOGIST])
    stale = screening_form_post(participant, prior_lines=3)
    first = client.post(
        url("screening_form", participant), screening_form_post(participant, prior_lines=2)
    )
    assert first.status_code == 302
    second = client.post(url("screening_form", participant), stale)
    assert second.status_code == 200
    assert ScreeningForm.objects.get(participant=participant).prior_lines == 2


# --- who may not --------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.NURSE, Role.COORDINATOR, Role.MONITOR, Role.SURGEON])
@pytest.mark.parametrize("page", ["screening_form", "eligibility", "consent"])
def test_other_roles_cannot_correct_the_hematologists_pages(world, participant, role, page):
    before = {
        "screening_form": lambda: version_of(ScreeningForm.objects.get(participant=participant)),
        "eligibility": lambda: version_of(
            EligibilityAssessment.objects.get(participant=participant)
        ),
        "consent": lambda: version_of(Consent.objects.get(participant=participant)),
    }[page]
    version = before()
    response = verified_client(world.users[role]).post(url(page, participant), {"reason": REASON})
    assert response.status_code == 403
    assert before() == version


@pytest.mark.parametrize("role", [Role.HEMATOLOGIST, Role.NURSE, Role.MONITOR])
def test_only_the_surgeon_and_the_data_manager_correct_the_surgical_assessment(
    world, participant, role
):
    client = verified_client(world.users[role])
    page = client.get(url("surgical_assessment", participant))
    assert (
        page.status_code == 200 and 'data-testid="correction-banner"' not in page.content.decode()
    )
    response = client.post(
        url("surgical_assessment", participant),
        surgical_post(participant, planned_levels=["L1", "L2"]),
    )
    assert response.status_code == 403
    assert SurgicalAssessment.objects.get(participant=participant).planned_levels == ["L1"]


def test_a_hematologist_of_another_site_gets_404(world, participant):
    outsider = verified_client(world.outsider)
    for page in ("screening_form", "eligibility", "consent"):
        assert outsider.get(url(page, participant)).status_code == 404
        assert outsider.post(url(page, participant), {}).status_code == 404


def test_the_participant_page_offers_corrections_to_those_who_may_make_them(world, participant):
    def actions(role) -> set[str]:
        html = verified_client(world.users[role]).get(participant.get_absolute_url()).content
        return {
            name
            for name in ("screening-form", "eligibility", "consent", "surgical-assessment")
            if f'data-testid="action-{name}"' in html.decode()
        }

    assert actions(Role.HEMATOLOGIST) == {"screening-form", "eligibility", "consent"}
    assert actions(Role.DATA_MANAGER) == {
        "screening-form",
        "eligibility",
        "consent",
        "surgical-assessment",
    }
    assert actions(Role.SURGEON) == {"surgical-assessment"}
    assert actions(Role.MONITOR) == set() and actions(Role.NURSE) == set()


def test_the_data_manager_records_nothing_first(world):
    """Before randomisation, with nothing recorded, the data manager reads a notice and may not
    fill the form in: that is the clinic's work."""
    participant = world.own_participant
    client = verified_client(world.users[Role.DATA_MANAGER])
    page = client.get(url("screening_form", participant))
    assert page.status_code == 200 and page.context["form"] is None
    assert "Nothing is recorded here yet" in page.content.decode()
    assert client.post(url("screening_form", participant), {}).status_code == 200
    assert not ScreeningForm.objects.exists()


# --- deviations: the stratum or eligibility changes, the allocation stands ----------------


def test_correcting_planned_levels_changes_the_stratum_a_deviation_and_the_allocation_stands(
    world, participant, django_capture_on_commit_callbacks
):
    before = allocation_as_it_was(participant)
    response = verified_client(world.users[Role.SURGEON]).post(
        url("surgical_assessment", participant),
        surgical_post(participant, planned_levels=["L1", "L2"]),
        follow=True,
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "changes the stratum from A1N to A2N" in html
    assert SurgicalAssessment.objects.get(participant=participant).planned_levels == ["L1", "L2"]
    # The surgeon who assessed stays the assessor of a correction.
    deviation = ProtocolDeviation.objects.get()
    assert deviation.kind == DeviationKind.CORRECTION_CHANGES_STRATUM
    assert "A1N" in deviation.description and "A2N" in deviation.description
    assert REASON in deviation.description
    assert deviation.reported_by == world.users[Role.SURGEON]
    assert allocation_as_it_was(participant) == before
    assert PendingTask.objects.filter(name="randomization.deviation_notify").count() == 1
    # Stored as facts: a Danish reader gets the sentence in Danish.
    with translation.override("da"):
        assert "ændrer det stratum" in deviation.sentence
        assert "kirurgisk vurdering" in deviation.sentence.lower()

    coordinator = verified_client(world.users[Role.COORDINATOR])
    page = coordinator.get(reverse("randomization:deviations")).content.decode()
    assert f'data-testid="deviation-{deviation.pk}"' in page
    assert "A correction after randomisation changes the stratum" in page


def test_correcting_earlier_fractures_by_the_data_manager_is_a_deviation_once(world, participant):
    client = verified_client(world.users[Role.DATA_MANAGER])
    response = client.post(
        url("surgical_assessment", participant),
        surgical_post(participant, earlier_fractures=True, earlier_fracture_levels=["T8"]),
    )
    assert response.status_code == 302, response.context["form"].errors
    deviation = ProtocolDeviation.objects.get()
    assert "A1Y" in deviation.description
    # A later correction that leaves the stratum as it now is records nothing new.
    assessment = SurgicalAssessment.objects.get(participant=participant)
    assert assessment.surgeon.role == Role.SURGEON
    again = client.post(
        url("surgical_assessment", participant),
        surgical_post(participant, earlier_fracture_levels=["T7", "T8"]),
    )
    assert again.status_code == 302
    assert ProtocolDeviation.objects.count() == 1
    assert Allocation.objects.get(participant=participant).stratum == "A1N"


def test_correcting_the_myeloma_status_changes_the_cohort(world, participant):
    # Newly diagnosed: the diagnosis is recent and the pain began after it.
    form = ScreeningForm.objects.get(participant=participant)
    response = verified_client(world.users[Role.HEMATOLOGIST]).post(
        url("screening_form", participant),
        screening_form_post(
            participant,
            myeloma_status="new",
            diagnosis_date=form.pain_onset_date,
            prior_lines=0,
            disease_status="untreated",
            bone_therapy="none",
            bone_therapy_start=None,
        ),
    )
    assert response.status_code == 302, response.context["form"].errors
    assert ProtocolDeviation.objects.get().kind == DeviationKind.CORRECTION_CHANGES_STRATUM
    assert "B1N" in ProtocolDeviation.objects.get().description


def test_a_correction_that_makes_the_participant_ineligible_is_a_deviation(world, participant):
    assessment = EligibilityAssessment.objects.get(participant=participant)
    # A criterion the records cannot answer (one they answer is derived, not corrected here).
    inclusion = next(
        c
        for c in assessment.version.criteria.filter(assessed_by="hematologist", kind="inclusion")
        if not derivation.derives(c.code)
    )
    before = allocation_as_it_was(participant)
    response = verified_client(world.users[Role.HEMATOLOGIST]).post(
        url("eligibility", participant),
        eligibility_post(participant, **{inclusion.code: "no"}),
        follow=True,
    )
    assert response.status_code == 200
    assert "no longer meets the eligibility criteria" in response.content.decode()
    assert (
        EligibilityAssessment.objects.get(participant=participant).answers[inclusion.code] == "no"
    )
    deviation = ProtocolDeviation.objects.get()
    assert deviation.kind == DeviationKind.CORRECTION_MAKES_INELIGIBLE
    assert inclusion.text() in deviation.description
    assert allocation_as_it_was(participant) == before


def test_the_correction_keeps_the_criteria_version_and_the_assessor(world, participant):
    from trial.screening.services import criteria_version_create

    assessment = EligibilityAssessment.objects.get(participant=participant)
    assessor, version = assessment.assessed_by, assessment.version
    criteria_version_create(
        user=world.users[Role.COORDINATOR],
        effective_from=assessment.version.effective_from,
        note="v2",
    )
    response = verified_client(world.users[Role.DATA_MANAGER]).post(
        url("eligibility", participant), eligibility_post(participant)
    )
    assert response.status_code == 302, response.context["form"].errors
    assessment.refresh_from_db()
    assert assessment.version == version and assessment.assessed_by == assessor


# --- the services ------------------------------------------------------------------------


def test_the_services_refuse_a_randomised_participant_without_the_correction_path(
    world, participant
):
    hema = world.users[Role.HEMATOLOGIST]
    data = {n: getattr(participant.screening_form, n) for n in SCREENING_FORM_FIELDS}
    with pytest.raises(ServiceError):
        screening_services.screening_form_record(
            participant=participant, user=hema, data=data, reason=REASON
        )
    consent = Consent.objects.get(participant=participant)
    with pytest.raises(ServiceError):
        screening_services.consent_record(
            participant=participant,
            user=hema,
            consent_date=consent.consent_date,
            information_sheet=consent.information_sheet,
            taken_by=consent.taken_by,
            oral_information_given=True,
            written_information_given=True,
            reason=REASON,
        )


def test_a_correction_corrects_only_what_is_recorded(world, participant):
    ScreeningForm.objects.filter(participant=participant).delete()
    with pytest.raises(ServiceError):
        screening_services.screening_form_record(
            participant=participant,
            user=world.users[Role.DATA_MANAGER],
            data={},
            reason=REASON,
            correction=True,
        )
    assert not ScreeningForm.objects.filter(participant=participant).exists()


def test_the_correction_service_asks_a_reason_first(world, participant, settings):
    settings.REASON_MIN_LENGTH = 10
    saved = []
    with pytest.raises(ReasonRequired):
        corrections.correction_record(
            participant=participant,
            user=world.users[Role.HEMATOLOGIST],
            reason="short",
            what="consent",
            save=lambda: saved.append(1),
        )
    assert saved == []
