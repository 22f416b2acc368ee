"""Audit trail helpers on top of django-simple-history.

Every clinical model carries ``history = HistoricalRecords()``. Writes go through services,
which record who made the change and, for any change after the first save, why.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils.translation import gettext as _


class ReasonRequired(ValidationError):
    pass


def audited_save(instance: models.Model, *, user, reason: str = "") -> models.Model:
    """Validate and save ``instance`` with the user and reason on its history row.

    A first save needs no reason; a later change does (good clinical practice: the trail must
    say why a recorded value was changed).
    """
    if instance.pk is not None and instance._state.adding is False and not reason.strip():
        raise ReasonRequired(_("Give a reason for the change."))
    instance.full_clean()
    instance._history_user = user  # read by simple_history for this save only
    instance._change_reason = reason.strip() or None
    instance.save()
    return instance


@transaction.atomic
def model_update(
    *, instance: models.Model, data: dict[str, Any], user, reason: str
) -> tuple[models.Model, bool]:
    """Set the given fields, and save with an audit reason only if something changed."""
    changed = []
    for name, value in data.items():
        if getattr(instance, name) != value:
            setattr(instance, name, value)
            changed.append(name)
    if changed:
        audited_save(instance, user=user, reason=reason)
    return instance, bool(changed)


# --- Reading the trail -------------------------------------------------------------------


_HISTORY_META_FIELDS = {
    "history_id",
    "history_date",
    "history_change_reason",
    "history_type",
    "history_user",
    "history_relation",
}


def audited_models() -> list[type[models.Model]]:
    """Every model with django-simple-history attached, in a stable order."""
    found = []
    for model in apps.get_models():
        if getattr(model._meta, "simple_history_manager_attribute", None):
            found.append(model)
    return sorted(found, key=lambda m: m._meta.label)


def participant_path(model: type[models.Model]) -> str | None:
    """How a model's history rows point at their participant, if they do.

    A model may declare ``AUDIT_PARTICIPANT_PATH`` (e.g. ``"procedure__participant_id"``);
    otherwise a ``participant`` foreign key is used, and Participant itself uses its id.
    """
    declared = getattr(model, "AUDIT_PARTICIPANT_PATH", None)
    if declared:
        return declared
    if model._meta.label == "trial.Participant":
        return "id"
    names = {f.name for f in model._meta.get_fields()}
    if "participant" in names:
        return "participant_id"
    return None


@dataclass
class AuditEntry:
    when: dt.datetime
    user: Any
    action: str
    model_label: str
    object_id: Any
    participant_id: int | None
    reason: str
    changes: list[tuple[str, Any, Any]]
    trial_number: str = ""


_ACTIONS = {"+": "created", "~": "changed", "-": "deleted"}


def _tracked_fields(history_model) -> list:
    return [
        f
        for f in history_model._meta.fields
        if f.name not in _HISTORY_META_FIELDS and not f.name.startswith("history_")
    ]


def _display(field, value):
    if value is None or value == "":
        return "—"
    choices = dict(field.flatchoices) if getattr(field, "flatchoices", None) else None
    if choices and value in choices:
        return str(choices[value])
    return value


def audit_entries(
    *,
    participant_id: int | None = None,
    user_id: int | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    models_only: list[type[models.Model]] | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[AuditEntry]:
    """The newest audit entries matching the filters, across every audited model.

    Costs two queries per audited model plus one for trial numbers, however many rows match.
    """
    from django.utils import timezone

    tz = timezone.get_current_timezone()
    wanted = offset + limit
    entries: list[AuditEntry] = []
    for model in models_only or audited_models():
        history_model = model.history.model
        path = participant_path(model)
        qs = history_model.objects.select_related("history_user")
        if participant_id is not None:
            if path is None:
                continue
            qs = qs.filter(**{path: participant_id})
        if user_id is not None:
            qs = qs.filter(history_user_id=user_id)
        if date_from:
            qs = qs.filter(history_date__gte=dt.datetime.combine(date_from, dt.time.min, tzinfo=tz))
        if date_to:
            qs = qs.filter(
                history_date__lt=dt.datetime.combine(
                    date_to + dt.timedelta(days=1), dt.time.min, tzinfo=tz
                )
            )
        rows = list(qs.order_by("-history_date", "-history_id")[:wanted])
        if not rows:
            continue
        fields = _tracked_fields(history_model)
        pk_name = model._meta.pk.attname
        # Previous versions of the same objects, fetched at once, to show old -> new values.
        # Up to the newest row shown: with a user filter, the version a row replaced may be
        # newer than the oldest row shown (another user's change in between).
        object_ids = {getattr(r, pk_name) for r in rows}
        newest = max(r.history_date for r in rows)
        versions_by_id = {
            r.history_id: r
            for r in history_model.objects.filter(
                **{f"{pk_name}__in": object_ids}, history_date__lte=newest
            )
        }
        versions_by_id.update((r.history_id, r) for r in rows)
        by_object: dict[Any, list] = {}
        for r in versions_by_id.values():
            by_object.setdefault(getattr(r, pk_name), []).append(r)
        for versions in by_object.values():
            versions.sort(key=lambda r: (r.history_date, r.history_id))
        for row in rows:
            versions = by_object[getattr(row, pk_name)]
            index = next(i for i, v in enumerate(versions) if v.history_id == row.history_id)
            previous = versions[index - 1] if index > 0 else None
            changes = []
            for f in fields:
                new = getattr(row, f.attname)
                old = getattr(previous, f.attname) if previous is not None else None
                if previous is None and row.history_type == "+":
                    if new not in (None, ""):
                        changes.append((str(f.verbose_name), "—", _display(f, new)))
                elif old != new:
                    changes.append((str(f.verbose_name), _display(f, old), _display(f, new)))
            if row.history_type == "~" and not changes and not row.history_change_reason:
                # A save that changed nothing tracked; one with a reason is an action on the
                # record that has no field of its own (a second-factor reset on User).
                continue
            pid = None
            if path == "id":
                pid = row.id
            elif path == "participant_id":
                pid = row.participant_id
            entries.append(
                AuditEntry(
                    when=row.history_date.astimezone(tz),
                    user=row.history_user,
                    action=_ACTIONS.get(row.history_type, row.history_type),
                    model_label=str(model._meta.verbose_name),
                    object_id=getattr(row, pk_name),
                    participant_id=pid,
                    reason=row.history_change_reason or "",
                    changes=changes,
                )
            )
    entries.sort(key=lambda e: e.when, reverse=True)
    page = entries[offset:wanted]
    pids = {e.participant_id for e in page if e.participant_id}
    if pids:
        Participant = apps.get_model("trial", "Participant")
        numbers = dict(Participant.objects.filter(id__in=pids).values_list("id", "trial_number"))
        for e in page:
            e.trial_number = numbers.get(e.participant_id, "")
    return page
