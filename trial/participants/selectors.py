"""Reads of participants. Every list and lookup of participants goes through here."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _

from trial import access
from trial.models import Participant, User


def participant_get_for(user: User, trial_number: str) -> Participant:
    """A participant the user may see, or 404 (never 403: other sites are not probeable)."""
    return get_object_or_404(
        access.participants_for(user).select_related("site"), trial_number=trial_number
    )


def participant_search(qs: QuerySet[Participant], query: str) -> QuerySet[Participant]:
    query = (query or "").strip()
    if not query:
        return qs
    return qs.filter(Q(trial_number__icontains=query) | Q(initials__iexact=query))


def randomisation_blockers(participant: Participant) -> list[str]:
    """What is still missing before this participant can be randomised; empty when ready.

    Each app contributes its own checks through trial.registry (screening, consent, surgical
    assessment, baseline questionnaires, ...). The messages are translated and say what to do.
    """
    return [blocker.message for blocker in randomisation_blocker_details(participant)]


def randomisation_blocker_details(participant: Participant) -> list:
    """Like randomisation_blockers, with a code and a link for each item (readiness panel)."""
    from trial.registry import registry

    blockers = []
    for _order, check in registry.readiness_checks:
        blockers.extend(check(participant))
    return blockers


def participant_timeline(user: User, participant: Participant) -> list:
    """Everything that happened to a participant, oldest first, from every app."""
    from trial.registry import TimelineEvent, registry

    events = [
        TimelineEvent(
            when=participant.created_at, title=str(_("Registered in the trial")), kind="created"
        )
    ]
    for provider in registry.timeline_providers:
        events.extend(provider(user, participant))
    return sorted(events, key=lambda e: e.sort_key)
