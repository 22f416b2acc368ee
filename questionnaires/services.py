"""Writes of the questionnaires app for answers and the clinic tablet: each function is one
business action, atomic and audited. The personal links are in questionnaires.links."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from questionnaires import tokens
from questionnaires.instruments import get_instrument
from questionnaires.models import (
    Mode,
    QuestionnaireResponse,
    ResponseStatus,
    TabletSession,
)
from questionnaires.scoring import ScoringOptions
from trial.audit import ReasonRequired, audited_save, model_update, require_reason
from trial.concurrency import ConcurrentChange, version_check
from trial.errors import ServiceError
from trial.models import ENDED_STATUSES, Participant, User
from trial.protocol import visits
from trial.protocol.schedule import local_today
from trial.protocol.windows import VisitTiming, visit_timing


class ResponseLocked(ServiceError):
    """The response was submitted; only a correction with a reason may change it."""


# The reasons on the history rows of a draft's saves and of its submission: the audit trail
# folds the first into one entry per submission (questionnaires.audit_story).
AUTOSAVE_REASON = "draft saved"
SUBMIT_REASON = "submitted"


def scoring_options() -> ScoringOptions:
    return ScoringOptions(
        odi_max_missing=settings.TRIAL_ODI_MAX_MISSING,
        eq5d_value_set=settings.TRIAL_EQ5D_VALUE_SET,
    )


def scores_for(instrument_code: str, answers: dict) -> dict:
    """The scores to keep with a response: by the pure functions of questionnaires.scoring with
    the trial's scoring settings, as JSON-safe values. The report and the exports read them
    as kept; a response's correction scores it again."""
    scores = get_instrument(instrument_code).score(answers, scoring_options())
    return {k: str(v) if isinstance(v, Decimal) else v for k, v in scores.items()}


def _check_visit(visit_code: str, instrument_code: str | None = None) -> None:
    if not visits.is_known(visit_code, instrument_code):
        raise ServiceError(_("This visit has no such questionnaire."))


def _check_not_ended(participant: Participant) -> None:
    if participant.status in ENDED_STATUSES:
        raise ServiceError(
            _("The participant's follow-up has ended (%(status)s); nothing is sent any more.")
            % {"status": participant.get_status_display()}
        )


# --- answers -----------------------------------------------------------------------------


def _clean_partial(instrument_code: str, answers: dict) -> dict[str, int | None]:
    instrument = get_instrument(instrument_code)
    cleaned = {}
    for code, value in answers.items():
        try:
            cleaned[code] = instrument.item(code).validate(value)
        except LookupError:
            raise ServiceError(_("Unknown question %(code)s.") % {"code": code}) from None
        except ValueError:
            raise ServiceError(_("An answer is out of range.")) from None
    return cleaned


def response_save_answers(
    *,
    participant: Participant,
    visit_code: str,
    instrument_code: str,
    answers: dict,
    mode: str,
    language: str = "da",
    user: User | None = None,
) -> QuestionnaireResponse:
    """Merge some answers into the draft of one instrument (autosave and each screen's Next).

    A ``None`` removes an answer (the patient cleared it). A submitted response is locked.
    Two first saves at the same moment (an autosave racing the Next button, or the link open
    in two tabs) both try to create the draft; the loser of the unique constraint merges its
    answers into the winner's row, so neither loses an answer.
    """

    def attempt() -> QuestionnaireResponse:
        return _response_save_answers(
            participant=participant,
            visit_code=visit_code,
            instrument_code=instrument_code,
            answers=answers,
            mode=mode,
            language=language,
            user=user,
        )

    try:
        return attempt()
    except ConcurrentChange:
        return attempt()


@transaction.atomic
def _response_save_answers(
    *,
    participant: Participant,
    visit_code: str,
    instrument_code: str,
    answers: dict,
    mode: str,
    language: str,
    user: User | None,
) -> QuestionnaireResponse:
    _check_visit(visit_code, instrument_code)
    cleaned = _clean_partial(instrument_code, answers)
    response = (
        QuestionnaireResponse.objects.select_for_update()
        .filter(participant=participant, visit_code=visit_code, instrument_code=instrument_code)
        .first()
    )
    if response is None:
        response = QuestionnaireResponse(
            participant=participant,
            visit_code=visit_code,
            instrument_code=instrument_code,
            instrument_version=get_instrument(instrument_code).version,
            mode=mode,
            language=language,
            entered_by=user,
        )
    elif response.is_submitted:
        raise ResponseLocked(_("These answers have been submitted and can no longer be changed."))
    merged = dict(response.answers)
    for code, value in cleaned.items():
        if value is None:
            merged.pop(code, None)
        else:
            merged[code] = value
    if response.pk and merged == response.answers and response.mode == mode:
        return response
    response.answers = merged
    response.mode = mode
    response.language = language
    audited_save(response, user=user, reason="" if response.pk is None else AUTOSAVE_REASON)
    return response


def visit_submit(
    *,
    participant: Participant,
    visit_code: str,
    mode: str,
    language: str = "da",
    user: User | None = None,
    answered_on: dt.date | None = None,
) -> list[QuestionnaireResponse]:
    """Submit every questionnaire of a visit: scores computed, answers locked from now on.
    Answers given outside the visit's window (on ``answered_on``, default today) are marked.

    An instrument the patient never opened is submitted with no answers (missing, not guessed).
    Two submissions at once (a double click, two tabs) that both create an empty response:
    the loser starts again, finds the winner's responses submitted and leaves them as they are.
    """

    def attempt() -> list[QuestionnaireResponse]:
        return _visit_submit(
            participant=participant,
            visit_code=visit_code,
            mode=mode,
            language=language,
            user=user,
            answered_on=answered_on or local_today(),
        )

    try:
        return attempt()
    except ConcurrentChange:
        return attempt()


@transaction.atomic
def _visit_submit(
    *,
    participant: Participant,
    visit_code: str,
    mode: str,
    language: str,
    user: User | None,
    answered_on: dt.date,
) -> list[QuestionnaireResponse]:
    _check_visit(visit_code)
    # The patient is not asked to confirm: answers given outside the window (a late link, the
    # clinic tablet) are recorded as such, for the data manager.
    out_of_window = not visit_timing(participant, visit_code).inside(answered_on)
    now = timezone.now()
    submitted = []
    existing = {
        r.instrument_code: r
        for r in QuestionnaireResponse.objects.select_for_update().filter(
            participant=participant, visit_code=visit_code
        )
    }
    for code in visits.visit_instruments(visit_code):
        response = existing.get(code)
        first = response is None
        if response is None:
            response = QuestionnaireResponse(
                participant=participant,
                visit_code=visit_code,
                instrument_code=code,
                instrument_version=get_instrument(code).version,
                mode=mode,
                language=language,
                entered_by=user,
            )
        elif response.is_submitted:
            continue
        response.mode = mode
        response.out_of_window = out_of_window
        response.status = ResponseStatus.SUBMITTED
        response.submitted_at = now
        response.scores = scores_for(code, response.answers)
        audited_save(response, user=user, reason="" if first else SUBMIT_REASON)
        submitted.append(response)
    return submitted


@transaction.atomic
def response_enter(
    *,
    participant: Participant,
    visit_code: str,
    instrument_code: str,
    answers: dict,
    mode: str,
    user: User,
    language: str = "da",
    loaded_version: str | None = None,
    out_of_window_confirmed: bool = False,
    timing: VisitTiming | None = None,
    answered_on: dt.date | None = None,
) -> QuestionnaireResponse:
    """Staff enter a whole instrument for the patient (by phone or from paper) and submit it.

    ``loaded_version`` is the version of the response the entry form was loaded with
    (trial.concurrency): when someone else saved answers meanwhile, by phone or through the
    patient's link, nothing is overwritten and ConcurrentChange shows their answers.

    The schedule governs (trial.protocol.windows): a follow-up visit only for a randomised
    participant, and outside its window only when ``out_of_window_confirmed``, recorded so.
    ``timing`` is the visit's window when the caller holds it (the follow-up contact's);
    ``answered_on`` the day the patient answered (default today; the demo's past visits).
    """
    if mode not in (Mode.PHONE, Mode.PAPER):
        raise ServiceError(_("Staff enter answers by phone or from paper."))
    _check_visit(visit_code, instrument_code)
    timing = timing or visit_timing(participant, visit_code)
    out_of_window = timing.check(day=answered_on, confirmed=out_of_window_confirmed)
    instrument = get_instrument(instrument_code)
    try:
        cleaned = instrument.clean(answers)
    except ValueError:
        raise ServiceError(_("An answer is out of range.")) from None
    response = (
        QuestionnaireResponse.objects.select_for_update()
        .filter(participant=participant, visit_code=visit_code, instrument_code=instrument_code)
        .first()
    )
    first = response is None
    if response is not None:
        version_check(
            response,
            loaded_version,
            final=response.is_submitted,
            values=response_values(response),
        )
    if response is None:
        response = QuestionnaireResponse(
            participant=participant,
            visit_code=visit_code,
            instrument_code=instrument_code,
            instrument_version=instrument.version,
        )
    elif response.is_submitted:
        raise ResponseLocked(
            _("These answers have been submitted; correct them with a reason instead.")
        )
    response.answers = {k: v for k, v in cleaned.items() if v is not None}
    response.mode = mode
    response.language = language
    response.entered_by = user
    response.out_of_window = out_of_window
    response.status = ResponseStatus.SUBMITTED
    response.submitted_at = timezone.now()
    response.scores = scores_for(instrument_code, response.answers)
    try:
        audited_save(response, user=user, reason="" if first else f"entered by staff ({mode})")
    except ConcurrentChange:
        # Entered by someone else at the same moment: show their answers, item by item.
        winner = QuestionnaireResponse.objects.get(
            participant=participant, visit_code=visit_code, instrument_code=instrument_code
        )
        raise ConcurrentChange.of(
            winner, final=winner.is_submitted, values=response_values(winner)
        ) from None
    return response


def response_values(response: QuestionnaireResponse) -> list[tuple[str, str]]:
    """A response's answers as (question, answer) for the person comparing them with theirs."""
    return answer_rows(response.instrument_code, response.answers)


def answer_rows(instrument_code: str, answers: dict) -> list[tuple[str, str]]:
    """Answers by item code as (question, answer) in the active language's wording: the
    response page and the audit trail (questionnaires.audit_story) read them the same way."""
    from django.utils import translation

    from questionnaires.instruments import WordingError, load_wording

    try:
        wording = load_wording(instrument_code, translation.get_language() or "da")
    except (WordingError, LookupError):
        wording = None
    rows = []
    for code, value in answers.items():
        label = code
        shown = str(value)
        item = wording.items.get(code) if wording is not None else None
        if item is not None:
            label = f"{code}: {item.text}"
            shown = str(item.choices.get(value, value)) if item.choices else shown
        rows.append((label, shown))
    return rows


@transaction.atomic
def response_correct(
    *,
    response: QuestionnaireResponse,
    answers: dict,
    user: User,
    reason: str,
    loaded_version: str | None = None,
) -> QuestionnaireResponse:
    """Correct a submitted response: a reason is required, scores are recomputed, all audited.

    ``version`` (trial.concurrency) keeps a second correction made from the same page from
    silently undoing the first."""
    try:
        reason = require_reason(reason)
    except ReasonRequired as exc:
        raise ServiceError(exc.messages[0]) from None
    response = QuestionnaireResponse.objects.select_for_update().get(pk=response.pk)
    version_check(response, loaded_version, values=response_values(response))
    if not response.is_submitted:
        raise ServiceError(_("Only submitted answers are corrected; drafts are still open."))
    try:
        cleaned = get_instrument(response.instrument_code).clean(answers)
    except ValueError:
        raise ServiceError(_("An answer is out of range.")) from None
    new_answers = {k: v for k, v in cleaned.items() if v is not None}
    model_update(
        instance=response,
        data={
            "answers": new_answers,
            "scores": scores_for(response.instrument_code, new_answers),
        },
        user=user,
        reason=reason,
    )
    return response


# --- clinic tablet -----------------------------------------------------------------------


@transaction.atomic
def tablet_session_start(
    *, participant: Participant, visit_code: str, user: User
) -> tuple[TabletSession, str]:
    """Start a kiosk session; the token goes into the tablet browser's session only."""
    _check_not_ended(participant)
    _check_visit(visit_code)
    visit_timing(participant, visit_code).require_scheduled()
    if visit_is_submitted_now(participant, visit_code):
        raise ServiceError(_("These questionnaires have already been submitted."))
    token = tokens.token_new()
    session = TabletSession(
        participant=participant,
        visit_code=visit_code,
        started_by=user,
        token_hash=tokens.token_hash(token),
    )
    audited_save(session, user=user)
    return session, token


def visit_is_submitted_now(participant: Participant, visit_code: str) -> bool:
    from questionnaires import selectors

    return selectors.visit_is_submitted(participant, visit_code)


@transaction.atomic
def tablet_session_end(*, session: TabletSession, user: User) -> TabletSession:
    session = TabletSession.objects.select_for_update().get(pk=session.pk)
    if session.ended_at:
        return session
    model_update(
        instance=session,
        data={"ended_at": timezone.now(), "ended_by": user},
        user=user,
        reason="tablet handed back to staff",
    )
    return session


def tablet_session_touch(*, session: TabletSession) -> bool:
    """Note activity on the tablet, or end the session if it was left idle too long.

    Returns False when the session has (now) ended for idleness: the tablet then asks for the
    member of staff. Answers given so far stay saved; nothing is submitted for the patient.
    """
    now = timezone.now()
    idle = dt.timedelta(minutes=settings.QUESTIONNAIRE_TABLET_IDLE_MINUTES)
    last = session.last_activity_at or session.started_at
    if now - last <= idle:
        TabletSession.objects.filter(pk=session.pk, ended_at=None).update(last_activity_at=now)
        return True
    with transaction.atomic():
        locked = TabletSession.objects.select_for_update().get(pk=session.pk)
        if locked.ended_at is None:
            model_update(
                instance=locked,
                data={"ended_at": now, "ended_idle": True},
                user=None,
                reason="tablet left idle: ended automatically",
            )
    return False
