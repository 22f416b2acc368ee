"""Writes of the follow-up app: creating, updating and cancelling contacts, logging calls.

The nightly jobs are set-based: a fixed number of queries per visit of the schedule, however
many participants are in follow-up, and every one of them is safe to run twice (the unique
constraint on (participant, visit) makes creation idempotent; status updates are conditional).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from followup.call_items import VisitItemsInput
from followup.models import (
    OPEN_STATUSES,
    CallLog,
    CallOutcome,
    Contact,
    ContactStatus,
    VisitItems,
    WeeklyList,
)
from trial.audit import audited_save, audited_update
from trial.concurrency import ConcurrentChange, person, values_of, version_of
from trial.errors import ServiceError
from trial.models import ENDED_STATUSES, Participant, ParticipantStatus
from trial.monitoring.locks import unlocked_q
from trial.protocol.anchors import anchor_dates, arm_lookup, participant_anchors
from trial.protocol.schedule import active_schedule, local_today, visit_windows
from trial.protocol.windows import VisitTiming, followup_over_many, randomised_q, revealed_arm
from trial.registry import revealed_allocation_q


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
        # Follow-up starts when the opened envelope is confirmed (trial.protocol.windows).
        rows = rows.filter(
            randomised_q("participant__"),
            unlocked_q("participant__"),  # a locked participant's data no longer changes
            participant__status=ParticipantStatus.RANDOMISED,
        ).exclude(Exists(existing))
        if visit.arms is not None:
            if arm_path is None:
                continue
            # An arm-restricted visit waits for the allocation to be revealed: a contact
            # planned earlier would tell the worklist the arm before the envelope is opened.
            rows = rows.filter(
                revealed_allocation_q(f"participant__{arm_path.rsplit('__', 1)[0]}__"),
                **{f"participant__{arm_path}__in": list(visit.arms)},
            )
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


@transaction.atomic
def contacts_create_for(
    *, participant: Participant, today: dt.date | None = None, user=None
) -> int:
    """Create at once every contact of one participant whose anchor date is known: all the
    visits anchored on randomisation when the allocation is confirmed, the visits anchored on
    the procedure when it is recorded. Returns how many were created.

    Runs in the caller's transaction (the randomisation or procedure hook). Idempotent with the
    nightly job: a visit that already has its contact is left as it is (the unique constraint
    decides), except that a planned or due contact whose anchor date was corrected (a
    procedure date typed wrong) moves with it. Only participants in follow-up get contacts,
    and a visit for another arm is never created.
    """
    today = today or local_today()
    status = Participant.objects.filter(pk=participant.pk).values_list("status", flat=True).first()
    randomised, arm = revealed_arm(participant)
    if status != ParticipantStatus.RANDOMISED or not randomised:
        return 0
    windows = visit_windows(active_schedule(), participant_anchors(participant.pk), arm)
    existing = {
        contact.visit_code: contact
        for contact in Contact.objects.select_for_update().filter(participant=participant)
    }
    batch = []
    for window in windows:
        visit = window.visit
        contact = existing.get(visit.code)
        anchor_date = window.target - dt.timedelta(days=visit.day)
        if contact is None:
            batch.append(
                Contact(
                    participant_id=participant.pk,
                    visit_code=visit.code,
                    kind=visit.contact_kind,
                    anchor=visit.anchor,
                    anchor_date=anchor_date,
                    target_date=window.target,
                    window_opens=window.opens,
                    window_closes=window.closes,
                    status=_status_for(window.opens, window.closes, today),
                )
            )
        elif contact.status in OPEN_STATUSES and contact.anchor_date != anchor_date:
            contact.anchor_date = anchor_date
            contact.target_date = window.target
            contact.window_opens = window.opens
            contact.window_closes = window.closes
            contact.status = _status_for(window.opens, window.closes, today)
            audited_save(
                contact,
                user=user,
                reason=f"{visit.anchor} date corrected",
                update_fields=[
                    "anchor_date",
                    "target_date",
                    "window_opens",
                    "window_closes",
                    "status",
                ],
                validate=False,
            )
    _insert(batch)
    return Contact.objects.filter(participant=participant).count() - len(existing)


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
    # A locked participant's contacts stay as the lock found them.
    unlocked = unlocked_q("participant__")
    with transaction.atomic():
        due = _update_with_history(
            Contact.objects.filter(
                unlocked,
                status=ContactStatus.PLANNED,
                window_opens__lte=today,
                window_closes__gte=today,
            ),
            ContactStatus.DUE,
            "window opened",
        )
        missed = _update_with_history(
            Contact.objects.filter(unlocked, status__in=OPEN_STATUSES, window_closes__lt=today),
            ContactStatus.MISSED,
            "window closed without a completed contact",
        )
    return {"due": due, "missed": missed}


COMPLETION_BATCH = 2000


def participants_complete(*, today: dt.date | None = None) -> int:
    """Randomised participants whose follow-up is over become "follow-up completed": the
    window of the last visit of their schedule has closed (the rule of
    ``trial.protocol.windows.followup_over_many``, which the data lock reads too). Run by the
    nightly job after the contacts' statuses, so no contact of theirs is left open. A second
    run changes nothing; a locked participant stays as the lock found them. Returns how many."""
    today = today or local_today()
    candidates = (
        Participant.objects.filter(unlocked_q(), status=ParticipantStatus.RANDOMISED)
        .filter(randomised_q())
        .only("pk", "status")
        .order_by("pk")
    )
    completed, after = 0, 0
    while batch := list(candidates.filter(pk__gt=after)[:COMPLETION_BATCH]):
        after = batch[-1].pk
        over = [pk for pk, done in followup_over_many(batch, today).items() if done]
        if over:
            completed += audited_update(
                Participant.objects.filter(pk__in=over, status=ParticipantStatus.RANDOMISED),
                user=None,
                reason="follow-up completed: the window of the last visit has closed",
                status=ParticipantStatus.COMPLETED,
            )
    return completed


def _update_with_history(qs, status: str, reason: str) -> int:
    """The nightly job's status change, in bulk; the system (no user) made it."""
    return audited_update(qs, user=None, reason=reason, status=status)


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
        audited_save(
            row,
            user=user,
            reason=reason,
            update_fields=["status", "cancelled_reason"],
            validate=False,
        )
    return len(rows)


# --- logging a call ----------------------------------------------------------------------


@dataclass(frozen=True)
class DeathInput:
    date_of_death: dt.date
    relation: str
    cause: str = ""


@dataclass(frozen=True)
class WithdrawalInput:
    withdrawn_on: dt.date
    reason: str
    data_use_allowed: bool
    initiated_by: str = "participant"


@transaction.atomic
def call_log_record(
    *,
    contact: Contact,
    user,
    outcome: str,
    notes: str = "",
    items: VisitItemsInput | None = None,
    death: DeathInput | None = None,
    withdrawal: WithdrawalInput | None = None,
    loaded_version: str | None = None,
    out_of_window_confirmed: bool = False,
    called_at: dt.datetime | None = None,
) -> CallLog:
    """Log one call of a contact: the attempt is counted, and by outcome the visit's items are
    stored (reached), or the death or withdrawal is recorded (which cancels every open contact
    of the participant through the participant-ended hook). All in one transaction: if any part
    is refused, nothing of the call is kept.

    Raises ServiceError (or django's ValidationError from trial.participants.services) with a
    message. ``loaded_version`` is the version of the contact the call form was loaded with: a call
    another nurse logged meanwhile is shown to this one (ConcurrentChange) instead of being
    followed by a second call record, or by a refusal that drops what this nurse typed.

    The schedule governs (trial.protocol.windows): a call outside the contact's window is
    refused unless ``out_of_window_confirmed``, and then recorded as out of window; a death or
    withdrawal is recorded whenever it is learnt. ``called_at``: when the call was made
    (default now; the demo's past calls).
    """
    from followup.selectors import contact_timing
    from trial.participants import services as trial_services

    contact = Contact.objects.select_for_update().select_related("participant").get(pk=contact.pk)
    if loaded_version is not None and loaded_version != version_of(contact):
        raise _call_conflict(contact)
    if contact.status not in OPEN_STATUSES:
        raise ServiceError(
            _("This contact is %(status)s; calls are logged on planned or due contacts only.")
            % {"status": contact.get_status_display().lower()}
        )
    if contact.participant.status in ENDED_STATUSES:
        raise ServiceError(_("The participant's follow-up has ended; nobody is to be called."))
    if outcome not in CallOutcome.values:
        raise ServiceError(_("Choose the outcome of the call."))
    if outcome == CallOutcome.REACHED and items is None:
        raise ServiceError(_("Record the visit's items when the patient was reached."))
    if outcome == CallOutcome.DIED and death is None:
        raise ServiceError(_("Give the date of death."))
    if outcome == CallOutcome.WITHDRAWS and withdrawal is None:
        raise ServiceError(_("Give the reason for the withdrawal."))
    called_at = called_at or timezone.now()
    timing = contact_timing(contact)
    out_of_window = outcome not in (CallOutcome.DIED, CallOutcome.WITHDRAWS) and timing.check(
        day=local_today(called_at), confirmed=out_of_window_confirmed
    )

    call = CallLog(
        contact=contact,
        participant=contact.participant,
        called_at=called_at,
        called_by=user,
        outcome=outcome,
        notes=notes.strip(),
        out_of_window=out_of_window,
    )
    audited_save(call, user=user)
    # Attempts are counted by the system, never typed: each logged call is one attempt.
    contact.attempts += 1
    audited_save(
        contact,
        user=user,
        reason=f"call logged: {outcome}",
        update_fields=["attempts"],
        validate=False,
    )

    # Each outcome's input was required above; the "is not None" only tells the type checker.
    if outcome == CallOutcome.REACHED and items is not None:
        _visit_items_record(
            contact=contact, call=call, items=items, user=user, notes=notes, timing=timing
        )
    elif outcome == CallOutcome.DIED and death is not None:
        trial_services.death_record(
            participant=contact.participant,
            user=user,
            date_of_death=death.date_of_death,
            relation=death.relation,
            cause=death.cause,
            source=str(_("Research nurse's follow-up call")),
        )
    elif outcome == CallOutcome.WITHDRAWS and withdrawal is not None:
        trial_services.withdrawal_record(
            participant=contact.participant,
            user=user,
            withdrawn_on=withdrawal.withdrawn_on,
            reason=withdrawal.reason,
            data_use_allowed=withdrawal.data_use_allowed,
            initiated_by=withdrawal.initiated_by,
        )
    return call


def _call_conflict(contact: Contact) -> ConcurrentChange:
    """The newest call of ``contact`` (and the visit's items, if it completed the visit), as the
    other nurse logged it."""
    call = contact.calls.select_related("called_by").order_by("-called_at", "-id").first()
    if call is None:  # changed by the scheduler, not by a call: show the contact itself
        return ConcurrentChange.of(contact, final=contact.status not in OPEN_STATUSES)
    values = values_of(call)
    items = VisitItems.objects.filter(contact=contact, call=call).first()
    if items is not None:
        values += values_of(items)
    return ConcurrentChange(
        who=person(call.called_by),
        when=call.called_at,
        values=values,
        version=version_of(contact),
        final=contact.status not in OPEN_STATUSES,
    )


def _visit_items_record(
    *,
    contact: Contact,
    call: CallLog,
    items: VisitItemsInput,
    user,
    timing: VisitTiming,
    notes: str = "",
) -> None:
    from followup import call_items
    from questionnaires import links as questionnaire_links
    from questionnaires import services as questionnaire_services
    from questionnaires.models import Mode
    from trial.protocol.visits import visit_instruments

    due = visit_instruments(contact.visit_code)
    visit = next((v for v in active_schedule().visits if v.code == contact.visit_code), None)
    groups = call_items.call_groups(
        visit.collects if visit else (),
        conservative_arm=call_items.conservative_arm(contact.participant),
        submitted=call_items.submitted_instruments(contact.participant, contact.visit_code),
    )
    # The visit is done only when each group is recorded or has its reason for being missing.
    missing = call_items.items_missing_check(groups, items, notes=notes)
    for instrument_code, answers in items.questionnaires.items():
        if instrument_code not in due:
            raise ServiceError(_("This visit does not collect that questionnaire."))
        questionnaire_services.response_enter(
            participant=contact.participant,
            visit_code=contact.visit_code,
            instrument_code=instrument_code,
            answers=answers,
            mode=Mode.PHONE,
            user=user,
            # The call's window and the nurse's confirmation hold for what it collects.
            timing=timing,
            out_of_window_confirmed=call.out_of_window,
            answered_on=local_today(call.called_at),
        )
    if items.send_link_via:
        if not due:
            raise ServiceError(_("This visit collects no questionnaires to send."))
        # The link covers the questionnaires not submitted yet: those just taken by phone are
        # submitted above, so the patient is asked only for the rest.
        questionnaire_links.link_send(
            participant=contact.participant,
            visit_code=contact.visit_code,
            user=user,
            via=items.send_link_via,
            window_closes=contact.window_closes,
        )
    audited_save(
        VisitItems(
            contact=contact,
            call=call,
            opioid_omeq_mg=items.opioid_omeq_mg,
            pain_medication=items.pain_medication.strip(),
            new_adverse_events=items.new_adverse_events,
            adverse_events_description=items.adverse_events_description.strip(),
            crossover_wish=items.crossover_wish,
            missing_reasons=missing,
            recorded_by=user,
        ),
        user=user,
    )
    contact.status = ContactStatus.DONE
    contact.completed_at = timezone.now()
    audited_save(
        contact,
        user=user,
        reason="patient reached, visit items recorded"
        + (f"; missing: {', '.join(sorted(missing))}" if missing else ""),
        update_fields=["status", "completed_at"],
        validate=False,
    )


# --- weekly lists ------------------------------------------------------------------------


def coming_week_start(today: dt.date | None = None) -> dt.date:
    """The Monday the weekly list is for: today on a Monday (the beat runs Monday morning),
    otherwise the next Monday."""
    today = today or local_today()
    return today + dt.timedelta(days=(7 - today.weekday()) % 7)


def weekly_lists_send(*, week_start: dt.date | None = None) -> dict[str, int]:
    """E-mail every active nurse with an address the list of the week starting ``week_start``.

    Safe to run twice or on two workers at once: one WeeklyList row per nurse and week (a
    unique constraint), claimed by a conditional update; only the claimer sends.
    """
    from followup.selectors import nurses_to_mail, week_start_of

    week_start = week_start_of(week_start or coming_week_start())
    nurse_ids = list(nurses_to_mail().values_list("id", flat=True))
    WeeklyList.objects.bulk_create(
        [WeeklyList(nurse_id=nurse_id, week_start=week_start) for nurse_id in nurse_ids],
        ignore_conflicts=True,
    )
    sent = skipped = 0
    for weekly in WeeklyList.objects.filter(
        nurse_id__in=nurse_ids, week_start=week_start, sent_at=None
    ).values_list("id", flat=True):
        if weekly_list_send_one(weekly_list_id=weekly):
            sent += 1
        else:
            skipped += 1
    return {"sent": sent, "skipped": skipped}


def weekly_list_send_one(*, weekly_list_id: int) -> bool:
    """Claim and send one nurse's weekly list; False when another run has claimed it."""
    from followup import pdf
    from followup.selectors import weekly_list

    claimed = WeeklyList.objects.filter(pk=weekly_list_id, claimed_at=None, sent_at=None).update(
        claimed_at=timezone.now()
    )
    if claimed != 1:
        return False
    weekly = WeeklyList.objects.select_related("nurse").get(pk=weekly_list_id)
    nurse = weekly.nurse
    try:
        contacts = list(weekly_list(nurse, week_start=weekly.week_start))
        with translation.override(_nurse_language(nurse)):
            # The attachment leaves the system by e-mail, which is neither encrypted end to end
            # nor under the trial's access control: it carries trial numbers, visits and
            # windows only. Names and phone numbers stay behind the login (the weekly-list
            # page and its PDF download), where the nurse's site membership is checked.
            document = pdf.weekly_list_pdf(
                user=nurse, week_start=weekly.week_start, contacts=contacts, identified=False
            )
            context = {
                "nurse": nurse,
                "week_start": weekly.week_start,
                "week_end": weekly.week_start + dt.timedelta(days=6),
                "count": len(contacts),
                "url": _absolute(
                    reverse("followup:weekly_list") + f"?week={weekly.week_start.isoformat()}"
                ),
            }
            subject = render_to_string("followup/email/weekly_subject.txt", context).strip()
            body = render_to_string("followup/email/weekly_body.txt", context)
        message = EmailMessage(subject=subject, body=body, to=[nurse.email])
        message.attach(f"contacts-{weekly.week_start.isoformat()}.pdf", document, "application/pdf")
        message.send()
    except Exception:
        # Release the claim so the next run (or the task's retry) sends it.
        WeeklyList.objects.filter(pk=weekly_list_id, sent_at=None).update(claimed_at=None)
        raise
    WeeklyList.objects.filter(pk=weekly_list_id).update(
        sent_at=timezone.now(), contact_count=len(contacts)
    )
    return True


def _nurse_language(user) -> str:
    return getattr(user, "language", "") or settings.LANGUAGE_CODE


def _absolute(path: str) -> str:
    base = getattr(settings, "SITE_URL", "") or ""
    return base.rstrip("/") + path
