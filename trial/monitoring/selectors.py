"""Reads of queries, always through the participants the user may see."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Min, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from trial import access
from trial.monitoring.models import Query, QueryMessage, QueryState

OPEN_STATES = (QueryState.OPEN, QueryState.ANSWERED)


def queries_for(user) -> QuerySet[Query]:
    return Query.objects.filter(participant__in=access.participants_for(user))


def query_list(
    user, *, states=OPEN_STATES, site_id: int | None = None, form: str = "", rule: str = ""
) -> QuerySet[Query]:
    """A worklist: oldest first, with the last message of each thread, in a fixed number of
    SQL queries however many rows."""
    last = QueryMessage.objects.filter(query=OuterRef("pk")).order_by("-written_at", "-id")
    qs = (
        queries_for(user)
        .filter(state__in=states)
        .select_related("participant", "participant__site", "raised_by")
        .annotate(
            last_text=Subquery(last.values("text")[:1]),
            last_kind=Subquery(last.values("kind")[:1]),
            last_at=Subquery(last.values("written_at")[:1]),
        )
        .order_by("raised_at", "id")
    )
    if site_id:
        qs = qs.filter(participant__site_id=site_id)
    if form:
        qs = qs.filter(target_model=form)
    if rule:
        qs = qs.filter(rule_code=rule)
    return qs


def counts_by_rule(user) -> dict[str, dict[str, int]]:
    """Per edit check: its queries not closed ("open") and closed, among those the user sees."""
    rows = (
        queries_for(user)
        .exclude(rule_code="")
        .values("rule_code")
        .annotate(
            open=Count("id", filter=Q(state__in=OPEN_STATES)),
            closed=Count("id", filter=Q(state=QueryState.CLOSED)),
        )
    )
    return {r["rule_code"]: {"open": r["open"], "closed": r["closed"]} for r in rows}


def participant_queries(participant) -> QuerySet[Query]:
    return (
        Query.objects.filter(participant=participant)
        .select_related("raised_by")
        .order_by("state", "raised_at")
    )


ItemKey = tuple[str, str, str]  # (model label, row id as text, field or "field.key")


def queried_items(participant) -> dict[ItemKey, Query]:
    """The participant's queries not closed, by the item each is about, in one SQL query: what
    the markers beside values read. Of two on one item (a check's and a person's), the older."""
    items: dict[ItemKey, Query] = {}
    for query in Query.objects.filter(participant=participant, state__in=OPEN_STATES).order_by(
        "-raised_at", "-id"
    ):
        items[(query.target_model, query.target_id, query.field_name)] = query
    return items


def counts_by_site(user, *, now: dt.datetime | None = None) -> list[dict]:
    """Per site: open, answered, and the age in days of the oldest query not closed."""
    now = now or timezone.now()
    rows = (
        queries_for(user)
        .values("participant__site__code", "participant__site__name")
        .annotate(
            open=Count("id", filter=Q(state=QueryState.OPEN)),
            answered=Count("id", filter=Q(state=QueryState.ANSWERED)),
            oldest=Min("raised_at", filter=Q(state__in=OPEN_STATES)),
        )
        .order_by("participant__site__code")
    )
    return [
        {
            "site_code": r["participant__site__code"],
            "site_name": r["participant__site__name"],
            "open": r["open"],
            "answered": r["answered"],
            "oldest_days": (now - r["oldest"]).days if r["oldest"] else None,
        }
        for r in rows
        if r["open"] or r["answered"]
    ]
