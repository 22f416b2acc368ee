"""The "screened before?" look-up of a CPR number, recorded and throttled.

The look-up searches the screening log of every site, so it would answer "is this person
known to the trial?" for any CPR number a user types. Each look-up is therefore kept (who,
when, found or not; never the number) and a user gets at most
``SCREENING_CPR_LOOKUP_LIMIT`` of them per ``SCREENING_CPR_LOOKUP_WINDOW_SECONDS``.
"""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext as _

from trial.screening.models import CprLookup, ScreeningLogEntry
from trial.staff.models import User


class LookupThrottled(Exception):
    """Too many look-ups by this user in the window."""

    def __init__(self):
        super().__init__(
            _(
                "You have checked many CPR numbers in a short time. For the patients' privacy "
                "the check is paused; try again later or contact the trial coordinator."
            )
        )


def _key(user: User) -> str:
    return f"screening-cpr-lookups:{user.pk}"


def _count(user: User) -> int:
    """Count this look-up in the user's window and return the count so far."""
    key, window = _key(user), settings.SCREENING_CPR_LOOKUP_WINDOW_SECONDS
    cache.add(key, 0, window)
    try:
        return cache.incr(key)
    except ValueError:  # the window ended between add and incr
        cache.set(key, 1, window)
        return 1


def earlier_screenings(*, user: User, digest: str) -> list[ScreeningLogEntry]:
    """The log entries of every site with this CPR digest; recorded, and throttled per user.

    Raises LookupThrottled beyond the limit (nothing is searched then, and nothing recorded).
    """
    if _count(user) > settings.SCREENING_CPR_LOOKUP_LIMIT:
        raise LookupThrottled()
    earlier = list(ScreeningLogEntry.objects.filter(cpr_digest=digest).select_related("site"))
    CprLookup.objects.create(user=user, found=bool(earlier))
    return earlier
