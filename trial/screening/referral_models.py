"""The surgical referral and the surgeon's assessment: the screening steps at the surgical
department. Registered under the ``trial`` app label (re-exported from trial/models.py).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from trial.participants.models import Participant
from trial.staff.models import Site, SiteKind, User
from trial.validation import _check_not_future, _raise


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
        from trial.protocol.vertebrae import normalise_levels

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
