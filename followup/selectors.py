"""Reads of the follow-up app: the nurse's worklist, weekly lists and completeness.

Every list starts from ``trial.access.participants_for`` so site scoping lives
in one place, and every list costs a fixed number of queries however many rows it has.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Count, QuerySet
from django.utils.translation import gettext as _

from followup.models import OPEN_STATUSES, CallLog, Contact, ContactStatus
from trial import access
from trial.access import participants_for
from trial.models import ENDED_STATUSES, Site, User
from trial.protocol.schedule import COLLECT_ITEMS
from trial.protocol.windows import VisitTiming, is_randomised

# "incomplete": visits marked done with an item still missing, while their window is open.
TABS = ("today", "week", "overdue", "incomplete")


def week_start_of(day: dt.date) -> dt.date:
    """The Monday of the week that contains ``day``."""
    return day - dt.timedelta(days=day.weekday())


def contacts_for(user: User) -> QuerySet[Contact]:
    """Contacts of the participants the user may see. Participants who died, withdrew or
    completed are left out even if a contact were somehow still open."""
    return Contact.objects.filter(participant__in=participants_for(user)).exclude(
        participant__status__in=ENDED_STATUSES
    )


def contact_history_for(user: User) -> QuerySet[Contact]:
    """Every contact of the participants the user may see, also after death or withdrawal:
    for reading a contact's call history, never for deciding whom to call."""
    return Contact.objects.filter(participant__in=participants_for(user))


def open_contacts_for(user: User, *, site: Site | None = None) -> QuerySet[Contact]:
    qs = contacts_for(user).filter(status__in=OPEN_STATUSES)
    if site is not None:
        qs = qs.filter(participant__site=site)
    return qs.select_related("participant", "participant__site")


def worklist(user: User, *, tab: str, today: dt.date, site: Site | None = None):
    """Open contacts of one tab, soonest window end first.

    today: the window is open today; week: the window overlaps this Monday-to-Sunday week;
    overdue: the target day has passed and the contact is still open (the nightly run marks it
    missed once the window closes); incomplete: done with an item still missing (a questionnaire
    the patient will send by link, one declined ...) and the window still open.
    """
    if tab == "incomplete":
        from followup.call_items import outstanding_q

        done = contacts_for(user).filter(status=ContactStatus.DONE, window_closes__gte=today)
        if site is not None:
            done = done.filter(participant__site=site)
        return (
            done.filter(outstanding_q())
            .select_related("participant", "participant__site")
            .order_by("window_closes", "participant__trial_number", "visit_code")
        )
    qs = open_contacts_for(user, site=site)
    if tab == "today":
        qs = qs.filter(window_opens__lte=today, window_closes__gte=today)
    elif tab == "week":
        monday = week_start_of(today)
        qs = qs.filter(window_opens__lte=monday + dt.timedelta(days=6), window_closes__gte=monday)
    elif tab == "overdue":
        qs = qs.filter(target_date__lt=today)
    else:
        raise ValueError(f"unknown worklist tab {tab!r}")
    return qs.order_by("window_closes", "target_date", "participant__trial_number", "visit_code")


def weekly_list(user: User, *, week_start: dt.date, site: Site | None = None):
    """The contacts a nurse has to make in the week starting ``week_start`` (a Monday)."""
    week_end = week_start + dt.timedelta(days=6)
    return (
        open_contacts_for(user, site=site)
        .filter(window_opens__lte=week_end, window_closes__gte=week_start)
        .order_by("window_closes", "participant__trial_number", "visit_code")
    )


@dataclass
class Row:
    contact: Contact
    visit_label: str
    collects: list[str]
    questionnaires_due: list[str]
    identity: object | None = None
    # Done contacts: the items still missing, with the call's reason (followup.call_items).
    missing: list = field(default_factory=list)


def rows_for(user: User, contacts, *, with_identity: bool = True) -> list[Row]:
    """Decorate a page of contacts with what the template needs, in three queries at most:
    identities (for the sites the user may see them), submitted questionnaires; two more when
    done contacts are among them (what is still missing from them)."""
    from followup.call_items import missing_by_contact
    from questionnaires.models import QuestionnaireResponse, ResponseStatus
    from trial.models import Identity
    from trial.protocol import active_schedule
    from trial.protocol.visits import INSTRUMENT_LABELS, visit_instruments

    contacts = list(contacts)
    schedule = active_schedule()
    visits = {visit.code: visit for visit in schedule.visits}
    identities = {}
    if with_identity and contacts:
        allowed = access.identity_site_ids(user)
        visible = [
            c.participant_id
            for c in contacts
            if allowed is None or c.participant.site_id in allowed
        ]
        if visible:
            identities = {
                i.participant_id: i for i in Identity.objects.filter(participant_id__in=visible)
            }
    submitted = set()
    if contacts:
        submitted = set(
            QuestionnaireResponse.objects.filter(
                participant_id__in={c.participant_id for c in contacts},
                visit_code__in={c.visit_code for c in contacts},
                status=ResponseStatus.SUBMITTED,
            ).values_list("participant_id", "visit_code", "instrument_code")
        )
    missing = missing_by_contact(contacts)
    rows = []
    for contact in contacts:
        visit = visits.get(contact.visit_code)
        collects = [_(COLLECT_ITEMS[c]) for c in visit.collects] if visit else []
        due = [
            str(INSTRUMENT_LABELS[code])
            for code in visit_instruments(contact.visit_code)
            if (contact.participant_id, contact.visit_code, code) not in submitted
        ]
        rows.append(
            Row(
                contact=contact,
                visit_label=_(visit.label) if visit else contact.visit_code,
                collects=collects,
                questionnaires_due=due,
                identity=identities.get(contact.participant_id),
                missing=missing.get(contact.pk, []),
            )
        )
    return rows


# --- completeness ------------------------------------------------------------------------

PENDING = "pending"
# Done with an item still missing: a part of "done", counted beside it.
INCOMPLETE = "incomplete"
# Not a state of the contact: the participants with a call or questionnaire of the visit
# recorded outside its window (trial.protocol.windows), for the data manager to review.
OUT_OF_WINDOW = "out_of_window"
COMPLETENESS_COLUMNS = (
    ContactStatus.DONE,
    INCOMPLETE,
    ContactStatus.MISSED,
    PENDING,
    ContactStatus.CANCELLED,
    OUT_OF_WINDOW,
)


def _column(status: str) -> str:
    return PENDING if status in OPEN_STATUSES else status


@dataclass
class CompletenessCell:
    site: Site
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def values(self) -> list[tuple[str, int]]:
        return [(column, self.counts.get(column, 0)) for column in COMPLETENESS_COLUMNS]


@dataclass
class CompletenessRow:
    visit_code: str
    label: str
    cells: list[CompletenessCell]


@dataclass
class OutOfWindowRecord:
    participant: object
    what: str
    recorded_at: dt.datetime | None
    recorded_by: object | None


def _out_of_window_calls(user: User):
    return CallLog.objects.filter(out_of_window=True, participant__in=participants_for(user))


def _out_of_window_responses(user: User):
    from questionnaires.models import QuestionnaireResponse

    return QuestionnaireResponse.objects.filter(
        out_of_window=True, participant__in=participants_for(user)
    )


def out_of_window_records(user: User, *, visit_code: str, site_code: str):
    """The calls and questionnaires of one visit and site recorded outside the window."""
    from trial.protocol.visits import INSTRUMENT_LABELS

    calls = (
        _out_of_window_calls(user)
        .filter(contact__visit_code=visit_code, participant__site__code=site_code)
        .select_related("participant", "called_by")
    )
    responses = (
        _out_of_window_responses(user)
        .filter(visit_code=visit_code, participant__site__code=site_code)
        .select_related("participant", "entered_by")
    )
    records = [
        OutOfWindowRecord(
            c.participant,
            _("Call: %(outcome)s") % {"outcome": c.get_outcome_display()},
            c.called_at,
            c.called_by,
        )
        for c in calls
    ] + [
        OutOfWindowRecord(
            r.participant,
            str(INSTRUMENT_LABELS.get(r.instrument_code, r.instrument_code)),
            r.submitted_at,
            r.entered_by,
        )
        for r in responses
    ]
    return sorted(records, key=lambda r: (r.participant.trial_number, r.what))


def completeness(user: User) -> tuple[list[Site], list[CompletenessRow]]:
    """Per visit and site: done (and of those, done with items missing), missed, pending
    (planned or due) and cancelled, and the participants with data recorded out of window.
    Five queries."""
    from followup.call_items import outstanding_q
    from trial.protocol import active_schedule

    counts: dict[tuple[str, int], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    flagged = set(
        _out_of_window_calls(user).values_list(
            "contact__visit_code", "participant__site_id", "participant_id"
        )
    ) | set(
        _out_of_window_responses(user).values_list(
            "visit_code", "participant__site_id", "participant_id"
        )
    )
    for visit_code, site_id, _participant in flagged:
        counts[(visit_code, site_id)][OUT_OF_WINDOW] += 1
    site_ids = {site_id for _visit, site_id, _participant in flagged}
    contacts = Contact.objects.filter(participant__in=participants_for(user))
    for row in contacts.values("visit_code", "participant__site_id", "status").annotate(
        n=Count("id")
    ):
        counts[(row["visit_code"], row["participant__site_id"])][_column(row["status"])] += row["n"]
        site_ids.add(row["participant__site_id"])
    for visit_code, site_id, n in (
        contacts.filter(status=ContactStatus.DONE)
        .filter(outstanding_q())
        .values("visit_code", "participant__site_id")
        .annotate(n=Count("id"))
        .values_list("visit_code", "participant__site_id", "n")
    ):
        counts[(visit_code, site_id)][INCOMPLETE] += n
    sites = list(Site.objects.filter(pk__in=site_ids).order_by("code"))
    rows = []
    for visit in active_schedule().visits:
        cells = [
            CompletenessCell(
                site=site,
                counts={col: counts[(visit.code, site.pk)][col] for col in COMPLETENESS_COLUMNS},
            )
            for site in sites
        ]
        rows.append(CompletenessRow(visit_code=visit.code, label=_(visit.label), cells=cells))
    return sites, rows


def completeness_contacts(user: User, *, visit_code: str, site_code: str, column: str):
    from followup.call_items import outstanding_q

    statuses = {PENDING: list(OPEN_STATUSES), INCOMPLETE: [ContactStatus.DONE]}.get(
        column, [column]
    )
    qs = Contact.objects.filter(participant__in=participants_for(user))
    if column == INCOMPLETE:
        qs = qs.filter(outstanding_q())
    return (
        qs.filter(visit_code=visit_code, participant__site__code=site_code, status__in=statuses)
        .select_related("participant", "participant__site")
        .order_by("participant__trial_number")
    )


def adverse_event_prefill(*, user: User, participant, params) -> dict:
    """The adverse-event form's description, from a call of this participant that reported new
    adverse events (``?call_items=<visit items id>``); nothing for anything else."""
    from followup.models import VisitItems

    raw = params.get("call_items", "")
    # Digits of a plausible id only: a 30-digit number would overflow the database's integer.
    if not (raw.isdigit() and len(raw) <= 18):
        return {}
    items = (
        VisitItems.objects.filter(
            pk=int(raw),
            new_adverse_events=True,
            contact__participant=participant,
            contact__participant__in=participants_for(user),
        )
        .values("adverse_events_description")
        .first()
    )
    return {"description": items["adverse_events_description"]} if items else {}


def contact_timing(contact: Contact) -> VisitTiming:
    """The contact's visit for the schedule rule (trial.protocol.windows), with the window the
    contact was planned with."""
    return VisitTiming(
        visit_code=contact.visit_code,
        trial_number=contact.participant.trial_number,
        randomised=is_randomised(contact.participant),
        opens=contact.window_opens,
        target=contact.target_date,
        closes=contact.window_closes,
    )


def nurses_to_mail() -> QuerySet[User]:
    return access.staff_for("notify_followup_list").exclude(email="")


def call_timeline(user, participant) -> list:
    """The participant page's timeline: one event per call logged, with its outcome."""
    from django.urls import reverse

    from trial.registry import TimelineEvent

    may_open = access.can(user, "followup:call_log", method="GET")
    calls = CallLog.objects.filter(participant=participant).select_related("contact", "called_by")
    return [
        TimelineEvent(
            when=call.called_at,
            title=_("Follow-up call, visit %(visit)s: %(outcome)s")
            % {"visit": call.contact.visit_code, "outcome": call.get_outcome_display()},
            detail=call.called_by.get_full_name() or call.called_by.username,
            url=reverse("followup:call_log", args=[call.contact_id]) if may_open else "",
            kind="call",
        )
        for call in calls.order_by("called_at")
    ]


# --- one participant's schedule ----------------------------------------------------------


@dataclass
class ScheduleRow:
    """One visit of a participant's schedule as the participant page shows it."""

    code: str
    label: str
    state: str  # a ContactStatus value, or "waiting" while the anchor event has not happened
    state_label: str
    opens: dt.date | None = None
    target: dt.date | None = None
    closes: dt.date | None = None
    anchor_label: str = ""
    missing: list[str] = field(default_factory=list)
    contact_id: int | None = None
    call_url: str = ""
    # Whether the visit collects questionnaires at all ("nothing missing" means something then).
    questionnaires: bool = False
    # A call or questionnaire of the visit was recorded outside its window.
    out_of_window: bool = False


WAITING = "waiting"


def participant_schedule(participant) -> list[ScheduleRow]:
    """Every visit of the schedule in force for one participant, in date order: the contact's
    window and state where it exists, the computed window where it does not exist yet, and
    visits anchored on an event that has not happened (no procedure yet) last, as waiting.
    ``missing``: the visit's questionnaires not submitted, once its window has opened.
    A fixed number of queries."""
    from questionnaires.models import QuestionnaireResponse, ResponseStatus
    from trial.models import ParticipantStatus
    from trial.protocol import active_schedule
    from trial.protocol.anchors import participant_anchors
    from trial.protocol.schedule import visit_windows
    from trial.protocol.visits import INSTRUMENT_LABELS, visit_instruments
    from trial.protocol.windows import revealed_arm

    schedule = active_schedule()
    contacts = {c.visit_code: c for c in Contact.objects.filter(participant=participant)}
    # Only a revealed arm: an arm-restricted visit must not show the allocation early.
    _randomised, arm = revealed_arm(participant)
    anchors = participant_anchors(participant.pk)
    windows = {w.visit.code: w for w in visit_windows(schedule, anchors, arm)}
    submitted = set(
        QuestionnaireResponse.objects.filter(
            participant=participant, status=ResponseStatus.SUBMITTED
        ).values_list("visit_code", "instrument_code")
    )
    flagged = set(
        CallLog.objects.filter(participant=participant, out_of_window=True).values_list(
            "contact__visit_code", flat=True
        )
    ) | set(
        QuestionnaireResponse.objects.filter(
            participant=participant, out_of_window=True
        ).values_list("visit_code", flat=True)
    )
    in_follow_up = participant.status == ParticipantStatus.RANDOMISED
    rows = []
    for visit in schedule.visits:
        if not visit.applies_to_arm(arm):
            continue
        row = ScheduleRow(code=visit.code, label=_(visit.label), state="", state_label="")
        contact = contacts.get(visit.code)
        window = windows.get(visit.code)
        if contact is not None:
            row.state, row.state_label = contact.status, contact.get_status_display()
            row.opens, row.target, row.closes = (
                contact.window_opens,
                contact.target_date,
                contact.window_closes,
            )
            row.contact_id = contact.pk
        elif window is not None:
            if not in_follow_up:
                continue  # follow-up ended before this visit was created: nothing to show
            row.state, row.state_label = ContactStatus.PLANNED, str(ContactStatus.PLANNED.label)
            row.opens, row.target, row.closes = window.opens, window.target, window.closes
        else:
            if not in_follow_up:
                continue
            row.state, row.state_label = WAITING, _("Waiting")
            row.anchor_label = (
                _("Scheduled when the procedure is recorded.")
                if visit.anchor == "procedure"
                else _("Scheduled when the event it follows is recorded.")
            )
        row.questionnaires = bool(visit_instruments(visit.code))
        row.out_of_window = visit.code in flagged
        if row.state in (ContactStatus.DUE, ContactStatus.DONE, ContactStatus.MISSED):
            row.missing = [
                str(INSTRUMENT_LABELS[code])
                for code in visit_instruments(visit.code)
                if (visit.code, code) not in submitted
            ]
        rows.append(row)
    rows.sort(key=lambda r: (r.target is None, r.target or dt.date.min, r.code))
    return rows
