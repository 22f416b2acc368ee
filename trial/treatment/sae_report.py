"""The serious adverse event report's ICH E2A part: the seriousness criteria, expectedness,
and the rules of what a serious event must say (and what only a serious one may).

Kept apart from trial/treatment/models.py, which reads the choices and calls
``sae_report_errors`` from ``AdverseEvent.clean()``; this module imports no models.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from trial.validation import _check_not_future


class SeriousnessCriterion(models.TextChoices):
    """What makes an adverse event serious (ICH E2A, II.B)."""

    DEATH = "death", _("Results in death")
    LIFE_THREATENING = "life_threatening", _("Is life-threatening")
    HOSPITALISATION = (
        "hospitalisation",
        _("Requires inpatient hospitalisation or prolongs an existing hospitalisation"),
    )
    DISABILITY = "disability", _("Results in persistent or significant disability or incapacity")
    CONGENITAL_ANOMALY = "congenital_anomaly", _("Is a congenital anomaly or birth defect")
    MEDICALLY_IMPORTANT = "medically_important", _("Other medically important event")


class Expectedness(models.TextChoices):
    """Against the reference safety information for PVP (the risks the surgeon informs of)."""

    EXPECTED = "expected", _("Expected")
    UNEXPECTED = "unexpected", _("Unexpected")


# The 24-hour clock of SAE reporting: from the site's awareness to the coordinator's notice.
SAE_REPORT_HOURS = 24


def _add(errors: dict, name: str, message: Any) -> None:
    errors.setdefault(name, []).append(message)


def sae_report_errors(event: Any, errors: dict, *, fatal: bool) -> None:
    """Add the E2A errors of ``event`` (an AdverseEvent; ``fatal``: its outcome is fatal) to
    ``errors``, and put its criteria in the one order of the list."""
    criteria = event.seriousness_criteria
    if not isinstance(criteria, list) or not set(criteria) <= set(SeriousnessCriterion.values):
        _add(errors, "seriousness_criteria", _("Pick seriousness criteria from the list."))
        return
    # One order whatever the order of ticking, so the export and the history compare.
    criteria = [c for c in SeriousnessCriterion.values if c in criteria]
    event.seriousness_criteria = criteria
    if event.serious:
        required = {
            "seriousness_criteria": (
                criteria,
                _("A serious event meets at least one seriousness criterion: tick it."),
            ),
            "expectedness": (
                event.expectedness,
                _("Say whether the serious event is expected after PVP."),
            ),
            "relation_disease": (
                event.relation_disease,
                _("Say how the serious event relates to the multiple myeloma."),
            ),
            "site_aware_at": (
                event.site_aware_at,
                _("Give when the site became aware of the serious event."),
            ),
        }
        for name, (value, message) in required.items():
            if not value:
                _add(errors, name, message)
    elif criteria:
        _add(
            errors,
            "seriousness_criteria",
            _("Seriousness criteria are given only for a serious event."),
        )
    death = SeriousnessCriterion.DEATH in criteria
    if event.serious and fatal and criteria and not death:
        _add(
            errors,
            "seriousness_criteria",
            _("A fatal serious event meets the criterion 'results in death'."),
        )
    if death and not fatal:
        _add(errors, "outcome", _("An event that results in death has the outcome fatal."))
    _hospital_errors(event, errors, SeriousnessCriterion.HOSPITALISATION in criteria)
    _awareness_errors(event, errors)


def _hospital_errors(event: Any, errors: dict, hospital: bool) -> None:
    admitted, discharged = event.hospital_admitted_on, event.hospital_discharged_on
    if hospital and not admitted:
        _add(errors, "hospital_admitted_on", _("Give the date of admission to hospital."))
    if not hospital and (admitted or discharged):
        _add(
            errors,
            "hospital_admitted_on",
            _("Hospital dates are given only when hospitalisation is a seriousness criterion."),
        )
    _check_not_future(errors, hospital_admitted_on=admitted, hospital_discharged_on=discharged)
    if admitted and discharged and discharged < admitted:
        _add(errors, "hospital_discharged_on", _("The discharge cannot be before the admission."))
    elif discharged and event.onset_date and discharged < event.onset_date:
        _add(
            errors,
            "hospital_discharged_on",
            _("The discharge cannot be before the event's onset."),
        )


def _awareness_errors(event: Any, errors: dict) -> None:
    aware = event.site_aware_at
    if aware is None:
        return
    if aware > timezone.now():
        _add(errors, "site_aware_at", _("The time cannot be in the future."))
    elif event.onset_date and timezone.localdate(aware) < event.onset_date:
        _add(
            errors,
            "site_aware_at",
            _("The site cannot have become aware before the event's onset."),
        )
    elif event.sae_notified_at and aware > event.sae_notified_at:
        _add(
            errors,
            "site_aware_at",
            _("The coordinator was e-mailed before that time, so the site knew by then."),
        )
