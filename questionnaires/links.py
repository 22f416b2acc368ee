"""Writes of the questionnaires app for the patient's personal links: issue (letter), send
by e-mail or text after commit, deliver, remind once, mark opened and revoke (one link, a
visit's, or every link when a participant's follow-up ends). Answers and the clinic tablet are
in questionnaires.services.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TypedDict

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from questionnaires import tokens
from questionnaires.models import QuestionnaireLink, SentVia, TabletSession
from questionnaires.services import _check_not_ended, _check_visit
from trial.audit import audited_save, model_update, write_refusal
from trial.errors import ServiceError
from trial.models import ENDED_STATUSES, Identity, Participant, User
from trial.protocol import visits
from trial.protocol.schedule import local_today
from trial.protocol.windows import VisitTiming, visit_timing

logger = logging.getLogger(__name__)


def link_expiry(
    *, visit_code: str, issued_at: dt.datetime, window_closes: dt.date | None = None
) -> dt.datetime:
    """Baseline: issued + QUESTIONNAIRE_LINK_EXPIRY_DAYS. A follow-up visit: the end of the day
    its window closes, plus the same number of days (the follow-up app passes the date)."""
    days = dt.timedelta(days=settings.QUESTIONNAIRE_LINK_EXPIRY_DAYS)
    if visit_code != visits.BASELINE and window_closes is not None:
        tz = timezone.get_default_timezone()
        end_of_window = dt.datetime.combine(window_closes + dt.timedelta(days=1), dt.time.min, tz)
        return end_of_window + days
    return issued_at + days


def _new_link(
    *,
    participant: Participant,
    visit_code: str,
    user: User | None,
    via: str,
    language: str,
    window_closes: dt.date | None,
    token_hash: str | None,
    reminder_of: QuestionnaireLink | None = None,
    delivery_seed: str = "",
) -> QuestionnaireLink:
    _check_not_ended(participant)
    _check_visit(visit_code)
    if language not in dict(settings.LANGUAGES):
        raise ServiceError(_("Unknown language."))
    timing = visit_timing(participant, visit_code)
    _check_window_opened(timing)
    window_closes = window_closes or timing.closes
    now = timezone.now()
    link = QuestionnaireLink(
        participant=participant,
        visit_code=visit_code,
        sent_via=via,
        language=language,
        created_by=user,
        token_hash=token_hash,
        delivery_seed=delivery_seed,
        # A letter's token is printed at once; a seeded link is sent later, by its task.
        sent_at=now if token_hash and not delivery_seed else None,
        reminder_of=reminder_of,
        window_closes=window_closes,
        expires_at=reminder_of.expires_at
        if reminder_of
        else link_expiry(visit_code=visit_code, issued_at=now, window_closes=window_closes),
    )
    audited_save(link, user=user)
    return link


def _check_window_opened(timing: VisitTiming) -> None:
    """A follow-up link exists only for a randomised participant, once the visit's window has
    opened (a letter printed on day 0 would let the patient answer weeks early). After the
    window closed a late link is still possible; its answers are recorded as out of window."""
    timing.require_scheduled()
    if timing.position(local_today()) == "before":
        raise ServiceError(
            _(
                "The window of visit %(visit)s opens on %(opens)s: its link can be sent from "
                "that day (it is sent by itself when the window opens)."
            )
            % timing.labels()
        )


@transaction.atomic
def link_issue_letter(
    *,
    participant: Participant,
    visit_code: str,
    user: User | None,
    language: str = "da",
    window_closes: dt.date | None = None,
) -> tuple[QuestionnaireLink, str]:
    """A link for a printed letter: the token is returned once, to be printed, never stored."""
    token = tokens.token_new()
    link = _new_link(
        participant=participant,
        visit_code=visit_code,
        user=user,
        via=SentVia.LETTER,
        language=language,
        window_closes=window_closes,
        token_hash=tokens.token_hash(token),
    )
    logger.info(
        "questionnaire letter for %s visit %s printed by %s (link %s)",
        participant.trial_number,
        visit_code,
        getattr(user, "username", "-"),
        link.pk,
    )
    return link, token


def _address_for(participant: Participant, via: str) -> str:
    identity = Identity.objects.filter(participant=participant).first()
    if via == SentVia.EMAIL:
        return identity.email if identity else ""
    if via == SentVia.SMS:
        return identity.phone if identity else ""
    return ""


@transaction.atomic
def link_send(
    *,
    participant: Participant,
    visit_code: str,
    user: User | None,
    via: str,
    language: str = "da",
    window_closes: dt.date | None = None,
) -> QuestionnaireLink:
    """Create a link and send it by e-mail or text message once the transaction commits.

    The token is minted here, in the request's transaction, so the link has one whatever
    happens to the broker; only the task's outbox row (ids) passes through the broker, and the
    task re-derives the token from the link's seed (tokens.token_from_seed).
    """
    if via not in (SentVia.EMAIL, SentVia.SMS):
        raise ServiceError(_("Links are sent by e-mail or text message."))
    if not _address_for(participant, via):
        raise ServiceError(
            _("No e-mail address recorded.") if via == SentVia.EMAIL else _("No phone recorded.")
        )
    link = _new_link(
        participant=participant,
        visit_code=visit_code,
        user=user,
        via=via,
        language=language,
        window_closes=window_closes,
        **_delivery_token(),
    )
    _enqueue_delivery(link.pk)
    return link


class _DeliveryToken(TypedDict):
    token_hash: str
    delivery_seed: str


def _delivery_token() -> _DeliveryToken:
    seed = tokens.seed_new()
    return {"token_hash": tokens.token_hash(tokens.token_from_seed(seed)), "delivery_seed": seed}


# The Celery names of the link tasks in questionnaires.tasks (the names Celery gave them from
# their module when they were first queued). The services enqueue by name, so that they need not
# import the task module (which imports them); queued messages and outbox rows refer to these
# names, so they never change.
LINK_DELIVER_TASK = "questionnaires.tasks.link_deliver_task"
LINK_REMIND_TASK = "questionnaires.tasks.link_remind_task"


def _enqueue_delivery(link_id: int) -> None:
    from trial.outbox.services import task_enqueue

    task_enqueue(name=LINK_DELIVER_TASK, args=[link_id])


def link_url(token: str) -> str:
    from django.urls import reverse

    return settings.SITE_URL + reverse(
        "questionnaires:patient_start", args=[tokens.link_text(token)]
    )


def link_deliver(*, link_id: int) -> bool:
    """Send a pending link's token and forget its seed; a second call does nothing.

    The conditional update on ``sent_at`` claims the link; if sending then fails, the claim is
    undone and a retry sends the same token. A link whose seed no longer gives its token
    (SECRET_KEY rotated meanwhile) or that has none (made before tokens were minted in the
    request) gets a fresh token here; nobody has seen the old one.
    """
    from questionnaires import messaging

    pending = QuestionnaireLink.objects.filter(id=link_id).first()
    if pending is not None and write_refusal([pending]):
        return False  # the participant's data is locked: no link e-mail any more
    claimed = (
        QuestionnaireLink.objects.filter(id=link_id, sent_at=None, revoked_at=None)
        .filter(Q(token_hash=None) | ~Q(delivery_seed=""))
        .update(sent_at=timezone.now())
    )
    if claimed != 1:
        return False
    link = QuestionnaireLink.objects.select_related("participant").get(pk=link_id)
    token = tokens.token_from_seed(link.delivery_seed) if link.delivery_seed else ""
    fresh = not token or tokens.token_hash(token) != link.token_hash
    if fresh:
        token = tokens.token_new()
        QuestionnaireLink.objects.filter(id=link_id).update(token_hash=tokens.token_hash(token))
    try:
        messaging.send_link(
            link=link,
            address=_address_for(link.participant, link.sent_via),
            url=link_url(token),
            reminder=link.reminder_of_id is not None,
        )
    except Exception:
        # A fresh token nobody received is dropped again, so that the retry can claim the link.
        undo = {"sent_at": None, **({"token_hash": None} if fresh else {})}
        QuestionnaireLink.objects.filter(id=link_id).update(**undo)
        raise
    QuestionnaireLink.objects.filter(id=link_id).update(delivery_seed="")
    return True


@transaction.atomic
def link_revoke(*, link: QuestionnaireLink, user: User, reason: str) -> QuestionnaireLink:
    link = QuestionnaireLink.objects.select_for_update().get(pk=link.pk)
    if link.revoked_at:
        return link
    model_update(
        instance=link,
        data={"revoked_at": timezone.now(), "revoked_by": user},
        user=user,
        reason=reason or "revoked",
    )
    return link


@transaction.atomic
def visit_links_revoke(
    *, participant: Participant, visit_code: str, user: User, reason: str
) -> int:
    """Revoke every open link of a participant's visit at once (e.g. sent to a wrong address).

    One transaction: either all of them stop working or none. Each revocation is audited with
    the reason. Answers given so far are kept. Returns the number of links revoked.
    """
    reason = reason.strip()
    if not reason:
        raise ServiceError(_("Give the reason for revoking the links."))
    links = list(
        QuestionnaireLink.objects.select_for_update().filter(
            participant=participant, visit_code=visit_code, revoked_at=None
        )
    )
    for link in links:
        link_revoke(link=link, user=user, reason=reason[:100])
    return len(links)


def participant_links_revoke(*, participant: Participant, reason: str, user=None) -> int:
    """When a participant dies or withdraws: every open link stops working and every tablet
    session ends, in the caller's transaction (trial.registry.on_participant_ended).

    Nothing should reach the family of a patient who has died, not even a page asking for
    answers; answers given so far are kept. Returns the number of links revoked.
    """
    links = list(
        QuestionnaireLink.objects.select_for_update().filter(
            participant=participant, revoked_at=None
        )
    )
    for link in links:
        link_revoke(link=link, user=user, reason=reason[:100])
    sessions = TabletSession.objects.select_for_update().filter(
        participant=participant, ended_at=None
    )
    for session in sessions:  # audited one by one, like the links: there are one or two
        model_update(
            instance=session,
            data={"ended_at": timezone.now(), "ended_by": user},
            user=user,
            reason=reason[:100],
        )
    return len(links)


def link_mark_opened(*, link: QuestionnaireLink) -> None:
    """Remember when the patient first opened the link (one conditional update, no history)."""
    if link.first_opened_at is None:
        QuestionnaireLink.objects.filter(id=link.pk, first_opened_at=None).update(
            first_opened_at=timezone.now()
        )


@transaction.atomic
def link_remind(*, link_id: int) -> bool:
    """Send the one reminder of a link: a new link to the same visit, by the same channel.

    Claimed by a conditional update, so running twice sends one reminder. Never after the
    visit's questionnaires are submitted, never to a participant who died, withdrew or ended
    follow-up, never for a revoked or expired link.
    """
    from questionnaires import selectors

    now = timezone.now()
    link = (
        QuestionnaireLink.objects.select_related("participant")
        .filter(id=link_id, reminder_sent_at=None, reminder_of=None, revoked_at=None)
        .first()
    )
    if link is None or link.expires_at <= now or link.participant.status in ENDED_STATUSES:
        return False
    if write_refusal([link]):  # locked data: no reminder either
        return False
    if selectors.visit_is_submitted(link.participant, link.visit_code):
        return False
    if link.sent_via not in (SentVia.EMAIL, SentVia.SMS):
        return False
    if not _address_for(link.participant, link.sent_via):
        return False
    claimed = QuestionnaireLink.objects.filter(id=link_id, reminder_sent_at=None).update(
        reminder_sent_at=now
    )
    if claimed != 1:
        return False
    reminder = _new_link(
        participant=link.participant,
        visit_code=link.visit_code,
        user=None,
        via=link.sent_via,
        language=link.language,
        window_closes=None,
        reminder_of=link,
        **_delivery_token(),
    )
    _enqueue_delivery(reminder.pk)
    return True
