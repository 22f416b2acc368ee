"""Services of the screening path (trial/screening/services.py): rules, messages and the
audit trail."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import translation

from tests.clock import FIXED_DAY
from tests.conftest import verified_client
from tests.factories import (
    ConsentFactory,
    ParticipantFactory,
    ReferralFactory,
    ScreeningFormFactory,
    ScreeningLogEntryFactory,
    SurgicalAssessmentFactory,
    UserFactory,
    derivation_records,
    eligibility_all_met,
    ensure_default_criteria,
    screening_complete,
)
from trial.errors import ServiceError
from trial.models import (
    Consent,
    EligibilityAssessment,
    EligibilityCriteriaVersion,
    EligibilityCriterion,
    Identity,
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
from trial.screening import services as screening_services
from trial.screening.selectors import consort_counts, current_criteria_version, eligibility_result


@pytest.fixture(autouse=True)
def in_english(settings):
    """Messages are asserted in the source language; test_i18n covers the Danish catalogue."""
    from django.utils import translation

    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _reference_data(db):
    ensure_default_criteria()


# Dates here are computed before the code under test asks the clock: both see FIXED_DAY.
TODAY = FIXED_DAY
pytestmark = pytest.mark.usefixtures("fixed_day")
CPR = "170550-1234"


def ago(days: int) -> dt.date:
    return TODAY - dt.timedelta(days=days)


def log(world, **kw):
    data = {
        "site": world.own,
        "user": world.users[Role.HEMATOLOGIST],
        "screened_on": ago(3),
        "cpr": CPR,
        "age": 76,
        "sex": "F",
        "myeloma_status": "known",
        "decision": "included",
        "full_name": "Karen Marie Hansen",
    }
    data.update(kw)
    return screening_services.screening_log_entry_create(**data)


# --- screening log --------------------------------------------------------------------------


def test_an_included_patient_becomes_a_participant_with_identity(world):
    entry = log(world)
    participant = entry.participant
    assert participant.trial_number == "AAR-002"  # AAR-001 is the world's participant
    assert participant.initials == "KMH"
    assert participant.year_of_birth == 1950
    assert Identity.objects.get(participant=participant).cpr == CPR


def test_the_log_keeps_only_a_keyed_digest_of_the_cpr(world, settings):
    entry = log(world, decision="declined", reason="No", full_name="")
    assert entry.cpr_digest == screening_services.cpr_digest("1705501234")  # normalised first
    assert "1705501234" not in entry.cpr_digest and CPR not in entry.cpr_digest
    settings.SECRET_KEY = "another-key-another-key-another-key-another-key"
    assert screening_services.cpr_digest(CPR) != entry.cpr_digest  # keyed, not a plain hash


def test_a_repeat_raises_duplicate_until_confirmed(world):
    first = log(world, decision="declined", reason="No", full_name="")
    with pytest.raises(screening_services.DuplicateScreening) as caught:
        log(world, site=world.other, user=world.outsider, decision="declined", reason="No")
    assert caught.value.entries == [first]
    log(world, decision="declined", reason="No", full_name="", duplicate_confirmed=True)
    assert ScreeningLogEntry.objects.count() == 2


def test_a_failed_inclusion_leaves_nothing_behind(world):
    before = (Participant.objects.count(), Identity.objects.count())
    with pytest.raises(ValidationError):
        log(world, screened_on=TODAY + dt.timedelta(days=1))
    with pytest.raises(ValidationError):
        log(world, full_name="X")  # initials "X" are too short
    assert (Participant.objects.count(), Identity.objects.count()) == before
    assert not ScreeningLogEntry.objects.exists()


def test_not_included_needs_a_reason(world):
    with pytest.raises(ValidationError) as caught:
        log(world, decision="not_eligible", reason="  ", full_name="")
    assert "reason" in caught.value.message_dict


# --- screening form ------------------------------------------------------------------------


FORM = {
    "myeloma_status": "known",
    "diagnosis_date": ago(400),
    "iss_stage": "II",
    "riss_stage": "III",
    "prior_lines": 2,
    "disease_status": "PD",
    "bone_therapy": "denosumab",
    "bone_therapy_start": ago(300),
    "paracetamol": True,
    "nsaid": False,
    "opioid": True,
    "opioid_ome_mg_per_day": Decimal("45"),
    "previous_spinal_radiotherapy": True,
    "pain_onset_date": ago(10),
}


@pytest.mark.parametrize(
    "change, field, words",
    [
        ({"pain_onset_date": ago(-1)}, "pain_onset_date", "future"),
        ({"pain_onset_date": ago(500)}, "pain_onset_date", "after the diagnosis"),
        ({"opioid_ome_mg_per_day": Decimal("0")}, "opioid_ome_mg_per_day", "between 1 and 2000"),
        ({"opioid": False}, "opioid_ome_mg_per_day", "empty"),
        ({"bone_therapy": "none"}, "bone_therapy_start", "empty"),
        ({"disease_status": "untreated"}, "prior_lines", "no lines"),
        ({"diagnosis_date": dt.date(1900, 1, 1)}, "diagnosis_date", "born"),
    ],
)
def test_the_screening_form_rules_have_clear_messages(world, change, field, words):
    from django.utils import translation

    with translation.override("en"), pytest.raises(ValidationError) as caught:
        screening_services.screening_form_record(
            participant=world.own_participant,
            user=world.users[Role.HEMATOLOGIST],
            data={**FORM, **change},
        )
    assert field in caught.value.message_dict
    assert words in " ".join(caught.value.message_dict[field])
    assert not ScreeningForm.objects.exists()


def test_new_myeloma_may_have_pain_before_the_diagnosis(world):
    form = screening_services.screening_form_record(
        participant=world.own_participant,
        user=world.users[Role.HEMATOLOGIST],
        data={**FORM, "myeloma_status": "new", "pain_onset_date": ago(420)},
    )
    assert form.pk


def test_a_correction_needs_a_reason_and_is_audited(world):
    user = world.users[Role.HEMATOLOGIST]
    screening_services.screening_form_record(
        participant=world.own_participant, user=user, data=FORM
    )
    with pytest.raises(ValidationError):
        screening_services.screening_form_record(
            participant=world.own_participant, user=user, data={**FORM, "prior_lines": 3}
        )
    form = screening_services.screening_form_record(
        participant=world.own_participant, user=user, data={**FORM, "prior_lines": 3}, reason="Typo"
    )
    latest = form.history.first()
    assert (latest.prior_lines, latest.history_change_reason, latest.history_user) == (
        3,
        "Typo",
        user,
    )


# --- eligibility versions --------------------------------------------------------------------


def test_answers_are_stored_against_the_version_in_force(world):
    user = world.users[Role.HEMATOLOGIST]
    v1 = current_criteria_version()
    answers = {c.code: "yes" for c in v1.criteria.filter(assessed_by="hematologist")}
    derivation_records(world.own_participant, user)
    first = screening_services.eligibility_record(
        participant=world.own_participant, user=user, answers=answers, assessed_on=TODAY
    )
    assert first.version == v1

    coordinator = world.users[Role.COORDINATOR]
    v2 = screening_services.criteria_version_create(
        user=coordinator, effective_from=TODAY, note="New"
    )
    assert v2.version == v1.version + 1
    assert list(v2.criteria.values_list("code", flat=True)) == list(
        v1.criteria.values_list("code", flat=True)
    )
    EligibilityCriterion.objects.create(
        version=v2,
        code="new_rule",
        kind="exclusion",
        text_en="Pregnant",
        text_da="Gravid",
        order=99,
    )
    first.refresh_from_db()
    assert first.version == v1 and first.answers == answers  # old answers unchanged

    other = ParticipantFactory(site=world.own, sequence=50)
    derivation_records(other, user)
    second = screening_services.eligibility_record(
        participant=other, user=user, answers={**answers, "new_rule": "no"}, assessed_on=TODAY
    )
    assert second.version == v2


def test_a_future_version_is_not_yet_in_force(world):
    v1 = current_criteria_version()
    screening_services.criteria_version_create(
        user=world.users[Role.COORDINATOR], effective_from=TODAY + dt.timedelta(days=30), note="x"
    )
    assert current_criteria_version() == v1


def test_a_new_version_cannot_start_before_the_last(world):
    with pytest.raises(ValidationError):
        screening_services.criteria_version_create(
            user=world.users[Role.COORDINATOR], effective_from=dt.date(2000, 1, 1), note="x"
        )
    assert EligibilityCriteriaVersion.objects.count() == 1


def test_answers_must_belong_to_the_version(world):
    with pytest.raises(ValidationError):
        screening_services.eligibility_record(
            participant=world.own_participant,
            user=world.users[Role.HEMATOLOGIST],
            answers={"made_up": "yes"},
            assessed_on=TODAY,
        )
    assert not EligibilityAssessment.objects.exists()


def test_the_derived_result_lists_failing_criteria(world):
    user = world.users[Role.HEMATOLOGIST]
    version = current_criteria_version()
    answers = {c.code: "yes" for c in version.criteria.filter(assessed_by="hematologist")}
    answers["questionnaires_language"] = "no"
    derivation_records(world.own_participant, user)
    screening_services.eligibility_record(
        participant=world.own_participant, user=user, answers=answers, assessed_on=TODAY
    )
    result = eligibility_result(world.own_participant)
    assert result.status == "not_eligible"
    assert len(result.reasons) == 1


# --- consent ------------------------------------------------------------------------------


def consent(world, participant, **kw):
    user = world.users[Role.HEMATOLOGIST]
    data = {
        "participant": participant,
        "user": user,
        "consent_date": TODAY,
        "information_sheet": InformationSheetVersion.objects.get(),
        "taken_by": user,
        "oral_information_given": True,
        "written_information_given": True,
    }
    data.update(kw)
    return screening_services.consent_record(**data)


def test_consent_before_the_screening_date_is_refused(world):
    participant = log(world, screened_on=ago(5)).participant
    with pytest.raises(ValidationError) as caught:
        consent(world, participant, consent_date=ago(6))
    assert "consent_date" in caught.value.message_dict
    assert consent(world, participant, consent_date=ago(5)).pk


@pytest.mark.parametrize(
    "status", [ParticipantStatus.RANDOMISED, ParticipantStatus.COMPLETED, "withdrawn"]
)
def test_consent_after_randomisation_is_refused(world, status):
    participant = world.own_participant
    Participant.objects.filter(pk=participant.pk).update(status=status)
    with pytest.raises(ValidationError):
        consent(world, participant)
    assert not Consent.objects.exists()


def test_consent_needs_oral_and_written_information(world):
    with pytest.raises(ValidationError):
        consent(world, world.own_participant, written_information_given=False)


def test_an_inactive_information_sheet_is_refused(world):
    sheet = InformationSheetVersion.objects.get()
    sheet.active = False
    sheet.save()
    with pytest.raises(ValidationError):
        consent(world, world.own_participant)


# --- referral and surgical assessment ------------------------------------------------------


def refer(world, participant=None):
    return screening_services.referral_create(
        participant=participant or world.own_participant,
        user=world.users[Role.HEMATOLOGIST],
        referred_on=TODAY,
    )


def assess(world, participant=None, user=None, **kw):
    data = {
        "participant": participant or world.own_participant,
        "user": user or world.users[Role.SURGEON],
        "assessed_on": TODAY,
        "contraindication": False,
        "planned_levels": ["l1", "T12"],
        "earlier_fractures": False,
        "earlier_fracture_levels": [],
        "risk_information_given": True,
    }
    data.update(kw)
    return screening_services.surgical_assessment_record(**data)


def test_the_referral_goes_to_the_surgical_partner_once(world):
    referral = refer(world)
    assert referral.surgical_site == world.own.surgical_partner
    with pytest.raises(ServiceError):
        refer(world)
    assert Referral.objects.count() == 1


def test_a_site_without_surgical_partner_cannot_refer(world):
    type(world.own).objects.filter(pk=world.own.pk).update(surgical_partner=None)
    world.own_participant.site.refresh_from_db()
    with pytest.raises(ServiceError):
        refer(world)


def test_the_assessment_normalises_levels_and_closes_the_referral(world):
    referral = refer(world)
    assessment = assess(world)
    assert assessment.planned_levels == ["T12", "L1"]
    referral.refresh_from_db()
    assert referral.status == ReferralStatus.ASSESSED


@pytest.mark.parametrize(
    "change, field",
    [
        ({"planned_levels": []}, "planned_levels"),
        ({"planned_levels": ["T1", "T2", "T3", "T4", "T5"]}, "planned_levels"),
        ({"planned_levels": ["S1"]}, "planned_levels"),
        ({"earlier_fractures": True, "earlier_fracture_levels": []}, "earlier_fracture_levels"),
        ({"earlier_fractures": True, "earlier_fracture_levels": ["L1"]}, "earlier_fracture_levels"),
        (
            {"earlier_fractures": False, "earlier_fracture_levels": ["T5"]},
            "earlier_fracture_levels",
        ),
        ({"contraindication": True, "contraindication_details": ""}, "contraindication_details"),
        ({"risk_information_given": False}, "risk_information_given"),
        ({"assessed_on": TODAY + dt.timedelta(days=1)}, "assessed_on"),
    ],
)
def test_the_assessment_rules(world, change, field):
    refer(world)
    with pytest.raises(ValidationError) as caught:
        assess(world, **change)
    assert field in caught.value.message_dict
    assert not SurgicalAssessment.objects.exists()
    assert Referral.objects.get().status == ReferralStatus.OPEN


def test_only_the_collaborating_department_assesses(world):
    refer(world)
    stranger = UserFactory(username="s2", role=Role.SURGEON, sites=[world.other.surgical_partner])
    with pytest.raises(ServiceError):
        assess(world, user=stranger)
    assert not SurgicalAssessment.objects.exists()


def test_no_assessment_without_a_referral(world):
    with pytest.raises(ServiceError):
        assess(world)


def test_a_contraindication_ends_as_not_included_and_a_correction_reopens(world):
    refer(world)
    assess(world, contraindication=True, contraindication_details="Sepsis", planned_levels=[])
    participant = Participant.objects.get(pk=world.own_participant.pk)
    assert participant.status == ParticipantStatus.NOT_INCLUDED
    assert participant.not_included_reason == "contraindicated"
    assess(world, participant=participant, reason="Sepsis treated, reassessed")
    participant.refresh_from_db()
    assert participant.status == ParticipantStatus.SCREENING


def test_not_included_cancels_the_open_referral(world):
    refer(world)
    screening_services.participant_not_included(
        participant=world.own_participant,
        user=world.users[Role.HEMATOLOGIST],
        reason_code="declined",
        note="Changed her mind",
    )
    referral = Referral.objects.get()
    assert referral.status == ReferralStatus.CANCELLED
    assert referral.history.first().history_change_reason


# --- readiness and CONSORT -----------------------------------------------------------------


def test_readiness_links_point_to_the_pages_that_fix_them(world):
    urls = {b.code: b.url for b in randomisation_blocker_details(world.own_participant)}
    number = world.own_participant.trial_number
    assert urls["screening_form"] == f"/participants/{number}/screening-form/"
    assert urls["eligibility"] == f"/participants/{number}/eligibility/"
    assert urls["consent"] == f"/participants/{number}/consent/"
    assert urls["surgical_assessment"] == f"/participants/{number}/referral/"


def test_consort_counts(world):
    hema = world.users[Role.HEMATOLOGIST]
    ScreeningLogEntryFactory(site=world.own, decision="not_eligible", reason="No lesion")
    ScreeningLogEntryFactory(site=world.own, decision="not_eligible", reason="No lesion")
    ScreeningLogEntryFactory(site=world.other, decision="not_eligible", reason="Too old pain")
    ScreeningLogEntryFactory(site=world.own, decision="declined", reason="No")
    ready = screening_complete(ParticipantFactory(site=world.own, sequence=10), hema)
    contraindicated = ParticipantFactory(site=world.own, sequence=11, status="not_included")
    Participant.objects.filter(pk=contraindicated.pk).update(not_included_reason="contraindicated")
    SurgicalAssessmentFactory(participant=contraindicated, contraindication=True)
    referred = ParticipantFactory(site=world.own, sequence=12)
    ReferralFactory(participant=referred)
    ParticipantFactory(site=world.own, sequence=13, status="randomised")
    ParticipantFactory(site=world.own, sequence=14, status="deceased")
    declined = ParticipantFactory(site=world.own, sequence=15, status="not_included")
    Participant.objects.filter(pk=declined.pk).update(not_included_reason="declined")

    counts = consort_counts()
    # 4 log entries + 8 participants without one (world's two, and the six above)
    assert counts.screened == 4 + 8
    assert counts.not_eligible == 3
    # Log entries carry no criterion code: counted as such, never by their free text.
    rows = counts.not_eligible_by_criterion
    assert [(row["code"], row["count"]) for row in rows] == [("screening_log", 3)]
    assert rows[0]["label"] and rows[0]["label"] != "screening_log"
    assert counts.declined == 2
    reasons = {row["code"]: row["count"] for row in counts.not_included_by_reason}
    assert reasons == {"not_eligible": 3, "declined": 2, "contraindicated": 1}
    assert counts.referred == 3  # ready, contraindicated, referred
    assert counts.contraindicated == 1
    assert counts.randomised == 2
    readiness = {b.code for b in randomisation_blocker_details(ready)}
    assert counts.ready == (0 if readiness else 1)

    own = consort_counts(world.own)
    assert own.not_eligible == 2 and own.screened == 3 + 7


def test_consort_counts_not_eligible_patients_by_failed_criterion_code(world):
    hema = world.users[Role.HEMATOLOGIST]

    def ended_not_eligible(sequence, **answers):
        participant = ParticipantFactory(site=world.own, sequence=sequence)
        assessment = eligibility_all_met(participant, hema)
        assessment.answers.update(answers)
        assessment.save()
        screening_services.participant_not_included(
            participant=participant, user=hema, reason_code="not_eligible", note="free text"
        )
        return participant

    ended_not_eligible(20, new_vertebral_lesion="no")
    ended_not_eligible(21, new_vertebral_lesion="no", pain_within_3_months="no")
    ended_not_eligible(22)  # nothing failed on record
    contraindicated = ended_not_eligible(23)
    SurgicalAssessmentFactory(participant=contraindicated, contraindication=True)
    ScreeningLogEntryFactory(site=world.own, decision="not_eligible", reason="whatever")
    ScreeningLogEntryFactory(site=world.own, decision="other", reason="moved abroad")
    ScreeningLogEntryFactory(site=world.other, decision="not_eligible", reason="x")

    with translation.override("en"):
        counts = consort_counts(world.own)
    by_code = {row["code"]: row for row in counts.not_eligible_by_criterion}
    assert {code: row["count"] for code, row in by_code.items()} == {
        "new_vertebral_lesion": 2,
        "pain_within_3_months": 1,
        "surgical_contraindication": 1,
        "criterion_not_recorded": 1,
        "screening_log": 1,
    }
    assert by_code["new_vertebral_lesion"]["label"].startswith("Newly diagnosed vertebral")
    assert counts.not_eligible_by_criterion[0]["code"] == "new_vertebral_lesion"
    assert counts.not_eligible == 5
    assert counts.other == 1
    assert {r["code"]: r["count"] for r in counts.not_included_by_reason} == {
        "not_eligible": 5,
        "other": 1,
    }
    assert "free text" not in str(counts.as_dict()) and "moved abroad" not in str(counts.as_dict())


def test_the_consort_page_shows_the_criterion_codes(world):
    hema = world.users[Role.HEMATOLOGIST]
    participant = ParticipantFactory(site=world.own, sequence=20)
    assessment = eligibility_all_met(participant, hema)
    assessment.answers["adult_myeloma"] = "no"
    assessment.save()
    screening_services.participant_not_included(
        participant=participant, user=hema, reason_code="not_eligible", note="under 18"
    )
    client = verified_client(world.users[Role.COORDINATOR])
    with translation.override("en"):
        page = client.get(reverse("trial:consort")).content.decode()
    assert 'data-criterion="adult_myeloma"' in page
    assert 'data-reason="not_eligible"' in page
    assert "under 18" not in page


@pytest.mark.django_db
def test_demo_covers_every_step_of_the_path():
    from io import StringIO

    from django.core.management import call_command

    call_command("seed_demo", stdout=StringIO())
    aar = Participant.objects.filter(site__code="AAR", status="screening")
    have = {
        "only logged": aar.filter(screening_form__isnull=True).exists(),
        "form": aar.filter(screening_form__isnull=False, eligibility__isnull=True).exists(),
        "checklist": aar.filter(eligibility__isnull=False, consent__isnull=True).exists(),
        "consent": aar.filter(consent__isnull=False, referrals__isnull=True).exists(),
        "referred": aar.filter(referrals__status="open").exists(),
        "assessed": aar.filter(surgical_assessment__contraindication=False).exists(),
    }
    assert all(have.values()), have
    assert Participant.objects.filter(not_included_reason="contraindicated").exists()
    counts = consort_counts()
    assert counts.not_eligible and counts.declined and counts.contraindicated
    assert counts.randomised
    # Ready means ready: the screening path and the baseline questionnaires are complete.
    ready = [p for p in aar if not randomisation_blocker_details(p)]
    assert ready, {p.trial_number: randomisation_blocker_details(p) for p in aar}
    assert counts.ready >= len(ready)
    for p in Participant.objects.exclude(status__in=["screening", "not_included"]):
        assert SurgicalAssessment.objects.filter(participant=p).exists(), p


def test_the_factories_helpers_agree_with_the_services(world):
    user = world.users[Role.HEMATOLOGIST]
    p = ParticipantFactory(site=world.own, sequence=30)
    ScreeningFormFactory(participant=p, completed_by=user).full_clean()
    eligibility_all_met(p, user).full_clean()
    ConsentFactory(participant=p, taken_by=user).full_clean()
