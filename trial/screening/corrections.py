"""Corrections of the screening path, after randomisation too (issue 17).

The screening form, eligibility checklist, consent and surgical assessment are recorded once by
the clinic (``screening_record`` / ``surgical_assessment_record`` in ``trial.access_matrix``)
and corrected with a reason by those who may correct them (``screening_correct`` /
``surgical_assessment_correct``: the recording role and the data manager). Once a participant
is randomised the same pages open in correction mode: a banner, a required reason of at least
``REASON_MIN_LENGTH`` characters, the record's version (trial.concurrency), and the record's
own service with ``correction=True``, which skips "still in screening" but keeps every other
check. The allocation never changes: what a correction means for it (another stratum, no longer
eligible) is decided by the correction checks the randomisation app registers
(``trial.registry.CorrectionCheck``), which record a protocol deviation for the coordinator and
return a warning for the person correcting.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from trial import access
from trial.audit import require_reason
from trial.models import NotIncludedReason, Participant, ParticipantStatus, User
from trial.registry import registry

# Page (URL name in the ``trial`` namespace) -> (who records it first, who corrects it).
PAGE_ACTIONS: dict[str, tuple[str, str]] = {
    "screening_form": ("screening_record", "screening_correct"),
    "eligibility": ("screening_record", "screening_correct"),
    "consent": ("screening_record", "screening_correct"),
    "surgical_assessment": ("surgical_assessment_record", "surgical_assessment_correct"),
}


@dataclass(frozen=True)
class PageMode:
    """How a page of the screening path opens for a user and a participant.

    ``allowed``: the form is offered. ``randomised_on``: set when it is a correction after
    randomisation (the banner's date). Otherwise ``message`` says why not; ``redirect`` tells
    whether the user is sent back to the participant page (the clinic, who may record there
    while the participant is in screening) or shown the message on the page.
    """

    allowed: bool
    page: str = ""
    randomised_on: dt.date | None = None
    message: str = ""
    redirect: bool = True

    @property
    def correcting(self) -> bool:
        return self.randomised_on is not None


def randomised_on(participant: Participant) -> dt.date | None:
    """The day of the participant's allocation, or None before randomisation."""
    allocation = getattr(participant, "allocation", None)  # randomization.Allocation, if any
    randomised_at = getattr(allocation, "randomised_at", None)
    return timezone.localdate(randomised_at) if randomised_at else None


def not_in_screening_message(participant: Participant) -> str:
    return _("%(number)s is no longer in screening (%(status)s); this cannot be changed here.") % {
        "number": participant.trial_number,
        "status": participant.get_status_display(),
    }


def page_mode(user: User, participant: Participant, page: str, *, existing: bool) -> PageMode:
    """Whether ``user`` may fill in or correct ``page`` of ``participant`` now, and how."""
    record_action, correct_action = PAGE_ACTIONS[page]
    records = access.can(user, record_action)
    day = randomised_on(participant)
    if day is not None:
        if existing and access.can(user, correct_action):
            return PageMode(True, page, randomised_on=day)
        return PageMode(False, message=not_in_screening_message(participant), redirect=records)
    contraindicated = (
        participant.status == ParticipantStatus.NOT_INCLUDED
        and participant.not_included_reason == NotIncludedReason.CONTRAINDICATED
    )
    if participant.status != ParticipantStatus.SCREENING and not (
        page == "surgical_assessment" and existing and contraindicated
    ):
        return PageMode(False, message=not_in_screening_message(participant), redirect=records)
    if records or (existing and access.can(user, correct_action)):
        return PageMode(True, page)
    return PageMode(
        False,
        message=_(
            "Nothing is recorded here yet. The clinic fills it in; what is recorded can then "
            "be corrected with a reason."
        ),
        redirect=False,
    )


@transaction.atomic
def correction_record(
    *,
    participant: Participant,
    user: User,
    reason: str,
    what: str,
    save: Callable[[], Any],
) -> list[str]:
    """Save a correction of a randomised participant's record and run the correction checks.

    ``what`` names the record in the deviation's description (stored, in English, like the
    other deviations').
    ``save`` calls the record's service with ``correction=True``. The reason is checked first
    (``require_reason``: ReasonRequired, shown on the form's reason field). The participant row
    is locked so that two corrections of one participant are checked one after the other.
    Returns the warnings of the checks (a protocol deviation was recorded), in words.
    """
    reason = require_reason(reason)
    participant = Participant.objects.select_for_update().get(pk=participant.pk)
    before = [(check, check.snapshot(participant)) for check in registry.correction_checks]
    save()
    warnings: list[str] = []
    for check, snapshot in before:
        warnings += check.after(
            participant=participant, before=snapshot, user=user, reason=reason, what=what
        )
    return warnings


def record(
    mode: PageMode,
    *,
    service: Callable[..., Any],
    participant: Participant,
    user: User,
    reason: str,
    **values: Any,
) -> list[str]:
    """Record through ``service`` as the page's mode says: a plain save before randomisation,
    a correction (``correction_record``) after it. Returns the warnings to show."""
    if not mode.correcting:
        service(participant=participant, user=user, reason=reason, **values)
        return []
    return correction_record(
        participant=participant,
        user=user,
        reason=reason,
        what=mode.page.replace("_", " "),
        save=lambda: service(
            participant=participant, user=user, reason=reason, correction=True, **values
        ),
    )
