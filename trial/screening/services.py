"""Writes of screening: the log, screening form, eligibility, consent, referral and surgical
assessment. Each function is one business action, atomic and audited."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from trial import access
from trial.audit import audited_save
from trial.concurrency import serialize_on, version_check
from trial.cpr import normalise_cpr
from trial.errors import ServiceError
from trial.models import (
    Consent,
    EligibilityAssessment,
    EligibilityCriteriaVersion,
    EligibilityCriterion,
    InformationSheetVersion,
    NotIncludedReason,
    Participant,
    ParticipantStatus,
    Referral,
    ReferralStatus,
    ScreeningDecision,
    ScreeningForm,
    ScreeningLogEntry,
    Site,
    SurgicalAssessment,
    User,
    screening_date,
)
from trial.participants.services import identity_set, participant_create
from trial.screening import derivation


class DuplicateScreening(ServiceError):
    """The CPR number was screened before; the user must confirm to screen again."""

    def __init__(self, entries):
        super().__init__("The patient was screened before.")
        self.entries = list(entries)


def cpr_digest(cpr: str) -> str:
    """A keyed digest of the normalised CPR number: finds repeats, reveals nothing.

    Keyed with SECRET_KEY so that the digests cannot be reversed by hashing all ~4 million
    possible CPR numbers without the key.
    """
    message = normalise_cpr(cpr).encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()


def _initials_from(full_name: str) -> str:
    letters = [part[0].upper() for part in full_name.split() if part[:1].isalpha()]
    if len(letters) > 4:
        letters = [*letters[:3], letters[-1]]
    return "".join(letters)


@transaction.atomic
def screening_log_entry_create(
    *,
    site: Site,
    user: User,
    screened_on: dt.date,
    cpr: str,
    age: int,
    sex: str,
    myeloma_status: str,
    decision: str,
    reason: str = "",
    failed_criteria: list[str] | tuple[str, ...] = (),
    full_name: str = "",
    initials: str = "",
    phone: str = "",
    duplicate_confirmed: bool = False,
) -> ScreeningLogEntry:
    """Log a screened patient; an included patient becomes a participant at once.

    Only a digest of the CPR number is kept in the log. A CPR number screened before (at any
    site) raises DuplicateScreening unless the user confirmed screening again.
    """
    from trial.cpr import cpr_birth_date

    digest = cpr_digest(cpr)
    # Two people logging the same patient at the same moment: the second waits here, then
    # finds the first's entry and is warned of it like any earlier screening.
    serialize_on(f"screening-cpr:{digest}")
    if not duplicate_confirmed:
        earlier = list(ScreeningLogEntry.objects.filter(cpr_digest=digest).select_related("site"))
        if earlier:
            raise DuplicateScreening(earlier)
    entry = ScreeningLogEntry(
        site=site,
        screened_on=screened_on,
        age=age,
        sex=sex,
        myeloma_status=myeloma_status,
        decision=decision,
        reason=reason.strip(),
        failed_criteria=_failed_criteria(decision, failed_criteria),
        cpr_digest=digest,
        created_by=user,
    )
    if decision == ScreeningDecision.INCLUDED:
        if not full_name.strip():
            raise ValidationError({"full_name": _("Give the name of an included patient.")})
        entry.full_clean(exclude=["participant"])  # fail before numbering a participant
        participant = participant_create(
            site=site,
            initials=(initials.strip() or _initials_from(full_name)),
            sex=sex,
            year_of_birth=cpr_birth_date(cpr).year,
            user=user,
        )
        identity_set(participant=participant, user=user, full_name=full_name, cpr=cpr, phone=phone)
        entry.participant = participant
    return audited_save(entry, user=user)


def _failed_criteria(decision: str, codes) -> list[str]:
    """The criterion codes of a not-eligible decision, checked against the criteria on record
    (any version), without repeats; none for any other decision."""
    from trial.models import EligibilityCriterion

    codes = list(dict.fromkeys(codes or []))
    if decision != ScreeningDecision.NOT_ELIGIBLE:
        if codes:
            raise ValidationError(
                {
                    "failed_criteria": _(
                        "Criteria are ticked only for a patient who is not eligible."
                    )
                }
            )
        return []
    known = set(EligibilityCriterion.objects.filter(code__in=codes).values_list("code", flat=True))
    unknown = [code for code in codes if code not in known]
    if unknown:
        raise ValidationError(
            {"failed_criteria": _("Unknown criterion: %(codes)s.") % {"codes": ", ".join(unknown)}}
        )
    return codes


def _require_screening(participant: Participant) -> None:
    if participant.status != ParticipantStatus.SCREENING:
        raise ServiceError(
            _("%(number)s is no longer in screening (%(status)s).")
            % {"number": participant.trial_number, "status": participant.get_status_display()}
        )


def _require_record(record: object | None, correction: bool) -> None:
    """A correction corrects what is recorded; nothing is recorded first that way."""
    if correction and record is None:
        raise ServiceError(_("Nothing is recorded here yet, so there is nothing to correct."))


SCREENING_FORM_FIELDS = (
    "myeloma_status",
    "diagnosis_date",
    "iss_stage",
    "riss_stage",
    "prior_lines",
    "disease_status",
    "bone_therapy",
    "bone_therapy_start",
    "paracetamol",
    "nsaid",
    "opioid",
    "opioid_ome_mg_per_day",
    "previous_spinal_radiotherapy",
    "pain_onset_date",
)


_SCREENING_FORM_FLAGS = frozenset(
    {"paracetamol", "nsaid", "opioid", "previous_spinal_radiotherapy"}
)


@transaction.atomic
def screening_form_record(
    *,
    participant: Participant,
    user: User,
    data: dict,
    reason: str = "",
    loaded_version: str | None = None,
    correction: bool = False,
) -> ScreeningForm:
    """Record or correct the screening form (a correction needs a reason).

    ``loaded_version`` here and in the other record services is the version of the record the page
    was loaded with (trial.concurrency): a save based on an older one is refused.
    ``correction=True`` (trial.screening.corrections, after randomisation) corrects what is
    recorded without the "still in screening" guard; every other check stays."""
    # Locked first: before anyone's first save there is no form to lock, and the second of two
    # first saves must find the first's (a conflict), not fail the unique check in full_clean.
    participant = Participant.objects.select_for_update().get(pk=participant.pk)
    if not correction:
        _require_screening(participant)
    form = ScreeningForm.objects.select_for_update().filter(participant=participant).first()
    version_check(form, loaded_version)
    if form is None:
        _require_record(None, correction)
        form = ScreeningForm(participant=participant, completed_by=user)
    for name in SCREENING_FORM_FIELDS:
        value = data.get(name)
        setattr(form, name, bool(value) if name in _SCREENING_FORM_FLAGS else value)
    return audited_save(form, user=user, reason=reason)


@transaction.atomic
def eligibility_record(
    *,
    participant: Participant,
    user: User,
    answers: dict[str, str],
    assessed_on: dt.date,
    reason: str = "",
    loaded_version: str | None = None,
    correction: bool = False,
) -> EligibilityAssessment:
    """Store the hematologist's answers against the criteria version in force today.

    A correction keeps the version the answers were given against and who assessed.
    Criteria the recorded data answers take the data's answer on ``assessed_on`` (the
    inclusion date; trial.screening.derivation): a different answer given for one, or one
    whose record is missing, is refused with both named. The derived answers and their
    sources are kept on the assessment for the audit trail."""
    from trial.screening.selectors import current_criteria_version

    # Locked first, as in screening_form_record.
    participant = Participant.objects.select_for_update().get(pk=participant.pk)
    if not correction:
        _require_screening(participant)
    assessment = (
        EligibilityAssessment.objects.select_for_update().filter(participant=participant).first()
    )
    version_check(assessment, loaded_version)
    _require_record(assessment, correction)
    version = (
        assessment.version if assessment is not None and correction else current_criteria_version()
    )
    if version is None:
        raise ServiceError(_("No eligibility criteria are in force. Ask the coordinator."))
    checked = derivation.reconcile(
        version.criteria.all(), answers, derivation.facts_for(participant), assessed_on
    )
    if checked.errors:
        raise ValidationError(list(checked.errors.values()))
    if assessment is None:
        assessment = EligibilityAssessment(participant=participant)
    if assessment.pk is None or not correction:
        assessment.assessed_by = user
    assessment.version = version
    assessment.answers = checked.answers
    assessment.derived = checked.derived
    assessment.assessed_on = assessed_on
    return audited_save(assessment, user=user, reason=reason)


@transaction.atomic
def consent_record(
    *,
    participant: Participant,
    user: User,
    consent_date: dt.date,
    information_sheet: InformationSheetVersion,
    taken_by: User,
    oral_information_given: bool,
    written_information_given: bool,
    reason: str = "",
    loaded_version: str | None = None,
    correction: bool = False,
) -> Consent:
    """Record consent; refused before the screening date, and recording it once randomised
    (Consent.clean): after randomisation a recorded consent is only corrected."""
    participant = Participant.objects.select_for_update().get(pk=participant.pk)
    consent = Consent.objects.select_for_update().filter(participant=participant).first()
    version_check(consent, loaded_version)
    _require_record(consent, correction)
    if (
        consent is not None
        and not correction
        and participant.status
        not in (
            ParticipantStatus.SCREENING,
            ParticipantStatus.NOT_INCLUDED,
        )
    ):
        _require_screening(participant)
    if consent is None:
        if not information_sheet.active:
            raise ValidationError(
                {"information_sheet": _("This information sheet version is no longer in use.")}
            )
        consent = Consent(participant=participant, recorded_by=user)
    consent.consent_date = consent_date
    consent.information_sheet = information_sheet
    consent.taken_by = taken_by
    consent.oral_information_given = oral_information_given
    consent.written_information_given = written_information_given
    return audited_save(consent, user=user, reason=reason)


@transaction.atomic
def referral_create(
    *, participant: Participant, user: User, referred_on: dt.date, note: str = ""
) -> Referral:
    """Refer the participant to the surgical department collaborating with their site."""
    participant = (
        Participant.objects.select_for_update().select_related("site").get(pk=participant.pk)
    )
    _require_screening(participant)
    surgical_site = participant.site.surgical_partner
    if surgical_site is None:
        raise ServiceError(
            _("%(site)s has no collaborating surgical department. Ask the coordinator.")
            % {"site": participant.site.code}
        )
    if Referral.objects.filter(participant=participant, status=ReferralStatus.OPEN).exists():
        raise ServiceError(_("The patient is already referred and awaits the surgeon."))
    if SurgicalAssessment.objects.filter(participant=participant).exists():
        raise ServiceError(_("The surgical assessment is already recorded."))
    errors: dict = {}
    if referred_on > timezone.localdate():
        errors["referred_on"] = [_("The date cannot be in the future.")]
    screened_on = screening_date(participant)
    if screened_on and referred_on < screened_on:
        errors["referred_on"] = [
            _("The referral cannot be dated before the screening date (%(date)s).")
            % {"date": screened_on.isoformat()}
        ]
    if errors:
        raise ValidationError(errors)
    referral = Referral(
        participant=participant,
        surgical_site=surgical_site,
        referred_on=referred_on,
        referred_by=user,
        note=note.strip(),
    )
    return audited_save(referral, user=user)


@transaction.atomic
def surgical_assessment_record(
    *,
    participant: Participant,
    user: User,
    assessed_on: dt.date,
    contraindication: bool,
    contraindication_details: str = "",
    planned_levels: list[str],
    earlier_fractures: bool,
    earlier_fracture_levels: list[str],
    risk_information_given: bool,
    reason: str = "",
    loaded_version: str | None = None,
    correction: bool = False,
) -> SurgicalAssessment:
    """Record (or correct) the surgeon's assessment and close the referral.

    A contraindication ends the participant's path as not included (CONSORT: contraindicated);
    correcting it away puts a participant who ended that way back in screening. A correction
    after randomisation (``correction=True``) keeps the surgeon who assessed.
    """
    participant = Participant.objects.select_for_update().get(pk=participant.pk)
    assessment = (
        SurgicalAssessment.objects.select_for_update()
        .select_related("referral")
        .filter(participant=participant)
        .first()
    )
    version_check(assessment, loaded_version)
    _require_record(assessment, correction)
    if assessment is None:
        _require_screening(participant)
        referral = (
            Referral.objects.select_for_update()
            .filter(participant=participant, status=ReferralStatus.OPEN)
            .first()
        )
        if referral is None:
            raise ServiceError(_("There is no open referral for this patient."))
        assessment = SurgicalAssessment(participant=participant, referral=referral)
    referral = assessment.referral
    if (
        access.site_scope(user) == "surgical"
        and not user.memberships.filter(site_id=referral.surgical_site_id).exists()
    ):
        raise ServiceError(_("The referral went to another surgical department."))
    assessment.assessed_on = assessed_on
    if not correction:
        assessment.surgeon = user
    assessment.contraindication = contraindication
    assessment.contraindication_details = contraindication_details.strip()
    assessment.planned_levels = list(planned_levels or [])
    assessment.earlier_fractures = earlier_fractures
    assessment.earlier_fracture_levels = list(earlier_fracture_levels or [])
    assessment.risk_information_given = risk_information_given
    assessment = audited_save(assessment, user=user, reason=reason)
    if referral.status != ReferralStatus.ASSESSED:
        referral.status = ReferralStatus.ASSESSED
        audited_save(referral, user=user, reason=_("Surgical assessment recorded."))
    if contraindication and participant.status == ParticipantStatus.SCREENING:
        participant_not_included(
            participant=participant,
            user=user,
            reason_code=NotIncludedReason.CONTRAINDICATED,
            note=assessment.contraindication_details,
        )
    elif (
        not contraindication
        and participant.status == ParticipantStatus.NOT_INCLUDED
        and participant.not_included_reason == NotIncludedReason.CONTRAINDICATED
    ):
        participant.status = ParticipantStatus.SCREENING
        participant.not_included_reason = ""
        participant.not_included_note = ""
        audited_save(participant, user=user, reason=reason or _("Contraindication corrected."))
    return assessment


@transaction.atomic
def participant_not_included(
    *, participant: Participant, user: User, reason_code: str, note: str
) -> Participant:
    """End a participant's path before randomisation, with the reason CONSORT counts."""
    participant = Participant.objects.select_for_update().get(pk=participant.pk)
    _require_screening(participant)
    if reason_code not in NotIncludedReason.values:
        raise ValidationError({"reason_code": _("Choose a reason.")})
    if not note.strip():
        raise ValidationError({"note": _("Describe why the patient is not included.")})
    participant.status = ParticipantStatus.NOT_INCLUDED
    participant.not_included_reason = reason_code
    participant.not_included_note = note.strip()
    for referral in Referral.objects.filter(participant=participant, status=ReferralStatus.OPEN):
        referral.status = ReferralStatus.CANCELLED
        audited_save(referral, user=user, reason=_("The patient is not included."))
    return audited_save(
        participant,
        user=user,
        reason=str(_("Not included: %(reason)s"))
        % {"reason": participant.get_not_included_reason_display()},
    )


@transaction.atomic
def criteria_version_create(
    *, user: User, effective_from: dt.date, note: str
) -> EligibilityCriteriaVersion:
    """A new version of the eligibility criteria, starting as a copy of the newest one.

    Answers already given stay with the version they were given against.
    """
    latest = EligibilityCriteriaVersion.objects.select_for_update().order_by("-version").first()
    if latest is not None and effective_from < latest.effective_from:
        raise ValidationError(
            {
                "effective_from": _(
                    "A new version cannot come into force before v%(v)s (%(date)s)."
                )
                % {"v": latest.version, "date": latest.effective_from.isoformat()}
            }
        )
    version = audited_save(
        EligibilityCriteriaVersion(
            version=(latest.version + 1) if latest else 1,
            effective_from=effective_from,
            note=note.strip(),
        ),
        user=user,
    )
    if latest is not None:
        for criterion in latest.criteria.all():
            audited_save(
                EligibilityCriterion(
                    version=version,
                    code=criterion.code,
                    kind=criterion.kind,
                    text_en=criterion.text_en,
                    text_da=criterion.text_da,
                    assessed_by=criterion.assessed_by,
                    order=criterion.order,
                ),
                user=user,
            )
    return version


# --- screening edits ---
# History change reasons are stored in a 100-character column (django-simple-history's
# default), so the reasons these services take are limited to that.
CHANGE_REASON_MAX = 100

SCREENING_LOG_EDITABLE = (
    "screened_on", "age", "sex", "myeloma_status", "decision", "reason", "failed_criteria",
)  # fmt: skip


@transaction.atomic
def screening_log_entry_update(
    *,
    entry: ScreeningLogEntry,
    user: User,
    data: dict,
    reason: str,
    loaded_version: str | None = None,
) -> tuple[ScreeningLogEntry, bool]:
    """Correct a screening-log entry, with the reason for the change (audited).

    The decision of an included patient cannot change here (their path continues on the
    participant page, where they can be ended as not included), and a patient logged as not
    included is not turned into a participant by an edit (screen them again instead).
    Returns the entry and whether anything changed.
    """
    from trial.audit import model_update

    entry = ScreeningLogEntry.objects.select_for_update().get(pk=entry.pk)
    version_check(entry, loaded_version)
    reason = reason.strip()
    if not reason:
        raise ValidationError({"change_reason": _("Give a reason for the change.")})
    if len(reason) > CHANGE_REASON_MAX:
        raise ValidationError(
            {"change_reason": _("Keep the reason to %(n)d characters.") % {"n": CHANGE_REASON_MAX}}
        )
    values = {name: data[name] for name in SCREENING_LOG_EDITABLE if name in data}
    if "reason" in values:
        values["reason"] = (values["reason"] or "").strip()
    decision = values.get("decision", entry.decision)
    if "failed_criteria" in values or "decision" in values:
        values["failed_criteria"] = _failed_criteria(
            decision, values.get("failed_criteria", entry.failed_criteria)
        )
    if entry.participant_id and decision != ScreeningDecision.INCLUDED:
        raise ValidationError(
            {
                "decision": _(
                    "The patient is a participant: end their path on the participant page "
                    "(not included) instead."
                )
            }
        )
    if not entry.participant_id and decision == ScreeningDecision.INCLUDED:
        raise ValidationError(
            {"decision": _("To include a patient logged as not included, screen them again.")}
        )
    # model_update validates (full_clean) before it saves; the transaction undoes a refusal.
    return model_update(instance=entry, data=values, user=user, reason=reason)


@transaction.atomic
def referral_cancel(*, participant: Participant, user: User, reason: str) -> Referral:
    """Cancel the participant's open referral (it leaves the surgeon's list), with a reason."""
    participant = Participant.objects.select_for_update().get(pk=participant.pk)
    _require_screening(participant)
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": _("Give the reason for cancelling the referral.")})
    if len(reason) > CHANGE_REASON_MAX:
        raise ValidationError(
            {"reason": _("Keep the reason to %(n)d characters.") % {"n": CHANGE_REASON_MAX}}
        )
    referral = (
        Referral.objects.select_for_update()
        .filter(participant=participant, status=ReferralStatus.OPEN)
        .first()
    )
    if referral is None:
        raise ServiceError(_("The patient has no open referral."))
    referral.status = ReferralStatus.CANCELLED
    return audited_save(referral, user=user, reason=reason)
