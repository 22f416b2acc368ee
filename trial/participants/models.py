"""Participants: the patient, the identifying data kept apart, death and withdrawal.

Defined here, registered under the ``trial`` app label (re-exported from trial/models.py).
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from trial.cpr import validate_cpr
from trial.staff.models import Site, SiteKind, User


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
    # The language the participant reads: of questionnaires (patient's pages, the wording staff
    # read out on the phone) and of the links sent. Not identifying, so kept here.
    language = models.CharField(
        _("language"), max_length=8, choices=settings.LANGUAGES, default=settings.LANGUAGE_CODE
    )
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


class DeathRelation(models.TextChoices):
    """What the death is related to, as the trial reports it."""

    MYELOMA = "myeloma", _("Multiple myeloma")
    PROCEDURE = "procedure", _("The vertebroplasty procedure")
    OTHER = "other", _("Other cause")
    UNKNOWN = "unknown", _("Not known")


class Death(models.Model):
    """A participant's death. Recording it stops every contact at once
    (trial.participants.services)."""

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
