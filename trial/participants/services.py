"""Writes about a participant: registration, identity, status, death and withdrawal.

Each function is one business action, atomic and audited.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from trial.audit import ReasonRequired, audited_save, model_update, require_reason
from trial.concurrency import ConcurrentChange, version_of
from trial.cpr import normalise_cpr
from trial.errors import ServiceError
from trial.models import (
    Death,
    DeathRelation,
    Identity,
    Participant,
    ParticipantStatus,
    Site,
    SiteKind,
    User,
    Withdrawal,
    WithdrawalInitiator,
    screening_date,
)


@transaction.atomic
def participant_create(
    *,
    site: Site,
    initials: str,
    sex: str,
    year_of_birth: int,
    user: User | None,
    status: str = ParticipantStatus.SCREENING,
) -> Participant:
    """Create a participant with the next trial number of the site (AAR-001, AAR-002, ...).

    The site row is locked while the number is chosen, so two hematologists registering at
    the same moment get consecutive numbers instead of one failing on the unique constraint.
    """
    if site.kind != SiteKind.HEMATOLOGY:
        raise ServiceError("Participants are registered at hematology departments.")
    locked = Site.objects.select_for_update().get(pk=site.pk)
    last = locked.participants.aggregate(m=Max("sequence"))["m"] or 0
    sequence = last + 1
    participant = Participant(
        site=locked,
        sequence=sequence,
        trial_number=f"{locked.code}-{sequence:03d}",
        initials=initials.upper(),
        sex=sex,
        year_of_birth=year_of_birth,
        status=status,
        created_by=user,
    )
    return audited_save(participant, user=user)


@transaction.atomic
def identity_set(
    *,
    participant: Participant,
    user: User | None,
    full_name: str,
    cpr: str,
    phone: str = "",
    email: str = "",
    address: str = "",
    reason: str = "",
) -> Identity:
    """Record or correct a participant's identifying data (a correction needs a reason)."""
    identity = Identity.objects.filter(participant=participant).first() or Identity(
        participant=participant
    )
    identity.full_name = full_name.strip()
    identity.cpr = normalise_cpr(cpr)
    identity.phone = phone.strip()
    identity.email = email.strip()
    identity.address = address.strip()
    return audited_save(identity, user=user, reason=reason)


CONTACT_FIELDS = ("phone", "email", "address")


def contact_details_version(participant: Participant, identity: Identity | None) -> str:
    """The version of what the contact-details form shows: the identity record, and the
    participant's language, which lives on the participant itself."""
    return f"{version_of(identity)}.{participant.language}"


def _contact_values(participant: Participant, identity: Identity) -> list[tuple[str, str]]:
    labels = {f.name: str(f.verbose_name).capitalize() for f in Identity._meta.concrete_fields}
    values = [(labels[name], getattr(identity, name)) for name in CONTACT_FIELDS]
    language = next(f for f in Participant._meta.concrete_fields if f.name == "language")
    return [
        *values,
        (str(language.verbose_name).capitalize(), participant.get_language_display()),
    ]


@transaction.atomic
def contact_details_set(
    *,
    participant: Participant,
    user: User,
    phone: str,
    email: str,
    address: str,
    language: str,
    reason: str,
    loaded_version: str | None = None,
) -> bool:
    """Change a participant's phone, e-mail, address and language, with a reason; whether
    anything changed.

    The identity record holds the contact details (read by ``questionnaires.links`` when a
    link is sent, so the next message goes to the new address); the language is on the
    participant. Both rows are locked, and a form loaded before someone else's save is
    refused with their values (``loaded_version``, see ``contact_details_version``).
    """
    participant = Participant.objects.select_for_update().get(pk=participant.pk)
    identity = Identity.objects.select_for_update().filter(participant=participant).first()
    if identity is None:
        raise ServiceError(
            _("No identifying data is recorded for %(number)s, so there are no contact details.")
            % {"number": participant.trial_number}
        )
    if loaded_version is not None and loaded_version != contact_details_version(
        participant, identity
    ):
        loaded_identity = loaded_version.partition(".")[0]
        changed = participant if loaded_identity == version_of(identity) else identity
        conflict = ConcurrentChange.of(changed, values=_contact_values(participant, identity))
        # Saving again replaces both records' values, so the form takes the version of both.
        conflict.version = contact_details_version(participant, identity)
        raise conflict
    contact = {"phone": phone.strip(), "email": email.strip(), "address": address.strip()}
    if all(getattr(identity, k) == v for k, v in contact.items()) and (
        participant.language == language
    ):
        return False
    try:
        reason = require_reason(reason)
    except ReasonRequired as error:
        raise ValidationError({"reason": error.messages}) from error
    model_update(instance=identity, data=contact, user=user, reason=reason)
    model_update(instance=participant, data={"language": language}, user=user, reason=reason)
    return True


@transaction.atomic
def participant_status_set(
    *, participant: Participant, status: str, user: User | None, reason: str
) -> Participant:
    participant = Participant.objects.select_for_update().get(pk=participant.pk)
    participant.status = status
    return audited_save(participant, user=user, reason=reason)


# --- death and withdrawal (follow-up calls these too) ---
# Both end the participant's follow-up. Every participant-ended hook (follow-up contacts, ...)
# runs inside the same transaction, so no list shows the participant after the commit and a
# failure anywhere leaves nothing half-done.


def _participant_ended(participant: Participant, *, user: User, reason: str) -> None:
    from trial.registry import registry

    for hook in registry.participant_ended_hooks:
        hook(participant=participant, reason=reason, user=user)


def _randomised_on(participant: Participant) -> dt.date | None:
    allocation = getattr(participant, "allocation", None)  # randomization.Allocation, if any
    randomised_at = getattr(allocation, "randomised_at", None)
    return timezone.localdate(randomised_at) if randomised_at else None


def _event_date_errors(
    participant: Participant, *, field: str, value: dt.date, future: str, before_screening: str
) -> dict[str, list[str]]:
    """Errors for the date of an event that ends follow-up; messages are whole sentences so
    that each translates on its own."""
    errors: dict[str, list[str]] = {}
    if value > timezone.localdate():
        errors.setdefault(field, []).append(future)
    screened = screening_date(participant)
    if screened and value < screened:
        errors.setdefault(field, []).append(before_screening % {"date": screened.isoformat()})
    return errors


@transaction.atomic
def death_record(
    *,
    participant: Participant,
    user: User,
    date_of_death: dt.date,
    relation: str,
    cause: str = "",
    source: str = "",
) -> Death:
    """Record a death and stop every contact of the participant in the same transaction."""
    participant = Participant.objects.select_for_update().get(pk=participant.pk)
    recorded = Death.objects.filter(participant=participant).first()
    if recorded is not None:
        # Recorded by someone else while this form was filled in: show theirs, keep ours.
        raise ConcurrentChange.of(recorded, final=True)
    if participant.status == ParticipantStatus.DECEASED:
        raise ValidationError(
            _("The death of %(number)s is already recorded.") % {"number": participant.trial_number}
        )
    if participant.status == ParticipantStatus.NOT_INCLUDED:
        raise ValidationError(
            _("%(number)s was not included in the trial; the trial records no death for them.")
            % {"number": participant.trial_number}
        )
    errors = _event_date_errors(
        participant,
        field="date_of_death",
        value=date_of_death,
        future=_("The date of death cannot be in the future."),
        before_screening=_("The date of death cannot be before the screening date (%(date)s)."),
    )
    if relation not in DeathRelation.values:
        errors.setdefault("relation", []).append(_("Choose what the death is related to."))
    if errors:
        raise ValidationError(errors)
    death = audited_save(
        Death(
            participant=participant,
            date_of_death=date_of_death,
            relation=relation,
            cause=cause.strip(),
            source=source.strip(),
            recorded_by=user,
        ),
        user=user,
    )
    reason = _("Death recorded (%(date)s).") % {"date": date_of_death.isoformat()}
    participant.status = ParticipantStatus.DECEASED
    audited_save(participant, user=user, reason=reason)
    _participant_ended(participant, user=user, reason=reason)
    return death


WITHDRAWABLE_STATUSES = (ParticipantStatus.RANDOMISED, ParticipantStatus.COMPLETED)


@transaction.atomic
def withdrawal_record(
    *,
    participant: Participant,
    user: User,
    withdrawn_on: dt.date,
    reason: str,
    data_use_allowed: bool,
    initiated_by: str = WithdrawalInitiator.PARTICIPANT,
) -> Withdrawal:
    """Record a withdrawal and stop every contact of the participant in the same transaction.

    Only a randomised participant withdraws; before randomisation the patient is recorded as
    not included instead, which is how CONSORT counts them.
    """
    participant = Participant.objects.select_for_update().get(pk=participant.pk)
    recorded = Withdrawal.objects.filter(participant=participant).first()
    if recorded is not None:
        raise ConcurrentChange.of(recorded, final=True)
    if participant.status not in WITHDRAWABLE_STATUSES:
        if participant.status == ParticipantStatus.SCREENING:
            message = _(
                "%(number)s is not randomised yet: record the patient as not included instead."
            )
        else:
            message = _("%(number)s cannot withdraw: the participant is %(status)s.")
        raise ValidationError(
            message
            % {
                "number": participant.trial_number,
                "status": participant.get_status_display().lower(),
            }
        )
    errors = _event_date_errors(
        participant,
        field="withdrawn_on",
        value=withdrawn_on,
        future=_("The withdrawal cannot be dated in the future."),
        before_screening=_("The withdrawal cannot be before the screening date (%(date)s)."),
    )
    randomised_on = _randomised_on(participant)
    if randomised_on and withdrawn_on < randomised_on:
        errors.setdefault("withdrawn_on", []).append(
            _("The withdrawal cannot be before randomisation (%(date)s).")
            % {"date": randomised_on.isoformat()}
        )
    if not reason.strip():
        errors.setdefault("reason", []).append(_("Give the reason for the withdrawal."))
    if data_use_allowed not in (True, False):
        errors.setdefault("data_use_allowed", []).append(
            _("Say whether the data collected so far may be used.")
        )
    if initiated_by not in WithdrawalInitiator.values:
        errors.setdefault("initiated_by", []).append(_("Say who initiated the withdrawal."))
    if errors:
        raise ValidationError(errors)
    withdrawal = audited_save(
        Withdrawal(
            participant=participant,
            withdrawn_on=withdrawn_on,
            initiated_by=initiated_by,
            reason=reason.strip(),
            data_use_allowed=data_use_allowed,
            recorded_by=user,
        ),
        user=user,
    )
    ended_reason = _("Withdrawal recorded (%(date)s).") % {"date": withdrawn_on.isoformat()}
    participant.status = ParticipantStatus.WITHDRAWN
    audited_save(participant, user=user, reason=ended_reason)
    _participant_ended(participant, user=user, reason=ended_reason)
    return withdrawal
