"""Data locks: a participant's data once the follow-up is over and the queries are closed, and
the whole trial's (the database lock before analysis).

The services below are the only writers of ``DataLock``; the write guard is the one place that
refuses a change of locked data. ``trial.audit`` asks it before every write (through
``registry.write_guards``), so every page, task, command and admin that writes through the
audit trail is refused alike; the few writers that bypass the trail call
``trial.audit.guard_writes`` themselves or leave locked participants out of their query
(``unlocked_q``).
"""

from __future__ import annotations

from typing import Any

from django.db import models, transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from trial.audit import audited_save, participant_path, require_reason
from trial.concurrency import person
from trial.errors import DataLocked, ServiceError
from trial.models import DataLock, LockScope, Participant
from trial.monitoring.models import Query
from trial.monitoring.selectors import OPEN_STATES
from trial.protocol.windows import followup_over_many
from trial.registry import registry

# --- reading -----------------------------------------------------------------------------


def active_locks() -> models.QuerySet[DataLock]:
    return DataLock.objects.filter(unlocked_at=None)


def trial_lock_active() -> DataLock | None:
    """The database lock in force, if any."""
    return active_locks().filter(scope=LockScope.TRIAL).select_related("locked_by").first()


def participant_lock_active(participant) -> DataLock | None:
    """The lock in force on ``participant`` itself (not the trial's), if any."""
    return active_locks().filter(participant=participant).select_related("locked_by").first()


def unlocked_q(path: str = "") -> Q:
    """A filter keeping participants whose data may change (none while the trial is locked),
    on a query reaching the participant by ``path`` (``"participant__"`` on a contact)."""
    if active_locks().filter(scope=LockScope.TRIAL).exists():
        return Q(pk__in=[])
    locked = active_locks().filter(scope=LockScope.PARTICIPANT).values("participant_id")
    return ~Q(**{f"{path}pk__in": locked})


def describe(lock: DataLock) -> str:
    """The lock in words, as every refusal names it."""
    when = date_format(timezone.localtime(lock.locked_at), "SHORT_DATETIME_FORMAT")
    who = person(lock.locked_by) or _("the system")
    if lock.scope == LockScope.TRIAL:
        return _("The trial database is locked (locked by %(who)s on %(when)s).") % {
            "who": who,
            "when": when,
        }
    return _("%(number)s is locked (locked by %(who)s on %(when)s).") % {
        "number": lock.participant.trial_number if lock.participant else "",
        "who": who,
        "when": when,
    }


def export_lock_note() -> str:
    """What an export says about the database lock: taken from a locked database (by whom,
    when) or not. Written into every export's README and shown on the export pages."""
    lock = trial_lock_active()
    if lock is None:
        return _("not locked: taken from a database whose data may still change")
    return _("taken from a locked database (locked by %(who)s on %(when)s)") % {
        "who": person(lock.locked_by),
        "when": date_format(timezone.localtime(lock.locked_at), "SHORT_DATETIME_FORMAT"),
    }


def lock_message(participant=None) -> str:
    """Why ``participant``'s data (with None: any data of the trial) may not change, or ""."""
    lookup = Q(scope=LockScope.TRIAL)
    if participant is not None and participant.pk is not None:
        lookup |= Q(participant_id=participant.pk)
    found = list(active_locks().filter(lookup).select_related("locked_by", "participant"))
    # The trial's lock first: it is the one that must be lifted first.
    found.sort(key=lambda lock: lock.scope != LockScope.TRIAL)
    return describe(found[0]) if found else ""


def lock_conditions_unmet(participant) -> list[str]:
    """What the registered lock conditions find not yet met for ``participant``."""
    return lock_conditions_unmet_many([participant])[participant.pk]


def lock_conditions_unmet_many(participants) -> dict[int, list[str]]:
    """``lock_conditions_unmet`` of each of ``participants``, by id: a fixed number of queries
    however many (each condition answers for all of them at once)."""
    people = list(participants)
    unmet: dict[int, list[str]] = {p.pk: [] for p in people}
    if not people:
        return unmet
    for condition in registry.lock_conditions:
        for pk, message in condition(people).items():
            unmet[pk].append(message)
    return unmet


def condition_followup_over(participants) -> dict[int, str]:
    message = _("The follow-up is not over: a visit window is still open or to come.")
    return {pk: message for pk, over in followup_over_many(participants).items() if not over}


def condition_queries_closed(participants) -> dict[int, str]:
    counts = (
        Query.objects.filter(participant__in=[p.pk for p in participants], state__in=OPEN_STATES)
        .order_by()
        .values_list("participant_id")
        .annotate(n=Count("pk"))
    )
    return {
        pk: ngettext("%(n)d query is not closed.", "%(n)d queries are not closed.", count)
        % {"n": count}
        for pk, count in counts
    }


# --- the write guard --------------------------------------------------------------------


def _participant_ids(instances: list[Any]) -> tuple[set[int], bool]:
    """The participants the rows belong to, and whether the rows are trial data at all: a
    participant's (``trial.audit.participant_path``; a screening-log entry not yet linked to
    a participant too). Staff, sites and set-up data are not locked."""
    model = type(instances[0])
    if getattr(model, "LOCK_RECORD", False):
        return set(), False
    path = participant_path(model)
    if path is None:
        return set(), False
    ids: set[int] = set()
    if "__" in path:
        # A row reaching its participant through another (a treated level's procedure): one
        # query for all rows saved before, the related row's own key for a new one.
        saved = [i.pk for i in instances if i.pk is not None]
        if saved:
            ids.update(model._default_manager.filter(pk__in=saved).values_list(path, flat=True))
        head, _rest = path.split("__", 1)
        for instance in instances:
            if instance.pk is None:
                related = getattr(instance, head, None)
                value = getattr(related, "participant_id", None) if related is not None else None
                if value is not None:
                    ids.add(value)
    else:
        ids = {getattr(i, path) for i in instances if getattr(i, path, None) is not None}
    return {i for i in ids if i is not None}, True


def guard(instances: list[Any]) -> None:
    """Refuse to write rows of a locked participant, or any trial data under the database
    lock, with a message naming the lock. One query, none for data no lock covers."""
    ids, covered = _participant_ids(instances)
    if not covered:
        return
    lookup = Q(scope=LockScope.TRIAL)
    if ids:
        lookup |= Q(participant_id__in=ids)
    found = list(active_locks().filter(lookup).select_related("locked_by", "participant"))
    if found:
        found.sort(key=lambda lock: lock.scope != LockScope.TRIAL)
        raise DataLocked(describe(found[0]))


# --- writing ------------------------------------------------------------------------------


def _lock(row: DataLock | None, *, scope: str, participant, user, reason: str, unmet: list[str]):
    now = timezone.now()
    if row is None:
        row = DataLock(scope=scope, participant=participant)
    elif row.active:
        raise ServiceError(describe(row))
    row.locked_at = now
    row.locked_by = user
    row.reason = reason
    row.unmet_conditions = "\n".join(unmet)
    row.unlocked_at = None
    row.unlocked_by = None
    row.unlock_reason = ""
    audited_save(row, user=user, reason=(reason or _("locked")) if row.pk else "")
    return row


@transaction.atomic
def participant_lock(*, participant: Participant, user, reason: str = "") -> DataLock:
    """Lock ``participant``'s data. When a lock condition is not met (follow-up not over,
    queries open, ...) a reason is required, and kept with the conditions it overrode."""
    participant = Participant.objects.select_for_update().get(pk=participant.pk)
    unmet = lock_conditions_unmet(participant)
    reason = require_reason(reason) if unmet else (reason or "").strip()
    row = DataLock.objects.filter(participant=participant).first()
    return _lock(
        row,
        scope=LockScope.PARTICIPANT,
        participant=participant,
        user=user,
        reason=reason,
        unmet=unmet,
    )


@transaction.atomic
def participant_unlock(*, participant: Participant, user, reason: str) -> DataLock:
    """Unlock ``participant``'s data, with a reason (kept and audited). Refused while the
    trial itself is locked: that lock is lifted first."""
    reason = require_reason(reason)
    row = DataLock.objects.select_for_update().filter(participant=participant).first()
    if row is None or not row.active:
        raise ServiceError(_("%(number)s is not locked.") % {"number": participant.trial_number})
    whole = trial_lock_active()
    if whole is not None:
        raise DataLocked(describe(whole))
    return _unlock(row, user=user, reason=reason)


def _unlock(row: DataLock, *, user, reason: str) -> DataLock:
    row.unlocked_at = timezone.now()
    row.unlocked_by = user
    row.unlock_reason = reason
    return audited_save(row, user=user, reason=reason)


@transaction.atomic
def trial_lock(*, user, reason: str = "") -> DataLock:
    """Lock the whole trial's data (the database lock before analysis). Every participant not
    locked yet is a condition not met, and so needs a reason."""
    pending = participants_not_locked().count()
    unmet = []
    if pending:
        unmet.append(
            ngettext(
                "%(n)d participant is not locked.", "%(n)d participants are not locked.", pending
            )
            % {"n": pending}
        )
    reason = require_reason(reason) if unmet else (reason or "").strip()
    row = DataLock.objects.select_for_update().filter(scope=LockScope.TRIAL).first()
    return _lock(
        row, scope=LockScope.TRIAL, participant=None, user=user, reason=reason, unmet=unmet
    )


@transaction.atomic
def trial_unlock(*, user, reason: str) -> DataLock:
    reason = require_reason(reason)
    row = DataLock.objects.select_for_update().filter(scope=LockScope.TRIAL).first()
    if row is None or not row.active:
        raise ServiceError(_("The trial database is not locked."))
    return _unlock(row, user=user, reason=reason)


def participants_not_locked() -> models.QuerySet[Participant]:
    """Participants whose own lock is not in force, in trial-number order."""
    return (
        Participant.objects.exclude(
            pk__in=active_locks().filter(scope=LockScope.PARTICIPANT).values("participant")
        )
        .select_related("site")
        .order_by("trial_number")
    )
