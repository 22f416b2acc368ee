"""The core domain: sites, staff and participants.

Business rules live in services.py (writes) and selectors.py (reads); the models only say what
is stored and which invariants the database itself enforces.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils import timezone
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


class _UserHistoricalRecords(HistoricalRecords):
    """User history that skips saves touching only excluded fields.

    Every login saves ``last_login`` (``update_fields=["last_login"]``); a history row for it
    would copy the whole account at each login and say nothing about who changed what.
    """

    def post_save(self, instance, created, using=None, **kwargs):
        update_fields = kwargs.get("update_fields")
        if not created and update_fields and set(update_fields) <= set(self.excluded_fields):
            return
        super().post_save(instance, created, using=using, **kwargs)


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

    # Password hashes must never be copied into the trail, and login times are not history.
    history = _UserHistoricalRecords(excluded_fields=["password", "last_login"])

    class Meta:
        verbose_name = _("staff member")
        verbose_name_plural = _("staff")
        ordering = ["username"]

    def __str__(self) -> str:
        full = self.get_full_name()
        return f"{full} ({self.username})" if full else self.username

    @property
    def is_central(self) -> bool:
        """Works trial-wide (all sites); the templates ask this, trial.access decides it."""
        from trial import access

        return access.site_scope(self) == "all"


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


# --- death and withdrawal (issue 7, shared with follow-up issue 6) --------------------------


class DeathRelation(models.TextChoices):
    """What the death is related to, as the trial reports it."""

    MYELOMA = "myeloma", _("Multiple myeloma")
    PROCEDURE = "procedure", _("The vertebroplasty procedure")
    OTHER = "other", _("Other cause")
    UNKNOWN = "unknown", _("Not known")


class Death(models.Model):
    """A participant's death. Recording it stops every contact at once (trial.services)."""

    participant = models.OneToOneField(
        Participant, on_delete=models.PROTECT, related_name="death", verbose_name=_("participant")
    )
    date_of_death = models.DateField(_("date of death"))
    relation = models.CharField(_("related to"), max_length=12, choices=DeathRelation.choices)
    cause = models.TextField(_("cause of death"), blank=True)
    source = models.CharField(
        _("how the death became known"),
        max_length=200,
        blank=True,
        help_text=_("For example: relative on the phone, hospital record, CPR registry."),
    )
    recorded_by = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="+", verbose_name=_("recorded by")
    )
    recorded_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("death")
        verbose_name_plural = _("deaths")

    def __str__(self) -> str:
        return f"{self.participant.trial_number}: {self.date_of_death.isoformat()}"


class WithdrawalInitiator(models.TextChoices):
    PARTICIPANT = "participant", _("The participant")
    INVESTIGATOR = "investigator", _("The investigator")


class Withdrawal(models.Model):
    """A participant leaving the trial; whether data collected so far may be used is kept."""

    participant = models.OneToOneField(
        Participant,
        on_delete=models.PROTECT,
        related_name="withdrawal",
        verbose_name=_("participant"),
    )
    withdrawn_on = models.DateField(_("date of withdrawal"))
    initiated_by = models.CharField(
        _("withdrawn by"),
        max_length=12,
        choices=WithdrawalInitiator.choices,
        default=WithdrawalInitiator.PARTICIPANT,
    )
    reason = models.TextField(_("reason"))
    data_use_allowed = models.BooleanField(
        _("data collected so far may be used"),
        help_text=_("What the participant agreed to when withdrawing."),
    )
    recorded_by = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="+", verbose_name=_("recorded by")
    )
    recorded_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("withdrawal")
        verbose_name_plural = _("withdrawals")

    def __str__(self) -> str:
        return f"{self.participant.trial_number}: {self.withdrawn_on.isoformat()}"


# --- export log (issue 8) ---------------------------------------------------------------
# The models live with the rest of the exports (trial/exports/models.py); importing them here
# registers them under the trial app, so migrations and ``trial.ExportRun`` keep working.
from trial.exports.models import ExportFormat, ExportRun, ExportStatus  # noqa: E402, F401


def screening_date(participant: Participant):
    """The day the participant was screened: the log entry's date, else the registration day."""
    entry = ScreeningLogEntry.objects.filter(participant=participant).only("screened_on").first()
    if entry is not None:
        return entry.screened_on
    if participant.created_at:
        return timezone.localdate(participant.created_at)
    return None


# --- treatment and clinical events (issue 7) ---
# PVP procedure per vertebra, usual care, crossover, adverse events and the radiographic
# controls. Rules live in trial/treatment_services.py; the analysts' figures (leakage per
# vertebra and per patient, as-treated arm) in trial/treatment_selectors.py.

from trial.vertebrae import LEVEL_CHOICES  # noqa: E402 - kept inside this section


class Anaesthesia(models.TextChoices):
    LOCAL = "local", _("Local")
    GENERAL = "general", _("General")


class Procedure(models.Model):
    """The vertebroplasty of one participant (PVP arm, or conservative after a crossover).

    The follow-up scheduler anchors the 12-week surgical control on ``procedure_date``.
    """

    participant = models.OneToOneField(
        Participant,
        on_delete=models.PROTECT,
        related_name="procedure",
        verbose_name=_("participant"),
    )
    procedure_date = models.DateField(_("date of procedure"))
    facility = models.CharField(_("facility"), max_length=200)
    anaesthesia = models.CharField(_("anaesthesia"), max_length=10, choices=Anaesthesia.choices)
    biopsy_taken = models.BooleanField(_("biopsy taken"))
    biopsy_result = models.TextField(_("biopsy result"), blank=True)
    complications = models.BooleanField(_("peri-procedural complications"))
    complications_details = models.TextField(_("which complications"), blank=True)
    discharge_date = models.DateField(_("date of discharge"), null=True, blank=True)
    recorded_by = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="+", verbose_name=_("recorded by")
    )
    recorded_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("PVP procedure")
        verbose_name_plural = _("PVP procedures")

    def __str__(self) -> str:
        return f"{self.participant.trial_number}: PVP {self.procedure_date.isoformat()}"

    def clean(self) -> None:
        errors: dict = {}
        _check_not_future(
            errors, procedure_date=self.procedure_date, discharge_date=self.discharge_date
        )
        if (
            self.discharge_date
            and self.procedure_date
            and self.discharge_date < self.procedure_date
        ):
            errors.setdefault("discharge_date", []).append(
                _("The discharge cannot be before the procedure.")
            )
        if self.biopsy_taken and not self.biopsy_result.strip():
            errors.setdefault("biopsy_result", []).append(
                _("Give the biopsy result, or 'pending' while it is awaited.")
            )
        if not self.biopsy_taken and self.biopsy_result.strip():
            errors.setdefault("biopsy_result", []).append(
                _("A biopsy result is given only when a biopsy was taken.")
            )
        if self.complications and not self.complications_details.strip():
            errors.setdefault("complications_details", []).append(_("Describe the complications."))
        _raise(errors)


class LeakageSite(models.TextChoices):
    """Where cement leaked; the field on ProcedureLevel is ``leak_<value>``."""

    DISC = "disc", _("Disc")
    VENOUS = "venous", _("Venous")
    PARAVERTEBRAL = "paravertebral", _("Paravertebral")
    EPIDURAL = "epidural", _("Epidural / spinal canal")
    FORAMINAL = "foraminal", _("Foraminal")


# A plausible cement volume for one thoracic or lumbar vertebra; outside it is a typing error.
CEMENT_VOLUME_MIN_ML = 0.5
CEMENT_VOLUME_MAX_ML = 15


class ProcedureLevel(models.Model):
    """One treated vertebra: the unit of the per-vertebra leakage rate."""

    AUDIT_PARTICIPANT_PATH = "procedure__participant_id"

    procedure = models.ForeignKey(
        Procedure, on_delete=models.CASCADE, related_name="levels", verbose_name=_("procedure")
    )
    level = models.CharField(_("level"), max_length=3, choices=LEVEL_CHOICES)
    cement_volume_ml = models.DecimalField(
        _("cement volume (ml)"),
        max_digits=4,
        decimal_places=1,
        validators=[
            MinValueValidator(CEMENT_VOLUME_MIN_ML),
            MaxValueValidator(CEMENT_VOLUME_MAX_ML),
        ],
    )
    leakage = models.BooleanField(_("cement leakage"))
    leak_disc = models.BooleanField(_("leakage into the disc"), default=False)
    leak_venous = models.BooleanField(_("venous leakage"), default=False)
    leak_paravertebral = models.BooleanField(_("paravertebral leakage"), default=False)
    leak_epidural = models.BooleanField(_("epidural / spinal canal leakage"), default=False)
    leak_foraminal = models.BooleanField(_("foraminal leakage"), default=False)
    posterior_wall_defect = models.BooleanField(
        _("posterior-wall defect on MRI"), null=True, blank=True
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["procedure", "id"]
        verbose_name = _("treated vertebra")
        verbose_name_plural = _("treated vertebrae")
        constraints = [
            models.UniqueConstraint(fields=["procedure", "level"], name="procedure_level_unique"),
            # Where it leaked is given exactly when it leaked.
            models.CheckConstraint(
                condition=models.Q(leakage=True)
                | models.Q(
                    leak_disc=False,
                    leak_venous=False,
                    leak_paravertebral=False,
                    leak_epidural=False,
                    leak_foraminal=False,
                ),
                name="procedure_level_leak_sites_only_with_leakage",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.procedure.participant.trial_number} {self.level}"

    @property
    def leakage_sites(self) -> list[str]:
        return [s for s in LeakageSite.values if getattr(self, f"leak_{s}")]

    def get_leakage_sites_display(self) -> str:
        return ", ".join(str(LeakageSite(s).label) for s in self.leakage_sites)

    def clean(self) -> None:
        errors: dict = {}
        if self.leakage and not self.leakage_sites:
            errors.setdefault("leakage", []).append(_("Say where the cement leaked."))
        if not self.leakage and self.leakage_sites:
            errors.setdefault("leakage", []).append(
                _("Leakage sites are given only when cement leaked.")
            )
        _raise(errors)


class UsualCare(models.Model):
    """What usual care included for a participant; edited over time, the history keeps each
    version with its reason."""

    participant = models.OneToOneField(
        Participant,
        on_delete=models.PROTECT,
        related_name="usual_care",
        verbose_name=_("participant"),
    )
    assessed_on = models.DateField(_("as of"))
    paracetamol = models.BooleanField(_("paracetamol"), default=False)
    nsaid = models.BooleanField(_("NSAID"), default=False)
    opioid = models.BooleanField(_("opioid"), default=False)
    opioid_ome_mg_per_day = models.DecimalField(
        _("opioid dose, oral morphine equivalent (mg/day)"),
        max_digits=6,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(5000)],
    )
    other_analgesics = models.CharField(_("other analgesics"), max_length=200, blank=True)
    brace = models.BooleanField(_("brace"), default=False)
    spinal_radiotherapy = models.BooleanField(_("radiotherapy to the spine"), default=False)
    radiotherapy_details = models.CharField(
        _("radiotherapy: levels, dose, dates"), max_length=200, blank=True
    )
    bone_therapy = models.CharField(
        _("bone-targeted therapy"), max_length=20, choices=BoneTherapy.choices
    )
    note = models.TextField(_("note"), blank=True)
    recorded_by = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="+", verbose_name=_("recorded by")
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("usual care")
        verbose_name_plural = _("usual care")

    def __str__(self) -> str:
        return f"{self.participant.trial_number}: {self._meta.verbose_name}"

    def clean(self) -> None:
        errors: dict = {}
        _check_not_future(errors, assessed_on=self.assessed_on)
        if self.opioid and self.opioid_ome_mg_per_day is None:
            errors.setdefault("opioid_ome_mg_per_day", []).append(
                _("Give the daily opioid dose as oral morphine equivalent.")
            )
        if not self.opioid and self.opioid_ome_mg_per_day is not None:
            errors.setdefault("opioid_ome_mg_per_day", []).append(
                _("An opioid dose is given only when the patient takes an opioid.")
            )
        if self.spinal_radiotherapy and not self.radiotherapy_details.strip():
            errors.setdefault("radiotherapy_details", []).append(
                _("Say which levels were irradiated, the dose and when.")
            )
        _raise(errors)


class Crossover(models.Model):
    """A conservative-arm participant changing to PVP. The allocation never changes; the
    as-treated arm is derived (trial.treatment_selectors)."""

    participant = models.OneToOneField(
        Participant,
        on_delete=models.PROTECT,
        related_name="crossover",
        verbose_name=_("participant"),
    )
    crossover_date = models.DateField(_("date of crossover decision"))
    reason = models.TextField(_("reason for crossover"))
    # Set only when the coordinator allowed a crossover before day 28.
    early_override_reason = models.TextField(
        _("reason for crossing over before day 28"), blank=True
    )
    early_override_by = models.ForeignKey(
        User,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("early crossover allowed by"),
    )
    recorded_by = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="+", verbose_name=_("recorded by")
    )
    recorded_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("crossover")
        verbose_name_plural = _("crossovers")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(early_override_by__isnull=True, early_override_reason="")
                | (models.Q(early_override_by__isnull=False) & ~models.Q(early_override_reason="")),
                name="crossover_override_with_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.participant.trial_number}: crossover {self.crossover_date.isoformat()}"


class CTCAEGrade(models.IntegerChoices):
    MILD = 1, _("1 · Mild")
    MODERATE = 2, _("2 · Moderate")
    SEVERE = 3, _("3 · Severe")
    LIFE_THREATENING = 4, _("4 · Life-threatening")
    DEATH = 5, _("5 · Death")


class AERelation(models.TextChoices):
    NOT_RELATED = "not_related", _("Not related")
    UNLIKELY = "unlikely", _("Unlikely")
    POSSIBLE = "possible", _("Possible")
    PROBABLE = "probable", _("Probable")
    DEFINITE = "definite", _("Definite")


class AEOutcome(models.TextChoices):
    ONGOING = "ongoing", _("Not yet recovered")
    RECOVERING = "recovering", _("Recovering")
    RECOVERED = "recovered", _("Recovered")
    SEQUELAE = "sequelae", _("Recovered with sequelae")
    FATAL = "fatal", _("Fatal")
    UNKNOWN = "unknown", _("Unknown")


# Outcomes after which the event has ended and a resolved date belongs to it.
AE_RESOLVED_OUTCOMES = frozenset({AEOutcome.RECOVERED, AEOutcome.SEQUELAE, AEOutcome.FATAL})


class AdverseEvent(models.Model):
    participant = models.ForeignKey(
        Participant,
        on_delete=models.PROTECT,
        related_name="adverse_events",
        verbose_name=_("participant"),
    )
    description = models.TextField(_("description"))
    onset_date = models.DateField(_("onset"))
    grade = models.PositiveSmallIntegerField(_("CTCAE grade"), choices=CTCAEGrade.choices)
    serious = models.BooleanField(_("serious adverse event"))
    relation = models.CharField(
        _("relation to the procedure"), max_length=12, choices=AERelation.choices
    )
    outcome = models.CharField(_("outcome"), max_length=12, choices=AEOutcome.choices)
    resolved_on = models.DateField(_("resolved on"), null=True, blank=True)
    recorded_by = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="+", verbose_name=_("recorded by")
    )
    recorded_at = models.DateTimeField(_("recorded"), auto_now_add=True)
    # Claimed by a conditional update in the task, so the coordinator is told exactly once.
    sae_notified_at = models.DateTimeField(_("coordinator notified"), null=True, blank=True)
    acknowledged_at = models.DateTimeField(_("acknowledged"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        User,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("acknowledged by"),
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["onset_date", "id"]
        verbose_name = _("adverse event")
        verbose_name_plural = _("adverse events")
        indexes = [models.Index(fields=["serious", "acknowledged_at"], name="ae_sae_queue")]

    def __str__(self) -> str:
        return f"{self.participant.trial_number}: {self.description[:40]}"

    def clean(self) -> None:
        errors: dict = {}
        _check_not_future(errors, onset_date=self.onset_date, resolved_on=self.resolved_on)
        if self.resolved_on and self.onset_date and self.resolved_on < self.onset_date:
            errors.setdefault("resolved_on", []).append(
                _("The event cannot be resolved before its onset.")
            )
        if self.resolved_on and self.outcome not in AE_RESOLVED_OUTCOMES:
            errors.setdefault("resolved_on", []).append(
                _("A resolved date is given only when the outcome says the event ended.")
            )
        if self.grade == CTCAEGrade.DEATH:
            if not self.serious:
                errors.setdefault("serious", []).append(
                    _("A grade 5 event (death) is always serious.")
                )
            if self.outcome != AEOutcome.FATAL:
                errors.setdefault("outcome", []).append(
                    _("A grade 5 event (death) has the outcome fatal.")
                )
        _raise(errors)


class RadiographKind(models.TextChoices):
    SURGICAL_CONTROL = "sc", _("Surgical control (12 weeks after PVP)")
    MONTH_12 = "m12", _("12-month X-ray")


class Stability(models.TextChoices):
    STABLE = "stable", _("Stable")
    UNSTABLE = "unstable", _("Not stable")
    NOT_APPLICABLE = "na", _("No treated vertebrae")


class RadiographicControl(models.Model):
    """Standing radiographs: the surgical control 12 weeks after PVP, and the 12-month X-ray
    of every participant. The same findings for both."""

    participant = models.ForeignKey(
        Participant,
        on_delete=models.PROTECT,
        related_name="radiographic_controls",
        verbose_name=_("participant"),
    )
    kind = models.CharField(_("kind"), max_length=4, choices=RadiographKind.choices)
    examined_on = models.DateField(_("date of radiographs"))
    standing = models.BooleanField(_("standing radiographs"), default=True)
    treated_stability = models.CharField(
        _("treated vertebrae"), max_length=10, choices=Stability.choices
    )
    new_fracture = models.BooleanField(_("new vertebral fracture"))
    new_fracture_levels = models.JSONField(_("levels of new fractures"), default=list, blank=True)
    new_fracture_adjacent = models.BooleanField(
        _("a new fracture is adjacent to a treated level"), null=True, blank=True
    )
    height_loss = models.BooleanField(_("vertebral height loss"))
    height_loss_levels = models.JSONField(_("levels with height loss"), default=list, blank=True)
    note = models.TextField(_("note"), blank=True)
    recorded_by = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="+", verbose_name=_("recorded by")
    )
    recorded_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["examined_on", "id"]
        verbose_name = _("radiographic control")
        verbose_name_plural = _("radiographic controls")
        constraints = [
            models.UniqueConstraint(fields=["participant", "kind"], name="radiograph_kind_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.participant.trial_number}: {self.get_kind_display()}"

    def clean(self) -> None:
        from trial.vertebrae import normalise_levels

        errors: dict = {}
        _check_not_future(errors, examined_on=self.examined_on)
        for name in ("new_fracture_levels", "height_loss_levels"):
            try:
                if not isinstance(getattr(self, name), list):
                    raise ValueError
                setattr(self, name, normalise_levels(getattr(self, name)))
            except (TypeError, ValueError):
                errors.setdefault(name, []).append(_("Pick levels from T1 to L5."))
        if self.new_fracture and not self.new_fracture_levels:
            errors.setdefault("new_fracture_levels", []).append(
                _("Pick the levels of the new fractures.")
            )
        if not self.new_fracture and self.new_fracture_levels:
            errors.setdefault("new_fracture_levels", []).append(
                _("Levels of new fractures are given only when there is a new fracture.")
            )
        if not self.new_fracture:
            self.new_fracture_adjacent = None
        if self.height_loss and not self.height_loss_levels:
            errors.setdefault("height_loss_levels", []).append(
                _("Pick the levels with height loss.")
            )
        if not self.height_loss and self.height_loss_levels:
            errors.setdefault("height_loss_levels", []).append(
                _("Levels with height loss are given only when there is height loss.")
            )
        _raise(errors)


from trial.outbox.models import PendingTask  # noqa: E402,F401 - the outbox row, own module
