"""Audit trail helpers on top of django-simple-history.

Every clinical model carries ``history = HistoricalRecords()``. Writes go through services,
which record who made the change and, for any change after the first save, why.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from simple_history.utils import get_history_model_for_model

from trial.concurrency import unique_conflict
from trial.registry import registry

# audited_save hands back the instance it was given, with the same type for the caller.
_M = TypeVar("_M", bound=models.Model)


class ReasonRequired(ValidationError):
    pass


def require_reason(reason: str | None) -> str:
    """The trimmed reason, or ReasonRequired when shorter than ``REASON_MIN_LENGTH``.

    The one check for reasons a person must give in words: corrections, identified exports
    and the coordinator's staff changes. A few characters ("x", "typo") tell a monitor
    nothing, so a minimum length is asked everywhere, from one setting.
    """
    reason = (reason or "").strip()
    minimum = settings.REASON_MIN_LENGTH
    if len(reason) < minimum:
        raise ReasonRequired(
            ngettext(
                "Give a reason of at least %(n)d character.",
                "Give a reason of at least %(n)d characters.",
                minimum,
            )
            % {"n": minimum},
            code="reason_too_short",
        )
    return reason


def guard_writes(instances: list[models.Model]) -> None:
    """Ask every registered write guard whether ``instances`` may be written now.

    The one enforcement point of the data locks: every writer below calls it, and the few
    writes that do not go through them (background work that touches rows itself) call it
    too. A guard refuses by raising ``trial.errors.DataLocked``."""
    if instances:
        for guard in registry.write_guards:
            guard(instances)


def write_refusal(instances: list[models.Model]) -> str:
    """The guards' refusal of writing ``instances`` in words, or "" when they may be written:
    for background work that skips what it may not touch instead of failing."""
    from trial.errors import DataLocked

    try:
        guard_writes(instances)
    except DataLocked as exc:
        return exc.message
    return ""


def _stamp(instance: models.Model, *, user, reason: str) -> None:
    """The one place that tells django-simple-history who changed a row and why.

    simple_history reads these attributes for the next save or delete of this instance only.
    """
    # simple_history's per-instance hooks are plain attributes that no model declares.
    instance._history_user = user  # type: ignore[attr-defined]
    instance._change_reason = reason.strip() or None  # type: ignore[attr-defined]


def audited_save(
    instance: _M,
    *,
    user,
    reason: str = "",
    update_fields: list[str] | None = None,
    validate: bool = True,
) -> _M:
    """Validate and save ``instance`` with the user and reason on its history row.

    A first save needs no reason; a later change does (good clinical practice: the trail must
    say why a recorded value was changed). ``validate=False`` is for saves of fields the
    system itself sets (counters, status stamps), where the rest of the row is not re-checked;
    ``update_fields`` writes only those columns.
    """
    if instance.pk is not None and instance._state.adding is False and not reason.strip():
        raise ReasonRequired(_("Give a reason for the change."))
    guard_writes([instance])
    if validate:
        instance.full_clean()
    _stamp(instance, user=user, reason=reason)
    try:
        # A savepoint, so that losing a race for a unique row leaves the caller's transaction
        # usable: the conflict is reported with the row that won (trial.concurrency).
        with transaction.atomic():
            instance.save(update_fields=update_fields)
    except IntegrityError as exc:
        conflict = unique_conflict(instance, exc)
        if conflict is None:
            raise
        raise conflict from exc
    for hook in registry.data_saved_hooks:
        hook(instance)
    return instance


def audited_delete(instance: models.Model, *, user, reason: str) -> None:
    """Delete ``instance``; its last history row says who deleted it and why. The registry's
    data-deleted hooks run first, in the same transaction: a deleted record is a change to
    what was verified or signed."""
    if not reason.strip():
        raise ReasonRequired(_("Give a reason for the change."))
    guard_writes([instance])
    _stamp(instance, user=user, reason=reason)
    with transaction.atomic():
        for hook in registry.data_deleted_hooks:
            hook(instance)
        instance.delete()


def audited_update(queryset: models.QuerySet, *, user, reason: str, **values) -> int:
    """Set ``values`` on every row of ``queryset`` in one UPDATE, with a history row per row.

    ``QuerySet.update`` bypasses django-simple-history, so a bulk change would otherwise leave
    no trace; the registry's data-saved hooks run for each row, as after ``audited_save``.
    The rows are locked first, so the history rows describe exactly the rows changed,
    and a conditional queryset (``filter(id=..., claimed_at=None)``) still claims a row at most
    once: the number returned is the number of rows changed. Runs inside the caller's
    transaction, or its own.
    """
    if not reason.strip():
        raise ReasonRequired(_("Give a reason for the change."))
    model = queryset.model
    with transaction.atomic():
        rows = list(queryset.select_for_update())
        if not rows:
            return 0
        guard_writes(rows)
        changed = model._default_manager.filter(pk__in=[r.pk for r in rows]).update(**values)
        history_model = get_history_model_for_model(model)
        tracked = {f.attname for f in history_model._meta.fields}
        now = timezone.now()
        records = []
        for row in rows:
            for name, value in values.items():
                setattr(row, name, value)
            records.append(
                history_model(
                    **{
                        f.attname: getattr(row, f.attname)
                        for f in model._meta.concrete_fields
                        if f.attname in tracked
                    },
                    history_date=now,
                    history_type="~",
                    history_change_reason=reason.strip(),
                    history_user=user,
                )
            )
        history_model.objects.bulk_create(records, batch_size=2000)
        # The same hooks as a save of each row (a change clears its source-data verification),
        # so that a bulk change cannot slip past them.
        for row in rows:
            _stamp(row, user=user, reason=reason)
            for hook in registry.data_saved_hooks:
                hook(row)
    return changed


@transaction.atomic
def model_update(*, instance: _M, data: dict[str, Any], user, reason: str) -> tuple[_M, bool]:
    """Set the given fields, and save with an audit reason only if something changed."""
    guard_writes([instance])
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
    # The model field of each change (same order as ``changes``), and the history row itself,
    # for trial.audit_display, which writes the entry as sentences.
    fields: list = field(default_factory=list)
    row: Any = None
    previous: Any = None  # the version ``row`` replaced, if any
    model: str = ""  # "app_label.ModelName"


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

    Costs two queries per audited model plus one for trial numbers, however many rows match;
    the records foreign keys name are joined into those queries.
    """

    tz = timezone.get_current_timezone()
    wanted = offset + limit
    entries: list[AuditEntry] = []
    for model in models_only or audited_models():
        history_model = get_history_model_for_model(model)
        path = participant_path(model)
        # The records foreign keys point at come in the same query (left joins: a history
        # row's key may name a record deleted since), so the trail names them without more.
        related = [f.name for f in _tracked_fields(history_model) if f.many_to_one]
        qs = history_model.objects.select_related("history_user", *related)
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
            for r in history_model.objects.select_related(*related).filter(
                **{f"{pk_name}__in": object_ids}, history_date__lte=newest
            )
        }
        versions_by_id.update((r.history_id, r) for r in rows)
        by_object: dict[Any, list] = {}
        for r in versions_by_id.values():
            by_object.setdefault(getattr(r, pk_name), []).append(r)
        for versions in by_object.values():
            versions.sort(key=lambda r: (r.history_date, r.history_id))
        masked = _concealed_fields(model, object_ids)
        for row in rows:
            versions = by_object[getattr(row, pk_name)]
            index = next(i for i, v in enumerate(versions) if v.history_id == row.history_id)
            previous = versions[index - 1] if index > 0 else None
            # (model field, (label, old, new)) of each change.
            pairs: list[tuple[Any, tuple[str, Any, Any]]] = []
            hidden = masked.get(getattr(row, pk_name), frozenset())
            # A version saved before its allocation was revealed holds an arm nobody was to
            # see then, and still must not: when the clinician opened another envelope than
            # the one named, it is the arm of the named envelope, which may be sealed again
            # for the next patient. Only the revealed value is ever shown.
            row_hidden = _concealed_version(model, row)
            previous_hidden = (
                _concealed_version(model, previous) if previous is not None else frozenset()
            )
            for f in fields:
                new = getattr(row, f.attname)
                old = getattr(previous, f.attname) if previous is not None else None
                if f.name in hidden or (f.name in row_hidden):
                    if old != new:
                        pairs.append((f, (str(f.verbose_name), "•••", "•••")))
                elif f.name in previous_hidden:
                    if old != new:
                        pairs.append((f, (str(f.verbose_name), "•••", _display(f, new))))
                elif previous is None and row.history_type == "+":
                    if new not in (None, ""):
                        pairs.append((f, (str(f.verbose_name), "—", _display(f, new))))
                elif old != new:
                    pairs.append((f, (str(f.verbose_name), _display(f, old), _display(f, new))))
            changes = [change for _f, change in pairs]
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
                    fields=[f for f, _change in pairs],
                    row=row,
                    previous=previous,
                    model=model._meta.label,
                )
            )
    entries.sort(key=lambda e: e.when, reverse=True)
    page = entries[offset:wanted]
    pids = {e.participant_id for e in page if e.participant_id}
    if pids:
        Participant = apps.get_model("trial", "Participant")
        numbers = dict(Participant.objects.filter(id__in=pids).values_list("id", "trial_number"))
        for e in page:
            if e.participant_id:
                e.trial_number = numbers.get(e.participant_id, "")
    return page


def _concealed_fields(model: type[models.Model], object_ids) -> dict[Any, frozenset[str]]:
    """Fields whose values the trail must not show yet, per object: the arm of an allocation
    until it is revealed (the rule is the randomisation app's, registered in
    trial.registry). Masked for every reader, as on every other page."""
    concealment = registry.concealment
    if concealment is None or model._meta.label != concealment.audit_model:
        return {}
    return dict.fromkeys(concealment.concealed_ids(object_ids), concealment.audit_fields)


def _concealed_version(model: type[models.Model], version) -> frozenset[str]:
    """The fields of one history version of ``model`` that stay masked for good: those of an
    allocation's version saved while it was not yet revealed (the randomisation app's rule,
    asked of the version itself)."""
    concealment = registry.concealment
    if concealment is None or model._meta.label != concealment.audit_model:
        return frozenset()
    return frozenset() if concealment.revealed(version) else concealment.audit_fields


def mask_identity_changes(entries: list[AuditEntry]) -> list[AuditEntry]:
    """Audit rows of identifying data show values only to roles allowed to read them.

    Both the audit trail and a participant's history show these rows, so the masking lives
    next to the reader that builds them."""
    label = str(apps.get_model("trial", "Identity")._meta.verbose_name)
    for entry in entries:
        if entry.model_label == label:
            entry.changes = [(name, "•••", "•••") for name, _old, _new in entry.changes]
    return entries
