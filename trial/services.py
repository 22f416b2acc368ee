"""Writes of the core domain: each function is one business action, atomic and audited."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Max

from trial.audit import audited_save
from trial.cpr import normalise_cpr
from trial.models import Identity, Participant, ParticipantStatus, Site, SiteKind, User


class ServiceError(Exception):
    """An expected failure a user should see as a message, not as a 500."""


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


@transaction.atomic
def participant_status_set(
    *, participant: Participant, status: str, user: User | None, reason: str
) -> Participant:
    participant = Participant.objects.select_for_update().get(pk=participant.pk)
    participant.status = status
    return audited_save(participant, user=user, reason=reason)
