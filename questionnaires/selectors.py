"""Reads of the questionnaires app."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from questionnaires import tokens
from questionnaires.models import (
    QuestionnaireLink,
    QuestionnaireResponse,
    ResponseStatus,
    SentVia,
    TabletSession,
)
from trial.access import participants_for
from trial.models import ENDED_STATUSES, Participant, User
from trial.monitoring.locks import unlocked_q
from trial.protocol import visits
from trial.protocol.schedule import local_today
from trial.protocol.windows import VisitTiming, participant_timings

# --- links and tablet sessions by token ----------------------------------------------------


@dataclass(frozen=True)
class Access:
    """What a token opens: one participant's questionnaires of one visit, or nothing."""

    ok: bool
    participant: Participant | None = None
    visit_code: str = ""
    link: QuestionnaireLink | None = None
    tablet: TabletSession | None = None
    known: bool = False  # the token matched a link (used by the throttle: only unknowns count)
    language: str = "da"


DENIED = Access(ok=False)


def link_access(token: str, *, now: dt.datetime | None = None) -> Access:
    """The link a token opens, if it is valid now: not expired, revoked, or of an ended
    participant. Every failure looks the same to the caller's page."""
    if not tokens.token_well_formed(token):
        return DENIED
    link = (
        QuestionnaireLink.objects.select_related("participant")
        .filter(token_hash=tokens.token_hash(token))
        .first()
    )
    return _link_open(link, now=now)


def link_access_by_id(link_id, *, now: dt.datetime | None = None) -> Access:
    """Like ``link_access``, for the link a patient's browser session remembers (the token
    itself is not kept in the URL after the first opening)."""
    if not isinstance(link_id, int):
        return DENIED
    link = QuestionnaireLink.objects.select_related("participant").filter(pk=link_id).first()
    return _link_open(link, now=now)


def _link_open(link: QuestionnaireLink | None, *, now: dt.datetime | None) -> Access:
    if link is None:
        return DENIED
    now = now or timezone.now()
    if (
        link.revoked_at is not None
        or link.expires_at <= now
        or link.participant.status in ENDED_STATUSES
    ):
        return Access(ok=False, known=True)
    return Access(
        ok=True,
        participant=link.participant,
        visit_code=link.visit_code,
        link=link,
        known=True,
        language=link.language,
    )


def tablet_access(token: str | None) -> Access:
    if not token or not tokens.token_well_formed(token):
        return DENIED
    session = (
        TabletSession.objects.select_related("participant")
        .filter(token_hash=tokens.token_hash(token), ended_at=None)
        .first()
    )
    if session is None:
        return DENIED
    return Access(
        ok=True,
        participant=session.participant,
        visit_code=session.visit_code,
        tablet=session,
        known=True,
    )


# --- responses ---------------------------------------------------------------------------


def visit_responses(participant: Participant, visit_code: str) -> dict[str, QuestionnaireResponse]:
    return {
        r.instrument_code: r
        for r in QuestionnaireResponse.objects.filter(
            participant=participant, visit_code=visit_code
        )
    }


def visit_is_submitted(participant: Participant, visit_code: str) -> bool:
    """True when every questionnaire of the visit has been submitted."""
    wanted = set(visits.visit_instruments(visit_code))
    done = set(
        QuestionnaireResponse.objects.filter(
            participant=participant, visit_code=visit_code, status=ResponseStatus.SUBMITTED
        ).values_list("instrument_code", flat=True)
    )
    return bool(wanted) and wanted <= done


def baseline_complete(participant: Participant) -> bool:
    return visit_is_submitted(participant, visits.BASELINE)


def _decimal(value) -> Decimal | None:
    try:
        return None if value in (None, "") else Decimal(str(value))
    except InvalidOperation:
        return None


@dataclass
class ScoreRow:
    visit_code: str
    visit_label: str
    odi: Decimal | None = None
    odi_band: str | None = None
    vas_back: int | None = None
    vas_leg: int | None = None
    eq5d_index: Decimal | None = None
    eq5d_profile: str | None = None
    eq_vas: int | None = None
    submitted_at: dt.datetime | None = None
    modes: set = field(default_factory=set)
    # The responses behind the row, by instrument (the markers of queried answers point there).
    responses: dict[str, QuestionnaireResponse] = field(default_factory=dict)


def participant_scores(participant: Participant) -> list[ScoreRow]:
    """ODI, back and leg VAS, EQ-5D index and EQ VAS per visit, from submitted responses.

    Scores are the ones stored at submission (computed by questionnaires.scoring). One query.
    """
    labels = {v.code: v.label for v in visits.questionnaire_visits()}
    order = {code: i for i, code in enumerate(labels)}
    rows: dict[str, ScoreRow] = {}
    for r in QuestionnaireResponse.objects.filter(
        participant=participant, status=ResponseStatus.SUBMITTED
    ):
        row = rows.setdefault(
            r.visit_code, ScoreRow(r.visit_code, labels.get(r.visit_code, r.visit_code))
        )
        row.modes.add(r.get_mode_display())
        row.responses[r.instrument_code] = r
        if row.submitted_at is None or (r.submitted_at and r.submitted_at > row.submitted_at):
            row.submitted_at = r.submitted_at
        if r.instrument_code == "odi":
            row.odi = _decimal(r.scores.get("odi_score"))
            row.odi_band = r.scores.get("odi_band")
        elif r.instrument_code == "vas":
            row.vas_back = r.answers.get("vas_back")
            row.vas_leg = r.answers.get("vas_leg")
        elif r.instrument_code == "eq5d3l":
            row.eq5d_index = _decimal(r.scores.get("eq5d_index"))
            row.eq5d_profile = r.scores.get("eq5d_profile")
            row.eq_vas = r.answers.get("eq_vas")
    return sorted(rows.values(), key=lambda row: order.get(row.visit_code, 999))


# --- staff overviews ---------------------------------------------------------------------


@dataclass
class VisitOverview:
    code: str
    label: str
    instruments: list[tuple[str, str, QuestionnaireResponse | None]]
    links: list[QuestionnaireLink]
    submitted: bool
    started: bool
    timing: VisitTiming | None = None  # None for baseline
    opened: bool = True  # the window has opened: links may be sent


def participant_overview(participant: Participant) -> list[VisitOverview]:
    """Baseline and, once the participant is randomised, every follow-up visit with
    questionnaires, with its window, responses and links (a fixed number of queries)."""
    _randomised, timings = participant_timings(participant)
    today = local_today()
    responses: dict[tuple[str, str], QuestionnaireResponse] = {
        (r.visit_code, r.instrument_code): r
        for r in QuestionnaireResponse.objects.filter(participant=participant).select_related(
            "entered_by"
        )
    }
    links: dict[str, list[QuestionnaireLink]] = {}
    for link in QuestionnaireLink.objects.filter(participant=participant).order_by("-created_at"):
        links.setdefault(link.visit_code, []).append(link)
    result = []
    for visit in visits.questionnaire_visits():
        timing = timings.get(visit.code)
        if visit.code != visits.BASELINE and timing is None:
            continue  # not randomised, or the event the visit follows is not recorded yet
        items = [
            (code, str(visits.INSTRUMENT_LABELS[code]), responses.get((visit.code, code)))
            for code in visit.instruments
        ]
        result.append(
            VisitOverview(
                code=visit.code,
                label=visit.label,
                instruments=items,
                links=links.get(visit.code, []),
                submitted=all(r is not None and r.is_submitted for _c, _l, r in items),
                started=any(r is not None for _c, _l, r in items),
                timing=timing,
                opened=timing is None or timing.position(today) != "before",
            )
        )
    return result


def open_links_for(user: User) -> QuerySet[QuestionnaireLink]:
    """Links of the user's participants still waiting for answers: not revoked, not expired,
    questionnaires not submitted. Constant number of queries however many rows."""
    submitted = QuestionnaireResponse.objects.filter(
        participant=OuterRef("participant"),
        visit_code=OuterRef("visit_code"),
        status=ResponseStatus.SUBMITTED,
    )
    return (
        QuestionnaireLink.objects.filter(
            participant__in=participants_for(user),
            revoked_at=None,
            expires_at__gt=timezone.now(),
            reminder_of=None,
        )
        .exclude(participant__status__in=ENDED_STATUSES)
        .annotate(any_submitted=Exists(submitted))
        .filter(any_submitted=False)
        .select_related("participant", "participant__site", "created_by")
        .order_by("expires_at")
    )


def links_due_for_reminder(*, now: dt.datetime | None = None) -> list[int]:
    """Ids of links that get their one reminder now (the service re-checks each one): unused
    for QUESTIONNAIRE_REMINDER_AFTER_DAYS, or a follow-up visit's window closing within
    QUESTIONNAIRE_REMINDER_BEFORE_CLOSE_DAYS (the link at least a day old). A follow-up link
    is reminded only while its window is open: after that the answers would be late."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    cutoff = now - dt.timedelta(days=settings.QUESTIONNAIRE_REMINDER_AFTER_DAYS)
    closing = today + dt.timedelta(days=settings.QUESTIONNAIRE_REMINDER_BEFORE_CLOSE_DAYS)
    due = Q(sent_at__lte=cutoff) | Q(
        window_closes__lte=closing, sent_at__lte=now - dt.timedelta(days=1)
    )
    submitted = QuestionnaireResponse.objects.filter(
        participant=OuterRef("participant"),
        visit_code=OuterRef("visit_code"),
        status=ResponseStatus.SUBMITTED,
    )
    return list(
        QuestionnaireLink.objects.filter(
            due,
            Q(window_closes=None) | Q(window_closes__gte=today),
            sent_via__in=[SentVia.EMAIL, SentVia.SMS],
            reminder_sent_at=None,
            reminder_of=None,
            revoked_at=None,
            expires_at__gt=now,
        )
        .filter(unlocked_q("participant__"))  # no reminder to a locked participant
        .exclude(participant__status__in=ENDED_STATUSES)
        .annotate(any_submitted=Exists(submitted))
        .filter(any_submitted=False)
        .values_list("id", flat=True)
    )
