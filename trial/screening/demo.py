"""The screening path in the demo trial (a DemoStep registered in trial/screening/wiring.py).

Idempotent: a site whose screening log has entries is left alone, and only the base demo
participants (not those added with --participants N) get a screening path.

- Participants in screening are spread over the steps of the path: only logged, screening
  form filled, checklist answered, consent recorded, referred (awaiting the surgeon), and
  ready except for the baseline questionnaires. Aarhus gets one of each (the demo
  hematologist's site); the other sites get the last two.
- The base 'not included' participant of each site was assessed with a contraindication.
- Randomised, completed, withdrawn and deceased participants get a complete path in the past;
  the analysis cohort's (trial.participants.demo.ANALYSIS_COHORT) begins two weeks before its
  planned randomisation, with the cohort and strata its plan names.
- Each site's log also holds patients not included (not eligible, declined, other), so the
  CONSORT page has numbers.
"""

from __future__ import annotations

import datetime as dt
import random

from django.contrib.auth.models import Permission
from django.utils import timezone

from trial import audit
from trial.audit import audited_save
from trial.cpr import fake_cpr
from trial.models import (
    Answer,
    Consent,
    CriterionAssessor,
    CriterionKind,
    EligibilityAssessment,
    EligibilityCriterion,
    InformationSheetVersion,
    NotIncludedReason,
    Participant,
    ParticipantStatus,
    Referral,
    ReferralStatus,
    Role,
    ScreeningDecision,
    ScreeningForm,
    ScreeningLogEntry,
    Site,
    SiteKind,
    SurgicalAssessment,
    User,
)
from trial.screening import services as screening_services
from trial.screening.selectors import current_criteria_version

STEPS = ("logged", "form", "checklist", "consent", "referred", "ready")

# (decision, reason, criteria not met): the codes are the default criteria's (migration 0003).
NOT_INCLUDED = [
    (
        ScreeningDecision.NOT_ELIGIBLE,
        "No newly diagnosed vertebral lesion",
        ["new_vertebral_lesion"],
    ),
    (
        ScreeningDecision.NOT_ELIGIBLE,
        "Known myeloma: fracture pain for more than 3 months",
        ["pain_within_3_months"],
    ),
    (
        ScreeningDecision.NOT_ELIGIBLE,
        "Cannot fill in questionnaires in Danish or English",
        ["questionnaires_language"],
    ),
    (ScreeningDecision.DECLINED, "Does not want to take part", []),
    (ScreeningDecision.DECLINED, "Prefers not to be randomised", []),
    (ScreeningDecision.OTHER, "Too ill to take part (transferred to intensive care)", []),
]

# Days before today at which a past participant's path began, by status (the analysis cohort's
# by its plan: past_start_days).
PAST_START = {
    ParticipantStatus.RANDOMISED: 120,
    ParticipantStatus.COMPLETED: 430,
    ParticipantStatus.WITHDRAWN: 300,
    ParticipantStatus.DECEASED: 300,
}

# Days from the start of a past path to randomisation.
PATH_DAYS = 14


def past_start_days(participant: Participant) -> int:
    """Days before today at which the past screening path of a participant in a later state
    began: by the analysis cohort's plan, else by its status (PAST_START)."""
    from trial.participants.demo import cohort_member

    member = cohort_member(participant)
    if member is not None:
        return member.randomised_days_ago + PATH_DAYS
    return PAST_START[ParticipantStatus(participant.status)]


ADMIN_CODENAMES: dict[str, list[str]] = {
    Role.COORDINATOR: [
        "view_eligibilitycriteriaversion",
        "change_eligibilitycriteriaversion",
        "view_eligibilitycriterion",
        "add_eligibilitycriterion",
        "change_eligibilitycriterion",
        "delete_eligibilitycriterion",
        "view_informationsheetversion",
        "add_informationsheetversion",
        "change_informationsheetversion",
    ],
    Role.DATA_MANAGER: [
        "view_eligibilitycriteriaversion",
        "view_eligibilitycriterion",
        "view_informationsheetversion",
    ],
}


def seed_screening(context: dict) -> None:
    users: dict[str, User] = context["users"]
    rng = random.Random(20261125)
    today = timezone.localdate()
    _admin_permissions(users)
    from trial.participants.demo import demo_size

    for site in Site.objects.filter(kind=SiteKind.HEMATOLOGY, active=True).order_by("code"):
        if site.screening_log.exists():
            continue  # seeded before: participants added later stay without a screening path
        hematologist = _staff(users, site, Role.HEMATOLOGIST) or users.get("hematologist")
        surgeon = _staff(users, site.surgical_partner, Role.SURGEON) or users.get("coordinator")
        if hematologist is None or surgeon is None:
            continue
        # Only the base participants and the analysis cohort: load-test participants
        # (--participants N) would make this slow and add nothing to show.
        pending = list(
            site.participants.filter(sequence__lte=demo_size())
            .select_related("identity")
            .order_by("sequence")
        )
        in_screening = [p for p in pending if p.status == ParticipantStatus.SCREENING]
        # The last steps for the existing participants; Aarhus also gets the early steps.
        if site.code == "AAR" and in_screening:
            for step in STEPS[: len(STEPS) - len(in_screening[-2:])]:
                _screen_new(site, hematologist, surgeon, step, rng, today)
            _screen_not_eligible(site, hematologist, surgeon, rng, today)
            _screen_referral_cancelled(site, hematologist, surgeon, rng, today)
        for participant, step in zip(in_screening[-2:], STEPS[-2:], strict=False):
            _screen_existing(participant, hematologist, surgeon, step, today)
        for participant in pending:
            if participant.status == ParticipantStatus.NOT_INCLUDED:
                _contraindicated(participant, hematologist, surgeon, today)
            elif participant.status in PAST_START:
                _past_path(participant, hematologist, surgeon, today)
        known_codes = set(EligibilityCriterion.objects.values_list("code", flat=True))
        for i, (decision, reason, failed) in enumerate(NOT_INCLUDED):
            born = dt.date(rng.randint(1935, 1980), rng.randint(1, 12), rng.randint(1, 28))
            sex = rng.choice("FM")
            screened_on = today - dt.timedelta(days=10 + 25 * i)
            screening_services.screening_log_entry_create(
                site=site,
                user=hematologist,
                screened_on=screened_on,
                cpr=fake_cpr(born, sex, rng),
                age=_age(born, screened_on),
                sex=sex,
                myeloma_status=rng.choice(["new", "known"]),
                decision=decision,
                reason=reason,
                failed_criteria=[c for c in failed if c in known_codes],
                duplicate_confirmed=True,
            )


def _admin_permissions(users: dict[str, User]) -> None:
    for user in users.values():
        codenames = ADMIN_CODENAMES.get(user.role)
        if codenames:
            user.user_permissions.add(
                *Permission.objects.filter(content_type__app_label="trial", codename__in=codenames)
            )


def _staff(users: dict[str, User], site: Site | None, role: str) -> User | None:
    if site is None:
        return None
    return next(
        (u for u in users.values() if u.role == role and u.memberships.filter(site=site).exists()),
        None,
    )


def _age(born: dt.date, day: dt.date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def _screen_new(site, hematologist, surgeon, step, rng, today) -> None:
    from trial.participants.demo import PersonMaker, _clean_initials

    person = PersonMaker(rng, seed=rng.randint(0, 10**6))()
    screened_on = today - dt.timedelta(days=6)
    entry = screening_services.screening_log_entry_create(
        site=site,
        user=hematologist,
        screened_on=screened_on,
        cpr=person["cpr"],
        age=max(18, _age(person["born"], screened_on)),
        sex=person["sex"],
        myeloma_status="known",
        decision=ScreeningDecision.INCLUDED,
        full_name=person["full_name"],
        initials=_clean_initials(person["initials"]),
        phone=person["phone"],
        duplicate_confirmed=True,
    )
    _advance(entry.participant, hematologist, surgeon, step, today)


def _screen_not_eligible(site, hematologist, surgeon, rng, today) -> None:
    """Registered with known myeloma and fracture pain for seven months, then found not
    eligible on the checklist, which derives that from the screening form: CONSORT counts
    its criterion."""
    _screen_new(site, hematologist, surgeon, "logged", rng, today)
    participant = site.participants.order_by("-sequence").first()
    screening_services.screening_form_record(
        participant=participant,
        user=hematologist,
        data={**_form_data(today, start_days=6), "pain_onset_date": today - dt.timedelta(days=216)},
    )
    answers = _answers_all_met(current_criteria_version())
    answers.pop("pain_within_3_months")  # derived from the pain onset: not met
    screening_services.eligibility_record(
        participant=participant,
        user=hematologist,
        answers=answers,
        assessed_on=today - dt.timedelta(days=5),
    )
    screening_services.participant_not_included(
        participant=participant,
        user=hematologist,
        reason_code=NotIncludedReason.NOT_ELIGIBLE,
        note="Smerter fra frakturen i mere end 3 måneder.",
    )


def _screen_referral_cancelled(site, hematologist, surgeon, rng, today) -> None:
    """Referred by mistake before the consent was complete: the referral is cancelled."""
    _screen_new(site, hematologist, surgeon, "referred", rng, today)
    participant = site.participants.order_by("-sequence").first()
    screening_services.referral_cancel(
        participant=participant, user=hematologist, reason="Henvist ved en fejl (forkert afsnit)"
    )


def _screen_existing(participant, hematologist, surgeon, step, today) -> None:
    screened_on = today - dt.timedelta(days=6)
    _log_existing(participant, hematologist, screened_on)
    _advance(participant, hematologist, surgeon, step, today)


def _log_existing(participant, user, screened_on, *, save=audit.audited_save) -> None:
    identity = getattr(participant, "identity", None)
    born_year = participant.year_of_birth
    entry = ScreeningLogEntry(
        site=participant.site,
        screened_on=screened_on,
        age=max(18, min(110, screened_on.year - born_year)),
        sex=participant.sex,
        myeloma_status="known",
        decision=ScreeningDecision.INCLUDED,
        cpr_digest=screening_services.cpr_digest(identity.cpr) if identity else "",
        participant=participant,
        created_by=user,
    )
    save(entry, user=user)


def _answers_all_met(version) -> dict[str, str]:
    return {
        c.code: (Answer.YES if c.kind == CriterionKind.INCLUSION else Answer.NO)
        for c in version.criteria.filter(assessed_by=CriterionAssessor.HEMATOLOGIST)
    }


def _form_data(today, *, start_days) -> dict:
    return {
        "myeloma_status": "known",
        "diagnosis_date": today - dt.timedelta(days=start_days + 500),
        "iss_stage": "II",
        "riss_stage": "II",
        "prior_lines": 1,
        "disease_status": "VGPR",
        "bone_therapy": "zoledronic_acid",
        "bone_therapy_start": today - dt.timedelta(days=start_days + 450),
        "paracetamol": True,
        "nsaid": False,
        "opioid": True,
        "opioid_ome_mg_per_day": 30,
        "previous_spinal_radiotherapy": False,
        "pain_onset_date": today - dt.timedelta(days=start_days + 20),
    }


def _advance(participant, hematologist, surgeon, step, today) -> None:
    """Take a participant in screening along the path up to ``step``, through the services."""
    index = STEPS.index(step)
    if index >= 1:
        screening_services.screening_form_record(
            participant=participant, user=hematologist, data=_form_data(today, start_days=6)
        )
    if index >= 2:
        screening_services.eligibility_record(
            participant=participant,
            user=hematologist,
            answers=_answers_all_met(current_criteria_version()),
            assessed_on=today - dt.timedelta(days=5),
        )
    if index >= 3:
        sheet = InformationSheetVersion.objects.filter(active=True).first()
        if sheet is None:
            raise RuntimeError(
                "The demo needs an information sheet in use; the migrations add one."
            )
        screening_services.consent_record(
            participant=participant,
            user=hematologist,
            consent_date=today - dt.timedelta(days=4),
            information_sheet=sheet,
            taken_by=hematologist,
            oral_information_given=True,
            written_information_given=True,
        )
    if index >= 4:
        screening_services.referral_create(
            participant=participant,
            user=hematologist,
            referred_on=today - dt.timedelta(days=3),
            note="Ny smertefuld fraktur i L1; MR viser ingen medullær kompression.",
        )
    if index >= 5:
        screening_services.surgical_assessment_record(
            participant=participant,
            user=surgeon,
            assessed_on=today - dt.timedelta(days=1),
            contraindication=False,
            planned_levels=["T12", "L1"],
            earlier_fractures=True,
            earlier_fracture_levels=["T7"],
            risk_information_given=True,
        )


def _contraindicated(participant, hematologist, surgeon, today) -> None:
    """The base 'not included' participant: referred, then assessed with a contraindication.

    The base demo creates it already ended; it is put back in screening without a history row
    so that its trail reads as the real path did: screened, referred, contraindicated.
    """
    Participant.objects.filter(pk=participant.pk).update(status=ParticipantStatus.SCREENING)
    participant.refresh_from_db()
    _log_existing(participant, hematologist, today - dt.timedelta(days=6))
    _advance(participant, hematologist, surgeon, "referred", today)
    screening_services.surgical_assessment_record(
        participant=participant,
        user=surgeon,
        assessed_on=today - dt.timedelta(days=1),
        contraindication=True,
        contraindication_details="Ukorrigerbar koagulopati (trombocytter 18 mia/L).",
        planned_levels=[],
        earlier_fractures=False,
        earlier_fracture_levels=[],
        risk_information_given=False,
    )


def _raw_save(instance, *, user) -> None:
    """Save without the services' status rules: the past of participants already randomised
    cannot be recorded through them (consent after randomisation is refused, rightly)."""
    # A demo row changed after its first save still gets a reason, as every change must.
    reason = "" if instance._state.adding else "demo data"
    audited_save(instance, user=user, reason=reason, validate=False)


def _past_path(participant, hematologist, surgeon, today) -> None:
    from trial.participants.demo import cohort_member

    start_days = past_start_days(participant)
    start = today - dt.timedelta(days=start_days)
    day = lambda n: start + dt.timedelta(days=n)  # noqa: E731 - a tiny local helper
    _log_existing(participant, hematologist, start, save=_raw_save)
    member = cohort_member(participant)
    data = _form_data(today, start_days=start_days)
    if member is not None and member.myeloma_status == "new":
        # Cohort B: myeloma diagnosed with the fracture, no treatment line before.
        data.update(
            myeloma_status="new",
            diagnosis_date=day(-10),
            prior_lines=0,
            disease_status="untreated",
            bone_therapy_start=day(-5),
        )
    _raw_save(
        ScreeningForm(participant=participant, completed_by=hematologist, **data), user=hematologist
    )
    version = current_criteria_version()
    _raw_save(
        EligibilityAssessment(
            participant=participant,
            version=version,
            answers=_answers_all_met(version),
            assessed_on=day(1),
            assessed_by=hematologist,
        ),
        user=hematologist,
    )
    _raw_save(
        Consent(
            participant=participant,
            consent_date=day(1),
            information_sheet=InformationSheetVersion.objects.order_by("dated").first(),
            taken_by=hematologist,
            oral_information_given=True,
            written_information_given=True,
            recorded_by=hematologist,
        ),
        user=hematologist,
    )
    referral = Referral(
        participant=participant,
        surgical_site=participant.site.surgical_partner,
        referred_on=day(2),
        referred_by=hematologist,
        status=ReferralStatus.ASSESSED,
    )
    _raw_save(referral, user=hematologist)
    if member is not None:
        levels, earlier = list(member.planned_levels), member.earlier_fractures
    else:
        levels = [["L1"], ["T12", "L1"], ["L2", "L3", "L4"]][participant.sequence % 3]
        earlier = participant.sequence % 2 == 0
    _raw_save(
        SurgicalAssessment(
            participant=participant,
            referral=referral,
            assessed_on=day(5),
            surgeon=surgeon,
            contraindication=False,
            planned_levels=levels,
            earlier_fractures=earlier,
            earlier_fracture_levels=["T6"] if earlier else [],
            risk_information_given=True,
        ),
        user=surgeon,
    )
