"""Screening: the screening log, screening form, eligibility and consent (the surgical referral
and assessment are in trial/screening/referral_models.py).

Defined here, registered under the ``trial`` app label (re-exported from trial/models.py).
"""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from trial.participants.models import Participant, ParticipantStatus, Sex
from trial.staff.models import Site, SiteKind, User
from trial.validation import _check_in_trial_period, _check_not_future, _raise

# The age rule of the screening log, stated once: the model's validators (run by the service's
# full_clean and the admin) hold the bounds and the words, and both log forms
# (trial.screening.forms) run the same validators, so every path refuses an age alike.
AGE_MIN = 18
AGE_MAX = 110
AGE_VALIDATORS = (
    MinValueValidator(
        AGE_MIN, message=_("Only adults (%(limit_value)s years or older) can take part.")
    ),
    MaxValueValidator(AGE_MAX, message=_("Check the age: at most %(limit_value)s years.")),
)


class MyelomaStatus(models.TextChoices):
    NEW = "new", _("Newly diagnosed myeloma")
    KNOWN = "known", _("Known myeloma")


class ScreeningDecision(models.TextChoices):
    INCLUDED = "included", _("Included: goes on to consent and work-up")
    NOT_ELIGIBLE = "not_eligible", _("Not eligible")
    DECLINED = "declined", _("Declined to take part")
    OTHER = "other", _("Not included for another reason")


class CprLookup(models.Model):
    """One "screened before?" look-up of a CPR number against the log of every site.

    The look-up tells a user about patients of other sites, so each one is kept: who, when,
    and whether it found an earlier screening. The CPR number itself is not kept, not even
    as a digest: the row must not become a second index of patients who never consented.
    """

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    looked_up_at = models.DateTimeField(default=timezone.now, db_index=True)
    found = models.BooleanField()

    class Meta:
        ordering = ["-looked_up_at", "-id"]
        verbose_name = _("CPR look-up")
        verbose_name_plural = _("CPR look-ups")

    def __str__(self) -> str:
        return f"{self.user} {self.looked_up_at:%Y-%m-%d %H:%M}"


class ScreeningLogEntry(models.Model):
    """Every patient considered at a site, included or not (the CONSORT 'screened' box).

    The CPR number is not stored here: only a keyed digest (HMAC), enough to warn that the
    same patient was screened before, at any site, without keeping identifying data of
    patients who never consented.
    """

    site = models.ForeignKey(
        Site,
        on_delete=models.PROTECT,
        related_name="screening_log",
        limit_choices_to={"kind": SiteKind.HEMATOLOGY},
        verbose_name=_("site"),
    )
    screened_on = models.DateField(_("screening date"))
    age = models.PositiveSmallIntegerField(_("age"), validators=list(AGE_VALIDATORS))
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices)
    myeloma_status = models.CharField(
        _("myeloma status"), max_length=10, choices=MyelomaStatus.choices
    )
    decision = models.CharField(_("decision"), max_length=20, choices=ScreeningDecision.choices)
    reason = models.TextField(_("reason when not included"), blank=True)
    # Codes of the eligibility criteria a patient not eligible at screening does not meet
    # (EligibilityCriterion.code, of the version in force): the CONSORT "not eligible" box
    # by reason. Empty for other decisions, and for entries logged before it was asked.
    failed_criteria = models.JSONField(_("criteria not met"), default=list, blank=True)
    cpr_digest = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    participant = models.OneToOneField(
        Participant,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="screening_entry",
        verbose_name=_("participant"),
    )
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-screened_on", "-id"]
        verbose_name = _("screening log entry")
        verbose_name_plural = _("screening log")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(decision="included") | ~models.Q(reason=""),
                name="screening_reason_when_not_included",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.site.code} {self.screened_on} ({self.get_decision_display()})"

    def clean(self) -> None:
        errors: dict = {}
        _check_not_future(errors, screened_on=self.screened_on)
        if (
            self.decision
            and self.decision != ScreeningDecision.INCLUDED
            and not self.reason.strip()
        ):
            errors.setdefault("reason", []).append(
                _("Say why the patient is not included (it is counted in the CONSORT flow).")
            )
        if self.site_id and self.site.kind != SiteKind.HEMATOLOGY:
            errors.setdefault("site", []).append(
                _("Patients are screened at hematology departments.")
            )
        _raise(errors)


class ISSStage(models.TextChoices):
    I = "I", "I"  # noqa: E741 - the stage is called I
    II = "II", "II"
    III = "III", "III"
    UNKNOWN = "unknown", _("Unknown")


class DiseaseStatus(models.TextChoices):
    """IMWG response categories, or untreated."""

    UNTREATED = "untreated", _("Untreated")
    SCR = "sCR", _("Stringent complete response (sCR)")
    CR = "CR", _("Complete response (CR)")
    VGPR = "VGPR", _("Very good partial response (VGPR)")
    PR = "PR", _("Partial response (PR)")
    MR = "MR", _("Minimal response (MR)")
    SD = "SD", _("Stable disease (SD)")
    PD = "PD", _("Progressive disease (PD)")


class BoneTherapy(models.TextChoices):
    NONE = "none", _("None")
    ZOLEDRONIC = "zoledronic_acid", _("Zoledronic acid")
    PAMIDRONATE = "pamidronate", _("Pamidronate")
    DENOSUMAB = "denosumab", _("Denosumab")


class ScreeningForm(models.Model):
    """The hematologist's screening form (DOMAIN.md step 2)."""

    participant = models.OneToOneField(
        Participant, on_delete=models.PROTECT, related_name="screening_form"
    )
    myeloma_status = models.CharField(
        _("myeloma status"), max_length=10, choices=MyelomaStatus.choices
    )
    diagnosis_date = models.DateField(_("date of myeloma diagnosis"))
    iss_stage = models.CharField(_("ISS stage"), max_length=10, choices=ISSStage.choices)
    riss_stage = models.CharField(_("R-ISS stage"), max_length=10, choices=ISSStage.choices)
    prior_lines = models.PositiveSmallIntegerField(
        _("lines of prior treatment"), validators=[MaxValueValidator(20)]
    )
    disease_status = models.CharField(
        _("current disease status"), max_length=10, choices=DiseaseStatus.choices
    )
    bone_therapy = models.CharField(
        _("bone-targeted therapy"), max_length=20, choices=BoneTherapy.choices
    )
    bone_therapy_start = models.DateField(_("bone-targeted therapy started"), null=True, blank=True)
    paracetamol = models.BooleanField(_("paracetamol"), default=False)
    nsaid = models.BooleanField(_("NSAID"), default=False)
    opioid = models.BooleanField(_("opioid"), default=False)
    opioid_ome_mg_per_day = models.DecimalField(
        _("opioid dose, oral morphine equivalent (mg/day)"),
        max_digits=6,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(2000)],
    )
    previous_spinal_radiotherapy = models.BooleanField(
        _("earlier radiotherapy to the spine"), default=False
    )
    pain_onset_date = models.DateField(_("date the fracture pain began"))
    completed_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    completed_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("screening form")
        verbose_name_plural = _("screening forms")

    def __str__(self) -> str:
        return f"{self.participant.trial_number}: {self._meta.verbose_name}"

    def clean(self) -> None:
        import datetime as dt

        errors: dict = {}
        _check_not_future(
            errors,
            diagnosis_date=self.diagnosis_date,
            bone_therapy_start=self.bone_therapy_start,
            pain_onset_date=self.pain_onset_date,
        )
        if self.diagnosis_date and self.participant_id:
            born = dt.date(self.participant.year_of_birth, 1, 1)
            if self.diagnosis_date < born:
                errors.setdefault("diagnosis_date", []).append(
                    _("The diagnosis date is before the participant was born.")
                )
        if (
            self.myeloma_status == MyelomaStatus.KNOWN
            and self.diagnosis_date
            and self.pain_onset_date
            and self.pain_onset_date < self.diagnosis_date
        ):
            # Cohort A: a *new* fracture in known myeloma, so its pain began after diagnosis.
            errors.setdefault("pain_onset_date", []).append(
                _(
                    "For known myeloma the pain from the new fracture must begin after "
                    "the diagnosis."
                )
            )
        if self.bone_therapy == BoneTherapy.NONE and self.bone_therapy_start:
            errors.setdefault("bone_therapy_start", []).append(
                _("Leave the start date empty when there is no bone-targeted therapy.")
            )
        if self.bone_therapy and self.bone_therapy != BoneTherapy.NONE:
            if not self.bone_therapy_start:
                errors.setdefault("bone_therapy_start", []).append(
                    _("Give the date the bone-targeted therapy started.")
                )
            elif (
                self.diagnosis_date
                and self.bone_therapy_start < self.diagnosis_date - dt.timedelta(days=365 * 5)
            ):
                errors.setdefault("bone_therapy_start", []).append(
                    _("The start date is more than five years before the myeloma diagnosis.")
                )
        dose = self.opioid_ome_mg_per_day
        if self.opioid:
            if dose is None:
                errors.setdefault("opioid_ome_mg_per_day", []).append(
                    _("Give the daily opioid dose in oral morphine equivalents (mg).")
                )
            elif not 1 <= dose <= 2000:
                errors.setdefault("opioid_ome_mg_per_day", []).append(
                    _("A daily oral morphine equivalent dose is between 1 and 2000 mg.")
                )
        elif dose is not None:
            errors.setdefault("opioid_ome_mg_per_day", []).append(
                _("Leave the dose empty when no opioid is taken.")
            )
        if self.disease_status == DiseaseStatus.UNTREATED and self.prior_lines:
            errors.setdefault("prior_lines", []).append(
                _("An untreated patient has no lines of prior treatment.")
            )
        _raise(errors)


class EligibilityCriteriaVersion(models.Model):
    """A version of the inclusion and exclusion criteria; answers are stored against it."""

    version = models.PositiveIntegerField(_("version"), unique=True)
    effective_from = models.DateField(_("in force from"))
    note = models.TextField(_("what changed"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-version"]
        verbose_name = _("eligibility criteria version")
        verbose_name_plural = _("eligibility criteria versions")

    def __str__(self) -> str:
        return f"v{self.version} ({self.effective_from})"

    def clean(self) -> None:
        errors: dict = {}
        _check_in_trial_period(errors, effective_from=self.effective_from)
        _raise(errors)


class CriterionKind(models.TextChoices):
    INCLUSION = "inclusion", _("Inclusion criterion")
    EXCLUSION = "exclusion", _("Exclusion criterion")


class CriterionAssessor(models.TextChoices):
    HEMATOLOGIST = "hematologist", _("Hematologist")
    SURGEON = "surgeon", _("Surgeon (surgical assessment)")
    CONSENT = "consent", _("Consent record")


class EligibilityCriterion(models.Model):
    version = models.ForeignKey(
        EligibilityCriteriaVersion, on_delete=models.PROTECT, related_name="criteria"
    )
    code = models.SlugField(_("code"), max_length=40)
    kind = models.CharField(_("kind"), max_length=10, choices=CriterionKind.choices)
    text_en = models.CharField(_("text (English)"), max_length=300)
    text_da = models.CharField(_("text (Danish)"), max_length=300)
    assessed_by = models.CharField(
        _("answered by"),
        max_length=15,
        choices=CriterionAssessor.choices,
        default=CriterionAssessor.HEMATOLOGIST,
        help_text=_("Criteria answered by the surgeon or by the consent record are derived."),
    )
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    history = HistoricalRecords()

    class Meta:
        ordering = ["version", "order", "id"]
        verbose_name = _("eligibility criterion")
        verbose_name_plural = _("eligibility criteria")
        constraints = [
            models.UniqueConstraint(fields=["version", "code"], name="criterion_code_per_version"),
        ]

    def __str__(self) -> str:
        return f"v{self.version.version} {self.code}"

    def text(self, language: str | None = None) -> str:
        from django.utils.translation import get_language

        return (
            self.text_da
            if (language or get_language() or "da").startswith("da")
            else (self.text_en)
        )


class Answer(models.TextChoices):
    YES = "yes", _("Yes")
    NO = "no", _("No")
    UNKNOWN = "unknown", _("Not yet known")


class EligibilityAssessment(models.Model):
    """The hematologist's answers to the criteria in force, one per participant."""

    participant = models.OneToOneField(
        Participant, on_delete=models.PROTECT, related_name="eligibility"
    )
    version = models.ForeignKey(
        EligibilityCriteriaVersion, on_delete=models.PROTECT, related_name="assessments"
    )
    answers = models.JSONField(_("answers"), default=dict)  # {criterion code: "yes"/"no"/...}
    # The answers the recorded data gave when the checklist was saved, with their source in
    # words, as the hematologist was shown them (trial.screening.derivation):
    # {criterion code: {"answer": "no", "source": "Known myeloma; the screening form ..."}}.
    derived = models.JSONField(_("answers derived from the records"), default=dict, blank=True)
    assessed_on = models.DateField(_("assessed on"))
    assessed_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("eligibility assessment")
        verbose_name_plural = _("eligibility assessments")

    def __str__(self) -> str:
        return f"{self.participant.trial_number}: {self._meta.verbose_name}"

    def clean(self) -> None:
        errors: dict = {}
        _check_not_future(errors, assessed_on=self.assessed_on)
        if not isinstance(self.answers, dict):
            errors.setdefault("answers", []).append(_("The answers are malformed."))
        if not isinstance(self.derived, dict):
            errors.setdefault("derived", []).append(_("The answers are malformed."))
        elif self.version_id:
            codes = set(
                self.version.criteria.filter(
                    assessed_by=CriterionAssessor.HEMATOLOGIST
                ).values_list("code", flat=True)
            )
            if set(self.answers) - codes or any(
                v not in Answer.values for v in self.answers.values()
            ):
                errors.setdefault("answers", []).append(
                    _("The answers do not match the criteria of this version.")
                )
        _raise(errors)


class InformationSheetVersion(models.Model):
    """Versions of the written patient information, maintained by the coordinator."""

    label = models.CharField(_("version"), max_length=40, unique=True)
    dated = models.DateField(_("dated"))
    active = models.BooleanField(_("in use"), default=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-dated"]
        verbose_name = _("information sheet version")
        verbose_name_plural = _("information sheet versions")

    def __str__(self) -> str:
        return f"{self.label} ({self.dated})"


class Consent(models.Model):
    participant = models.OneToOneField(
        Participant, on_delete=models.PROTECT, related_name="consent"
    )
    consent_date = models.DateField(_("date of consent"))
    information_sheet = models.ForeignKey(
        InformationSheetVersion,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("information sheet version"),
    )
    taken_by = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="+", verbose_name=_("consent taken by")
    )
    oral_information_given = models.BooleanField(_("oral information given"))
    written_information_given = models.BooleanField(_("written information given"))
    recorded_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("consent")
        verbose_name_plural = _("consents")

    def __str__(self) -> str:
        return f"{self.participant.trial_number}: {self._meta.verbose_name}"

    def clean(self) -> None:
        errors: dict = {}
        _check_not_future(errors, consent_date=self.consent_date)
        if self.participant_id:
            participant = self.participant
            # A consent recorded before randomisation may be corrected after it, with a reason
            # (trial.screening.corrections); none is recorded afterwards.
            if self._state.adding and participant.status not in (
                ParticipantStatus.SCREENING,
                ParticipantStatus.NOT_INCLUDED,
            ):
                errors.setdefault("__all__", []).append(
                    _("Consent cannot be recorded after randomisation.")
                )
            screened_on = screening_date(participant)
            if self.consent_date and screened_on and self.consent_date < screened_on:
                errors.setdefault("consent_date", []).append(
                    _("Consent cannot be dated before the screening date (%(date)s).")
                    % {"date": screened_on.isoformat()}
                )
        if self.oral_information_given is not True or self.written_information_given is not True:
            errors.setdefault("__all__", []).append(
                _("Consent is valid only after both oral and written information.")
            )
        _raise(errors)


def screening_date(participant: Participant):
    """The day the participant was screened: the log entry's date, else the registration day."""
    entry = ScreeningLogEntry.objects.filter(participant=participant).only("screened_on").first()
    if entry is not None:
        return entry.screened_on
    if participant.created_at:
        return timezone.localdate(participant.created_at)
    return None
