"""Date and error helpers shared by the capability models' clean() methods."""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def _today():
    return timezone.localdate()


def _check_not_future(errors: dict, **dates) -> None:
    """Add 'in the future' errors for each given date field (clinical facts happened)."""
    today = _today()
    for name, value in dates.items():
        if value and value > today:
            errors.setdefault(name, []).append(_("The date cannot be in the future."))


def _check_in_trial_period(errors: dict, **dates) -> None:
    """Add an error for each given date outside TRIAL_PERIOD_START..TRIAL_PERIOD_END."""
    from django.conf import settings
    from django.utils.formats import date_format

    start, end = settings.TRIAL_PERIOD_START, settings.TRIAL_PERIOD_END
    for name, value in dates.items():
        if value and not start <= value <= end:
            errors.setdefault(name, []).append(
                _("The date must fall within the trial's period, %(start)s to %(end)s.")
                % {"start": date_format(start), "end": date_format(end)}
            )


def _raise(errors: dict) -> None:
    from django.core.exceptions import ValidationError

    if errors:
        raise ValidationError(errors)
