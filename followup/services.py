"""Writes of the follow-up app: creating, updating and cancelling contacts, logging calls.

The nightly jobs are set-based: a fixed number of queries per visit of the schedule, however
many participants are in follow-up, and every one of them is safe to run twice (the unique
constraint on (participant, visit) makes creation idempotent; status updates are conditional).
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from followup.anchors import anchor_dates, arm_lookup
from followup.models import OPEN_STATUSES, Contact, ContactStatus
from followup.schedule import Schedule, bundled_schedule, load_schedule, local_today
from trial.models import Participant, ParticipantStatus


@lru_cache(maxsize=4)
def _schedule_from(setting: str) -> Schedule:
    if setting.endswith(".json"):
        return load_schedule(setting)
    return bundled_schedule(setting)


def active_schedule() -> Schedule:
    """The schedule in force: FOLLOWUP_SCHEDULE names a bundled schedule or a JSON file."""
    return _schedule_from(settings.FOLLOWUP_SCHEDULE)


def _status_for(opens: dt.date, closes: dt.date, today: dt.date) -> str:
    if closes < today:
        return ContactStatus.MISSED
    if opens <= today:
        return ContactStatus.DUE
    return ContactStatus.PLANNED


def contacts_create_due(
    *,
    today: dt.date | None = None,
    horizon_days: int | None = None,
    catch_up_days: int | None = None,
) -> int:
    """Create the contacts whose window opens within the horizon (default: the coming week,
    so that Monday's list holds the whole week). Returns how many were created.

    Only participants in follow-up (status randomised) get contacts; a participant who died
    or withdrew is never scheduled again, whatever their anchor dates say. Visits whose window
    closed more than FOLLOWUP_CATCH_UP_DAYS ago are left alone (they were created, as missed,
    on earlier nights); ``catch_up_days=-1`` looks at every anchor ever recorded.
    """
    today = today or local_today()
    horizon = settings.FOLLOWUP_HORIZON_DAYS if horizon_days is None else horizon_days
    schedule = active_schedule()
    arm_path = arm_lookup()
    before = Contact.objects.count()
    catch_up = settings.FOLLOWUP_CATCH_UP_DAYS if catch_up_days is None else catch_up_days
    for visit in schedule.visits:
        # Anchors whose window opens by the end of the horizon and, unless catching up, closed
        # at most catch_up days ago: the nightly run then reads a few weeks of anchors per
        # visit instead of everyone ever randomised.
        latest_anchor = today + dt.timedelta(days=horizon - visit.day + visit.window_before)
        earliest_anchor = (
            None
            if catch_up < 0
            else today - dt.timedelta(days=catch_up + visit.day + visit.window_after)
        )
        rows = anchor_dates(visit.anchor, earliest=earliest_anchor, latest=latest_anchor)
        if rows is None:
            continue
        existing = Contact.objects.filter(
            participant_id=OuterRef("anchor_participant_id"), visit_code=visit.code
        )
        rows = rows.filter(participant__status=ParticipantStatus.RANDOMISED).exclude(
            Exists(existing)
        )
        if visit.arms is not None:
            if arm_path is None:
                continue
            rows = rows.filter(**{f"participant__{arm_path}__in": list(visit.arms)})
        batch = []
        for participant_id, anchor_date in rows.values_list(
            "anchor_participant_id", "anchor_date"
        ).iterator(chunk_size=5000):
            target = anchor_date + dt.timedelta(days=visit.day)
            opens = target - dt.timedelta(days=visit.window_before)
            closes = target + dt.timedelta(days=visit.window_after)
            batch.append(
                Contact(
                    participant_id=participant_id,
                    visit_code=visit.code,
                    kind=visit.contact_kind,
                    anchor=visit.anchor,
                    anchor_date=anchor_date,
                    target_date=target,
                    window_opens=opens,
                    window_closes=closes,
                    status=_status_for(opens, closes, today),
                )
            )
            if len(batch) >= 5000:
                _insert(batch)
                batch = []
        _insert(batch)
    # Counted, not summed: rows another worker inserted first were skipped, not created.
    return Contact.objects.count() - before


def _insert(batch: list[Contact]) -> None:
    # ignore_conflicts: a second worker that got here first already created some; the unique
    # constraint keeps exactly one row per participant and visit.
    if batch:
        with transaction.atomic():
            Contact.objects.bulk_create(batch, batch_size=2000, ignore_conflicts=True)


def contacts_update_status(*, today: dt.date | None = None) -> dict[str, int]:
    """Planned contacts whose window has opened become due; open contacts whose window has
    closed become missed. Conditional updates: a second run changes nothing."""
    today = today or local_today()
    with transaction.atomic():
        due = _update_with_history(
            Contact.objects.filter(
                status=ContactStatus.PLANNED, window_opens__lte=today, window_closes__gte=today
            ),
            ContactStatus.DUE,
            "window opened",
        )
        missed = _update_with_history(
            Contact.objects.filter(status__in=OPEN_STATUSES, window_closes__lt=today),
            ContactStatus.MISSED,
            "window closed without a completed contact",
        )
    return {"due": due, "missed": missed}


def _update_with_history(qs, status: str, reason: str) -> int:
    """Update rows and write their audit rows, in bulk (simple_history skips .update())."""
    rows = list(qs.select_for_update())
    if not rows:
        return 0
    ids = [r.id for r in rows]
    changed = Contact.objects.filter(id__in=ids).update(status=status)  # rows locked above
    for row in rows:
        row.status = status
    history = Contact.history.model
    history.objects.bulk_create(
        [
            history(
                **{f.attname: getattr(row, f.attname) for f in Contact._meta.concrete_fields},
                history_date=_now(),
                history_type="~",
                history_change_reason=reason,
                history_user=None,
            )
            for row in rows
        ],
        batch_size=2000,
    )
    return changed


def _now():
    return timezone.now()


@transaction.atomic
def contacts_cancel_open(*, participant: Participant, reason: str, user=None) -> int:
    """Cancel every planned or due contact of a participant at once (death, withdrawal).

    Runs inside the caller's transaction, so the contacts disappear from every list in the
    same commit that records the death or withdrawal, not at the next nightly run.
    """
    rows = list(
        Contact.objects.select_for_update().filter(
            participant=participant, status__in=OPEN_STATUSES
        )
    )
    for row in rows:
        row.status = ContactStatus.CANCELLED
        row.cancelled_reason = reason[:200]
        row._history_user = user
        row._change_reason = reason
        row.save(update_fields=["status", "cancelled_reason"])
    return len(rows)
