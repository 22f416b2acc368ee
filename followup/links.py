"""The follow-up side of the patient's personal links: a visit's questionnaires are sent when
its window opens, by the nightly job, never earlier (the questionnaires app refuses a link
before the window opens). The reminder before the window closes is the questionnaires app's
hourly job (questionnaires.selectors.links_due_for_reminder).
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q

from followup.models import OPEN_STATUSES, Contact
from questionnaires import links as questionnaire_links
from questionnaires.models import QuestionnaireLink, QuestionnaireResponse, ResponseStatus, SentVia
from trial.errors import ServiceError
from trial.models import Identity, ParticipantStatus
from trial.protocol.schedule import active_schedule, local_today
from trial.protocol.visits import visit_instruments
from trial.protocol.windows import randomised_q

logger = logging.getLogger(__name__)


def _visit_links_missing(today: dt.date):
    """Open contacts whose window is open today, of a visit with questionnaires, for a
    randomised participant in follow-up with an e-mail address or a phone, and with neither
    a link nor a submitted answer for the visit yet."""
    codes = [visit.code for visit in active_schedule().visits if visit_instruments(visit.code)]
    linked = QuestionnaireLink.objects.filter(
        participant=OuterRef("participant"), visit_code=OuterRef("visit_code")
    )
    answered = QuestionnaireResponse.objects.filter(
        participant=OuterRef("participant"),
        visit_code=OuterRef("visit_code"),
        status=ResponseStatus.SUBMITTED,
    )
    reachable = Identity.objects.filter(participant=OuterRef("participant")).filter(
        ~Q(email="") | ~Q(phone="")
    )
    return (
        Contact.objects.filter(
            randomised_q("participant__"),
            status__in=OPEN_STATUSES,
            window_opens__lte=today,
            window_closes__gte=today,
            visit_code__in=codes,
            participant__status=ParticipantStatus.RANDOMISED,
        )
        .filter(Exists(reachable))
        .exclude(Exists(linked))
        .exclude(Exists(answered))
    )


def visit_links_send_due(*, today: dt.date | None = None) -> int:
    """Send each visit's link on the day its window opens (or the first night after): by
    e-mail when an address is recorded, else by text message. Returns how many were sent.

    Safe to run twice or on two workers: each contact is locked and checked again for a link
    before one is made, so a visit gets one link from here, and none when staff sent one or
    the nurse took the questionnaires by phone.
    """
    today = today or local_today()
    sent = 0
    for contact_id in list(_visit_links_missing(today).values_list("id", flat=True)):
        with transaction.atomic():
            # Lock first, then ask again in a new statement: PostgreSQL re-checks a locked
            # row's own columns after waiting, but not a subquery's (the link another worker
            # just committed), so one statement doing both would send a second link.
            if not Contact.objects.select_for_update().filter(pk=contact_id).exists():
                continue
            contact = (
                _visit_links_missing(today).select_related("participant").filter(pk=contact_id)
            ).first()
            if contact is None:  # sent meanwhile by another run, or by staff
                continue
            identity = Identity.objects.get(participant=contact.participant)
            via = SentVia.EMAIL if identity.email else SentVia.SMS
            try:
                questionnaire_links.link_send(
                    participant=contact.participant,
                    visit_code=contact.visit_code,
                    user=None,
                    via=via,
                    language=settings.LANGUAGE_CODE,
                    window_closes=contact.window_closes,
                )
            except ServiceError as error:
                logger.warning("no link for contact %s: %s", contact_id, error)
                continue
        sent += 1
    return sent
