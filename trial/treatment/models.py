"""Treatment and clinical events: PVP procedure per vertebra, usual care, crossover, adverse
events and the radiographic controls. Rules live in trial/treatment/services.py (adverse
events: adverse_events.py); the analysts' figures (leakage per vertebra and per patient,
as-treated arm) in trial/treatment/selectors.py.

Defined here, registered under the ``trial`` app label (re-exported from trial/models.py).
"""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from trial.participants.models import Participant
from trial.protocol.vertebrae import LEVEL_CHOICES
from trial.screening.models import BoneTherapy
from trial.staff.models import User
from trial.treatment.sae_report import (
    SAE_REPORT_HOURS,
    Expectedness,
    SeriousnessCriterion,
    sae_report_errors,
)
from trial.validation import _check_not_future, _raise


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
    as-treated arm is derived (trial.treatment.selectors)."""

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
# A reasonable possibility that the procedure caused the event: the "related" of a SUSAR.
AE_RELATED = frozenset({AERelation.POSSIBLE, AERelation.PROBABLE, AERelation.DEFINITE})


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
    # The SAE report (ICH E2A): empty for events that are not serious, and for serious events
    # recorded before these fields existed.
    seriousness_criteria = models.JSONField(_("seriousness criteria"), default=list, blank=True)
    hospital_admitted_on = models.DateField(_("admitted to hospital"), null=True, blank=True)
    hospital_discharged_on = models.DateField(_("discharged from hospital"), null=True, blank=True)
    expectedness = models.CharField(
        _("expectedness"), max_length=12, choices=Expectedness.choices, blank=True
    )
    relation_disease = models.CharField(
        _("relation to multiple myeloma"), max_length=12, choices=AERelation.choices, blank=True
    )
    site_aware_at = models.DateTimeField(_("site became aware"), null=True, blank=True)
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
        sae_report_errors(self, errors, fatal=self.outcome == AEOutcome.FATAL)
        _raise(errors)

    @property
    def criteria_labels(self) -> list[str]:
        labels = dict(SeriousnessCriterion.choices)
        return [str(labels.get(code, code)) for code in self.seriousness_criteria or []]

    @property
    def is_susar(self) -> bool:
        """A suspected unexpected serious adverse reaction: serious, related to the procedure
        and not expected from its reference safety information."""
        return (
            self.serious
            and self.relation in AE_RELATED
            and self.expectedness == Expectedness.UNEXPECTED
        )

    @property
    def hours_to_notice(self) -> int | None:
        """Whole hours from the site's awareness to the coordinator's e-mail."""
        if self.site_aware_at is None or self.sae_notified_at is None:
            return None
        return int((self.sae_notified_at - self.site_aware_at).total_seconds() // 3600)

    @property
    def notice_late(self) -> bool:
        hours = self.hours_to_notice
        return hours is not None and hours >= SAE_REPORT_HOURS


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
        from trial.protocol.vertebrae import normalise_levels

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
