"""Date and error helpers shared by the capability models' clean() methods."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# Every date typed into a form falls in these years: clinical facts from the patients' lives,
# plans a few decades ahead. Outside them a date is a slip or a probe (year 1, year 9999), and
# the checks' date arithmetic (a diagnosis minus five years, a week plus seven days) would run
# out of Python's range and answer 500 instead of saying what is wrong.
EARLIEST_DATE = dt.date(1900, 1, 1)
LATEST_DATE = dt.date(2100, 12, 31)


def _today():
    return timezone.localdate()


def _check_not_future(errors: dict, **dates) -> None:
    """Add 'in the future' errors for each given date field (clinical facts happened)."""
    today = _today()
    for name, value in dates.items():
        if value and value > today:
            errors.setdefault(name, []).append(_("The date cannot be in the future."))


def _outside(value, start: dt.date, end: dt.date, message) -> str | None:
    """``message`` with the bounds filled in when ``value`` is a date outside start..end."""
    from django.utils.formats import date_format

    if value and not start <= value <= end:
        return message % {"start": date_format(start), "end": date_format(end)}
    return None


def _check_in_trial_period(errors: dict, **dates) -> None:
    """Add an error for each given date outside TRIAL_PERIOD_START..TRIAL_PERIOD_END."""
    from django.conf import settings

    start, end = settings.TRIAL_PERIOD_START, settings.TRIAL_PERIOD_END
    for name, value in dates.items():
        error = _outside(
            value,
            start,
            end,
            _("The date must fall within the trial's period, %(start)s to %(end)s."),
        )
        if error:
            errors.setdefault(name, []).append(error)


def validate_plausible_date(value) -> None:
    """Refuse a date outside EARLIEST_DATE..LATEST_DATE (every date field of every form)."""
    error = _outside(
        value, EARLIEST_DATE, LATEST_DATE, _("Enter a date between %(start)s and %(end)s.")
    )
    if error:
        raise ValidationError(error, code="date_out_of_range")


def _raise(errors: dict) -> None:
    if errors:
        raise ValidationError(errors)
