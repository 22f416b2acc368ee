"""The core domain: sites, staff and participants.

Business rules live in services.py (writes) and selectors.py (reads); the models only say what
is stored and which invariants the database itself enforces.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from trial.cpr import validate_cpr


class Role(models.TextChoices):
    HEMATOLOGIST = "hematologist", _("Hematologist")
    SURGEON = "surgeon", _("Surgeon")
    NURSE = "nurse", _("Research nurse")
    COORDINATOR = "coordinator", _("Coordinator")
    DATA_MANAGER = "data_manager", _("Data manager")
    MONITOR = "monitor", _("Monitor")


# Roles whose members work at sites and see only those sites' participants.
SITE_ROLES = frozenset({Role.HEMATOLOGIST, Role.SURGEON, Role.NURSE})
# Central roles see every site.
CENTRAL_ROLES = frozenset({Role.COORDINATOR, Role.DATA_MANAGER, Role.MONITOR})


class SiteKind(models.TextChoices):
    HEMATOLOGY = "hematology", _("Hematology department")
    SURGERY = "surgery", _("Surgical department")


site_code_validator = RegexValidator(
    r"^[A-Z]{2,6}$", _("A site code is 2 to 6 capital letters, for example AAR.")
)


class Site(models.Model):
    code = models.CharField(
        _("code"),
        max_length=6,
        unique=True,
        validators=[site_code_validator],
        help_text=_("Used in trial numbers, e.g. AAR-001."),
    )
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=20, choices=SiteKind.choices)
    surgical_partner = models.ForeignKey(
        "self",
        verbose_name=_("collaborating surgical department"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="hematology_partners",
        limit_choices_to={"kind": SiteKind.SURGERY},
    )
    active = models.BooleanField(_("active"), default=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["code"]
        verbose_name = _("site")
        verbose_name_plural = _("sites")
        constraints = [
            # Only hematology departments refer to a surgical partner.
            models.CheckConstraint(
                condition=models.Q(kind="hematology") | models.Q(surgical_partner__isnull=True),
                name="site_partner_only_for_hematology",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} · {self.name}"

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        if self.kind == SiteKind.SURGERY and self.surgical_partner_id:
            raise ValidationError(
                {"surgical_partner": _("A surgical department has no surgical partner.")}
            )
        if self.surgical_partner_id and self.surgical_partner.kind != SiteKind.SURGERY:
            raise ValidationError(
                {"surgical_partner": _("The partner must be a surgical department.")}
            )


class User(AbstractUser):
    """A member of staff. Patients never have accounts."""

    role = models.CharField(_("role"), max_length=20, choices=Role.choices, blank=True)
    sites = models.ManyToManyField(
        Site,
        through="SiteMembership",
        related_name="staff",
        blank=True,
        verbose_name=_("sites"),
    )

    # Password hashes and login times are not clinical history and would only add noise.
    history = HistoricalRecords(excluded_fields=["password", "last_login"])

    class Meta:
        verbose_name = _("staff member")
        verbose_name_plural = _("staff")
        ordering = ["username"]

    def __str__(self) -> str:
        full = self.get_full_name()
        return f"{full} ({self.username})" if full else self.username

    @property
    def is_central(self) -> bool:
        return self.role in CENTRAL_ROLES

    @property
    def is_read_only(self) -> bool:
        return self.role == Role.MONITOR


class SiteMembership(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="memberships")
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("site membership")
        verbose_name_plural = _("site memberships")
        constraints = [
            models.UniqueConstraint(fields=["user", "site"], name="membership_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.site.code}"


class ParticipantStatus(models.TextChoices):
    SCREENING = "screening", _("In screening")
    NOT_INCLUDED = "not_included", _("Not included")
    RANDOMISED = "randomised", _("Randomised, in follow-up")
    COMPLETED = "completed", _("Follow-up completed")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    DECEASED = "deceased", _("Deceased")


# States in which nobody may be contacted any more.
ENDED_STATUSES = frozenset(
    {ParticipantStatus.WITHDRAWN, ParticipantStatus.DECEASED, ParticipantStatus.COMPLETED}
)


class Sex(models.TextChoices):
    FEMALE = "F", _("Female")
    MALE = "M", _("Male")


class NotIncludedReason(models.TextChoices):
    """Why a screened or registered patient did not reach randomisation (CONSORT)."""

    NOT_ELIGIBLE = "not_eligible", _("Not eligible")
    DECLINED = "declined", _("Declined")
    CONTRAINDICATED = "contraindicated", _("Surgical contraindication")
    OTHER = "other", _("Other reason")


class Participant(models.Model):
    """A patient in the trial, known everywhere by trial number and initials only."""

    site = models.ForeignKey(
        Site,
        on_delete=models.PROTECT,
        related_name="participants",
        limit_choices_to={"kind": SiteKind.HEMATOLOGY},
        verbose_name=_("site"),
    )
    sequence = models.PositiveIntegerField(_("sequence at site"))
    trial_number = models.CharField(_("trial number"), max_length=16, unique=True)
    initials = models.CharField(
        _("initials"),
        max_length=4,
        validators=[RegexValidator(r"^[A-ZÆØÅ]{2,4}$", _("Initials are 2 to 4 capital letters."))],
    )
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices)
    year_of_birth = models.PositiveSmallIntegerField(
        _("year of birth"), validators=[MinValueValidator(1900), MaxValueValidator(2100)]
    )
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=ParticipantStatus.choices,
        default=ParticipantStatus.SCREENING,
        db_index=True,
    )
    not_included_reason = models.CharField(
        _("reason not included"), max_length=20, blank=True, choices=NotIncludedReason.choices
    )
    not_included_note = models.TextField(_("note on why not included"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    created_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["site__code", "sequence"]
        verbose_name = _("participant")
        verbose_name_plural = _("participants")
        constraints = [
            models.UniqueConstraint(fields=["site", "sequence"], name="participant_site_sequence"),
        ]

    def __str__(self) -> str:
        return f"{self.trial_number} ({self.initials})"

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("trial:participant_detail", args=[self.trial_number])


class Identity(models.Model):
    """Identifying data, kept apart so that only roles that need it can read it.

    Never exported by default; see trial/access.py (can_see_identity).
    """

    participant = models.OneToOneField(
        Participant, on_delete=models.PROTECT, related_name="identity"
    )
    full_name = models.CharField(_("full name"), max_length=200)
    cpr = models.CharField(
        _("CPR number"),
        max_length=11,
        validators=[validate_cpr],
        db_index=True,
        help_text=_("DDMMYY-SSSS"),
    )
    phone = models.CharField(
        _("phone"),
        max_length=20,
        blank=True,
        validators=[
            RegexValidator(r"^\+?[0-9 ]{8,16}$", _("Enter a phone number of 8 to 16 digits."))
        ],
    )
    email = models.EmailField(_("e-mail"), blank=True)
    address = models.TextField(_("address"), blank=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("identifying data")
        verbose_name_plural = _("identifying data")

    def __str__(self) -> str:
        return f"{self.participant.trial_number}: {self.full_name}"


# === Screening, eligibility, consent, referral and surgical assessment (DOMAIN.md 1-6) ======


def _today():
    from django.utils import timezone

    return timezone.localdate()


def _check_not_future(errors: dict, **dates) -> None:
    """Add 'in the future' errors for each given date field (clinical facts happened)."""
    today = _today()
    for name, value in dates.items():
        if value and value > today:
            errors.setdefault(name, []).append(_("The date cannot be in the future."))


def _raise(errors: dict) -> None:
    from django.core.exceptions import ValidationError

    if errors:
        raise ValidationError(errors)


class MyelomaStatus(models.TextChoices):
    NEW = "new", _("Newly diagnosed myeloma")
    KNOWN = "known", _("Known myeloma")


class ScreeningDecision(models.TextChoices):
    INCLUDED = "included", _("Included: goes on to consent and work-up")
    NOT_ELIGIBLE = "not_eligible", _("Not eligible")
    DECLINED = "declined", _("Declined to take part")
    OTHER = "other", _("Not included for another reason")


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
    age = models.PositiveSmallIntegerField(
        _("age"), validators=[MinValueValidator(18), MaxValueValidator(110)]
    )
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices)
    myeloma_status = models.CharField(
        _("myeloma status"), max_length=10, choices=MyelomaStatus.choices
    )
    decision = models.CharField(_("decision"), max_length=20, choices=ScreeningDecision.choices)
    reason = models.TextField(_("reason when not included"), blank=True)
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
            if participant.status not in (
                ParticipantStatus.SCREENING,
                ParticipantStatus.NOT_INCLUDED,
            ):
                errors.setdefault("__all__", []).append(
                    _("Consent cannot be recorded or changed after randomisation.")
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


class ReferralStatus(models.TextChoices):
    OPEN = "open", _("Awaiting surgical assessment")
    ASSESSED = "assessed", _("Assessed")
    CANCELLED = "cancelled", _("Cancelled")


class Referral(models.Model):
    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="referrals")
    surgical_site = models.ForeignKey(
        Site,
        on_delete=models.PROTECT,
        related_name="referrals",
        limit_choices_to={"kind": SiteKind.SURGERY},
        verbose_name=_("surgical department"),
    )
    referred_on = models.DateField(_("referred on"))
    referred_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    note = models.TextField(_("note to the surgeon"), blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=ReferralStatus.choices, default=ReferralStatus.OPEN
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["referred_on", "id"]
        verbose_name = _("referral")
        verbose_name_plural = _("referrals")
        constraints = [
            # One referral at a time awaiting the surgeon.
            models.UniqueConstraint(
                fields=["participant"],
                condition=models.Q(status="open"),
                name="one_open_referral_per_participant",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.participant.trial_number} → {self.surgical_site.code}"


class SurgicalAssessment(models.Model):
    """The surgeon's assessment (DOMAIN.md step 5). Its levels feed the strata."""

    participant = models.OneToOneField(
        Participant, on_delete=models.PROTECT, related_name="surgical_assessment"
    )
    referral = models.OneToOneField(Referral, on_delete=models.PROTECT, related_name="assessment")
    assessed_on = models.DateField(_("assessed on"))
    surgeon = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="+", verbose_name=_("surgeon")
    )
    contraindication = models.BooleanField(_("contraindication to PVP"))
    contraindication_details = models.TextField(_("which contraindication"), blank=True)
    # Blank allowed: a contraindicated patient may have no planned levels (clean() decides).
    planned_levels = models.JSONField(_("planned PVP levels"), default=list, blank=True)
    earlier_fractures = models.BooleanField(
        _("earlier vertebral fractures that will not be treated")
    )
    earlier_fracture_levels = models.JSONField(
        _("levels of earlier fractures"), default=list, blank=True
    )
    risk_information_given = models.BooleanField(_("risk of the procedure explained"))

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("surgical assessment")
        verbose_name_plural = _("surgical assessments")

    def __str__(self) -> str:
        return f"{self.participant.trial_number}: {self._meta.verbose_name}"

    def clean(self) -> None:
        from trial.vertebrae import normalise_levels

        errors: dict = {}
        _check_not_future(errors, assessed_on=self.assessed_on)
        if self.referral_id and self.assessed_on and self.assessed_on < self.referral.referred_on:
            errors.setdefault("assessed_on", []).append(
                _("The assessment cannot be dated before the referral.")
            )
        levels: dict[str, list[str]] = {}
        for name in ("planned_levels", "earlier_fracture_levels"):
            try:
                if not isinstance(getattr(self, name), list):
                    raise ValueError
                levels[name] = normalise_levels(getattr(self, name))
                setattr(self, name, levels[name])
            except (TypeError, ValueError):
                errors.setdefault(name, []).append(_("Pick levels from T1 to L5."))
                levels[name] = []
        planned, earlier = levels["planned_levels"], levels["earlier_fracture_levels"]
        if self.contraindication:
            if not self.contraindication_details.strip():
                errors.setdefault("contraindication_details", []).append(
                    _("Say which contraindication.")
                )
            if len(planned) > 4:
                errors.setdefault("planned_levels", []).append(_("Plan at most 4 levels."))
        else:
            if not 1 <= len(planned) <= 4:
                errors.setdefault("planned_levels", []).append(
                    _("Plan 1 to 4 levels for vertebroplasty.")
                )
            if self.risk_information_given is not True:
                errors.setdefault("risk_information_given", []).append(
                    _("The patient must be told the risks of the procedure.")
                )
        if self.earlier_fractures and not earlier:
            errors.setdefault("earlier_fracture_levels", []).append(
                _("Pick the levels of the earlier fractures.")
            )
        if not self.earlier_fractures and earlier:
            errors.setdefault("earlier_fracture_levels", []).append(
                _("Levels of earlier fractures are given only when there are earlier fractures.")
            )
        overlap = sorted(set(planned) & set(earlier))
        if overlap:
            errors.setdefault("earlier_fracture_levels", []).append(
                _(
                    "A level cannot be both planned for PVP and an untreated earlier "
                    "fracture: %(levels)s."
                )
                % {"levels": ", ".join(overlap)}
            )
        _raise(errors)


def screening_date(participant: Participant):
    """The day the participant was screened: the log entry's date, else the registration day."""
    from django.utils import timezone

    entry = ScreeningLogEntry.objects.filter(participant=participant).only("screened_on").first()
    if entry is not None:
        return entry.screened_on
    if participant.created_at:
        return timezone.localdate(participant.created_at)
    return None
