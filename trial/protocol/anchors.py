"""Where the dates that visits are anchored on come from, declared once.

Each anchor of the schedule (trial.protocol.schedule.ANCHORS) is read from one model: a row per
participant with a date or datetime field. A datetime is turned into the Copenhagen calendar
date in the database, so the scheduler stays set-based for 100,000 participants. An anchor
whose model is not installed yet simply has no dates: its visits are not created.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.apps import apps
from django.conf import settings
from django.db import models
from django.db.models.functions import TruncDate


@dataclass(frozen=True)
class AnchorSource:
    model: str  # "app_label.ModelName"
    date_field: str
    participant_field: str = "participant"


ANCHOR_SOURCES: dict[str, AnchorSource] = {
    "randomisation": AnchorSource("randomization.Allocation", "randomised_at"),
    "procedure": AnchorSource("trial.Procedure", "procedure_date"),
}
# The allocated arm, for visits that apply to one arm only.
ARM_SOURCE = AnchorSource("randomization.Allocation", "arm")


def _model(source: AnchorSource):
    try:
        return apps.get_model(source.model)
    except LookupError:
        return None


def anchor_dates(
    anchor: str, *, earliest: dt.date | None = None, latest: dt.date | None = None
) -> models.QuerySet | None:
    """Rows with ``anchor_participant_id`` and ``anchor_date`` for one anchor, optionally only
    anchor dates within [earliest, latest] (Copenhagen dates).

    The bounds are applied to the stored column itself (a datetime range for a datetime
    field), so the database can use an index instead of converting every row.
    """
    source = ANCHOR_SOURCES.get(anchor)
    if source is None:
        return None
    model = _model(source)
    if model is None:
        return None
    field = model._meta.get_field(source.date_field)
    name = source.date_field
    bounds: dict = {f"{name}__isnull": False}
    expression: TruncDate | models.F
    if isinstance(field, models.DateTimeField):
        tz = ZoneInfo(settings.TIME_ZONE)
        expression = TruncDate(name, tzinfo=tz)
        if earliest:
            bounds[f"{name}__gte"] = dt.datetime.combine(earliest, dt.time.min, tzinfo=tz)
        if latest:
            next_day = latest + dt.timedelta(days=1)
            bounds[f"{name}__lt"] = dt.datetime.combine(next_day, dt.time.min, tzinfo=tz)
    else:
        expression = models.F(name)
        if earliest:
            bounds[f"{name}__gte"] = earliest
        if latest:
            bounds[f"{name}__lte"] = latest
    return model.objects.filter(**bounds).annotate(
        anchor_participant_id=models.F(f"{source.participant_field}_id"),
        anchor_date=expression,
    )


def arm_lookup() -> str | None:
    """The lookup from Participant to its allocated arm, e.g. 'allocation__arm'."""
    model = _model(ARM_SOURCE)
    if model is None:
        return None
    field = model._meta.get_field(ARM_SOURCE.participant_field)
    return f"{field.related_query_name()}__{ARM_SOURCE.date_field}"


def anchors_for(participant_ids) -> dict[int, dict[str, dt.date]]:
    """Every recorded anchor's Copenhagen date for many participants (``participant_ids``: ids
    or a queryset of them), by participant id then anchor; one query per anchor source."""
    found: dict[int, dict[str, dt.date]] = {}
    for anchor in ANCHOR_SOURCES:
        rows = anchor_dates(anchor)
        if rows is None:
            continue
        for pid, day in rows.filter(anchor_participant_id__in=participant_ids).values_list(
            "anchor_participant_id", "anchor_date"
        ):
            found.setdefault(pid, {})[anchor] = day
    return found


def participant_anchors(participant_id: int) -> dict[str, dt.date | None]:
    """Every anchor's Copenhagen date for one participant (None while not recorded)."""
    recorded = anchors_for([participant_id]).get(participant_id, {})
    return {anchor: recorded.get(anchor) for anchor in ANCHOR_SOURCES}
