"""Reads of the API. Every one starts from ``participants_for(user)``; records come from the
exporters' own row sources (trial.exports), limited to one page of participants, so a page
costs a constant number of queries whatever the trial's size."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from dataclasses import dataclass
from functools import reduce
from operator import or_
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _

from trial.access import participants_for
from trial.api.errors import ApiError
from trial.api.models import ApiToken
from trial.audit import audited_models, participant_path
from trial.exports.registry import ByteOrder
from trial.models import Participant, User


def parse_since(value: str | None) -> dt.datetime | None:
    """``modified_since``: an ISO date-time (with or without zone: the trial's zone) or a date."""
    if not value:
        return None
    when = parse_datetime(value)
    if when is None:
        day = parse_date(value) if len(value) == 10 else None
        if day is None:
            raise ApiError(
                _("modified_since must be a date (2026-01-31) or a date and time."),
                code="invalid_modified_since",
            )
        when = dt.datetime.combine(day, dt.time.min)
    if timezone.is_naive(when):
        when = timezone.make_aware(when)
    return when


def changed_since(
    participants: QuerySet[Participant],
    since: dt.datetime,
    sources: list[tuple[Any, dict[str, Any]]] | None = None,
) -> QuerySet:
    """Participants with an audited row written at or after ``since``: the audit trail is the
    one record of every write (trial.audit), so nothing a form saves can be missed. One query:
    an EXISTS per audited model that points at a participant (``participant_path``).

    ``sources``: the models (and a filter of their history rows) one form is made of, from
    the form's exporter (``changed_sources``); None: any audited model."""
    if sources is None:
        sources = [(model, {}) for model in audited_models()]
    conditions = []
    for model, extra in sources:
        path = participant_path(model)
        if path is None:
            continue
        history = model.history.model  # added by simple_history
        conditions.append(
            Exists(
                history.objects.filter(**{path: OuterRef("pk")}, **extra, history_date__gte=since)
            )
        )
    return participants.filter(reduce(or_, conditions, Q(pk__in=[])))


def encode_cursor(trial_number: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": trial_number}).encode()).decode()


def decode_cursor(cursor: str | None) -> str | None:
    if not cursor:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        after = data["after"]
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise ApiError(
            _("The cursor is not valid; start again without it."), code="invalid_cursor"
        ) from None
    if not isinstance(after, str):
        raise ApiError(
            _("The cursor is not valid; start again without it."), code="invalid_cursor"
        ) from None
    return after


@dataclass
class ParticipantPage:
    rows: list[Any]  # values() rows of Participant
    next_cursor: str | None


def participant_page(
    user: User,
    *,
    site: str | None = None,
    status: str | None = None,
    since: dt.datetime | None = None,
    sources: list[tuple[Any, dict[str, Any]]] | None = None,
    cursor: str | None = None,
    size: int,
) -> ParticipantPage:
    """One page of the user's participants in trial-number order (byte order, as the
    exporters sort), pseudonymised: never a name, CPR number or contact detail. One query."""
    qs = participants_for(user)
    if site:
        qs = qs.filter(site__code=site)
    if status:
        qs = qs.filter(status=status)
    if since is not None:
        qs = changed_since(qs, since, sources)
    qs = qs.annotate(tn_order=ByteOrder("trial_number"))
    after = decode_cursor(cursor)
    if after is not None:
        qs = qs.filter(tn_order__gt=after)
    rows = list(
        qs.order_by("tn_order").values(
            "id",
            "trial_number",
            "site__code",
            "status",
            "created_at",
            "death__date_of_death",
            "withdrawal__withdrawn_on",
        )[: size + 1]
    )
    more = len(rows) > size
    rows = rows[:size]
    return ParticipantPage(rows, encode_cursor(rows[-1]["trial_number"]) if more else None)


def tokens_of(user: User) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user).select_related("revoked_by")


def all_tokens() -> QuerySet[ApiToken]:
    return ApiToken.objects.select_related("user", "revoked_by").order_by(
        "revoked_at", "-created_at"
    )
