"""Two people saving the same form at once: the second is told, and loses nothing.

Two races end here, in one place for every form of every app:

* **Create race.** Both pages were loaded before anything was recorded, both post, both pass
  validation, and the database's unique constraint refuses the second insert.
  ``trial.audit.audited_save`` saves inside a savepoint and hands the unique violation to
  ``unique_conflict``, which finds the row that won and raises ``ConcurrentChange``.
* **Edit race.** Both pages showed the same version of a record. The form carries that
  version (``version_field_add``: a hidden ``version`` field, ``version_of`` the record); the
  service locks the row (``select_for_update``) and calls ``version_check`` before it writes,
  so the later save is refused instead of silently overwriting the earlier one.

``ConcurrentChange`` is a ``ServiceError`` and a ``ValidationError``, so every view that
already shows a service's refusal on its form shows this one too, with the form still bound
to what the user typed. ``trial.forms.apply_errors`` also puts the winner's values (who,
when, what) next to the form (``templates/partials/concurrent_change.html``) and gives the
form the current version, so that saving again is a deliberate choice to replace them. A
stale form does not ask the "reason for change" first (``form_is_stale``, read by
``trial.forms.ReasonForChangeMixin``): a page loaded before the record existed never showed
that field, and the service's version check is what the user needs to hear.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, models
from django.http import QueryDict
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from trial.errors import ServiceError

VERSION_FIELD = "version"

# Columns never shown next to a form: keys, links and stamps that say nothing to the person
# comparing values, and secrets that must never reach a page (a staff account's password hash,
# a link's token digest or seed).
_HIDDEN_FIELDS = {
    "id",
    "participant",
    "contact",
    "call",
    "created_at",
    "updated_at",
    "last_login",
    "password",
    "is_superuser",
    "key",
    "cpr_digest",
    "token_hash",
    "delivery_seed",
}


@dataclass(eq=False)
class ConcurrentChange(ServiceError, ValidationError):
    """Someone else saved the record this form writes after the form was loaded.

    ``final`` is for records made once (a death, a submitted questionnaire): saving again
    cannot replace them, so the message says where they are corrected instead.
    """

    who: str = ""
    when: dt.datetime | None = None
    values: list[tuple[str, str]] = field(default_factory=list)
    version: str = ""
    final: bool = False

    def __post_init__(self) -> None:
        ValidationError.__init__(self, self.message_text(), code="concurrent_change")

    def message_text(self) -> str:
        saved = _("%(who)s saved it at %(when)s") % {
            "who": self.who or _("someone else"),
            "when": _when(self.when) if self.when else _("the same moment"),
        }
        if self.final:
            return _(
                "This was recorded by someone else while you were filling in the form (%(saved)s). "
                "Nothing of yours was saved; your entries are kept below for comparison. "
                "If the recorded values are wrong, correct them with a reason."
            ) % {"saved": saved}
        return _(
            "Someone else saved this form while you were filling it in (%(saved)s). "
            "Nothing of yours was saved; your entries are kept below. Compare them with the "
            "saved values and save again if yours are to replace them."
        ) % {"saved": saved}

    def __str__(self) -> str:
        return self.message_text()

    @classmethod
    def of(
        cls,
        instance: models.Model,
        *,
        final: bool = False,
        values: list[tuple[str, str]] | None = None,
        who: Any = None,
        when: dt.datetime | None = None,
    ) -> ConcurrentChange:
        """The conflict with ``instance``, the record as the other person saved it; ``who``
        and ``when`` default to its newest history row."""
        if who is None or when is None:
            last_who, last_when = _last_change(instance)
            who = last_who if who is None else person(who)
            when = when or last_when
        else:
            who = person(who)
        return cls(
            who=who,
            when=when,
            values=values_of(instance) if values is None else values,
            version=version_of(instance),
            final=final,
        )


def _when(when: dt.datetime) -> str:
    return formats.date_format(timezone.localtime(when), "DATETIME_FORMAT")


def person(user: Any) -> str:
    if user is None:
        return ""
    full = (user.get_full_name() or "").strip() if hasattr(user, "get_full_name") else ""
    return full or str(getattr(user, "username", user))


def _last_change(instance: models.Model) -> tuple[str, dt.datetime | None]:
    history = getattr(instance, "history", None)
    record = history.select_related("history_user").first() if history is not None else None
    if record is None:
        return "", None
    return person(record.history_user), record.history_date


def _display(instance: models.Model, f: models.Field) -> str:
    value = getattr(instance, f.name)
    if value is None or value == "" or value == [] or value == {}:
        return ""
    if f.choices:
        return str(getattr(instance, f"get_{f.name}_display")())
    if isinstance(value, bool):
        return str(_("Yes") if value else _("No"))
    if isinstance(value, dt.datetime):
        return _when(value)
    if isinstance(value, dt.date):
        return formats.date_format(value, "DATE_FORMAT")
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    return str(value)


def values_of(instance: models.Model) -> list[tuple[str, str]]:
    """The record's user-facing fields as (label, value), as the other person saved them."""
    rows = []
    for f in instance._meta.concrete_fields:
        if f.name in _HIDDEN_FIELDS or f.primary_key or not f.editable:
            continue
        shown = _display(instance, f)
        if shown:
            rows.append((str(f.verbose_name).capitalize(), shown))
    return rows


def version_of(instance: models.Model | None) -> str:
    """A short token that changes whenever the record is saved: its stored values and the id
    of its newest history row (so a save that only touched related rows counts as well).
    ``""`` when there is no record yet."""
    if instance is None or instance.pk is None:
        return ""
    stored = instance._meta.model._default_manager.filter(pk=instance.pk).values().first()
    history = getattr(instance._meta.model, "history", None)
    latest = None
    if history is not None:
        latest = (
            history.filter(**{instance._meta.pk.attname: instance.pk})
            .order_by("-history_id")
            .values_list("history_id", flat=True)
            .first()
        )
    payload = json.dumps([stored, latest], sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:20]


def version_check(
    current: models.Model | None,
    expected: str | None,
    *,
    final: bool = False,
    values: list[tuple[str, str]] | None = None,
) -> None:
    """Refuse a save based on an older version of ``current`` (locked by the caller).

    ``expected`` is the version the form was loaded with; ``None`` (a caller without a form,
    such as a task or the demo) skips the check.
    """
    if expected is None or (current is None and expected == ""):
        return
    if current is None or version_of(current) != expected:
        if current is None:
            # The record the form was loaded from has gone: nothing to show but the message.
            raise ConcurrentChange(final=final)
        raise ConcurrentChange.of(current, final=final, values=values)


def serialize_on(key: str) -> None:
    """Hold a lock named ``key`` until the caller's transaction ends, for a check that has no
    row to lock (is this CPR number screened already?). PostgreSQL's advisory locks; SQLite
    runs one writing transaction at a time anyway."""
    if connection.vendor != "postgresql":
        return
    number = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big", signed=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [number])


def _is_unique_violation(exc: IntegrityError) -> bool:
    cause = exc.__cause__
    code = getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)
    if code is not None:
        return code == "23505"
    return "UNIQUE constraint failed" in str(exc)


def _unique_lookups(instance: models.Model) -> list[tuple[dict[str, Any], models.Q | None]]:
    opts = instance._meta
    sets: list[tuple[list[str], models.Q | None]] = []
    for f in opts.concrete_fields:
        if f.unique and not f.primary_key:
            sets.append(([f.name], None))
    for together in opts.unique_together:
        sets.append((list(together), None))
    for constraint in opts.constraints:
        if isinstance(constraint, models.UniqueConstraint) and constraint.fields:
            sets.append((list(constraint.fields), constraint.condition))
    lookups = []
    for names, condition in sets:
        values = {}
        for name in names:
            attname = getattr(opts.get_field(name), "attname", name)
            values[attname] = getattr(instance, attname)
        if any(v is None for v in values.values()):
            continue
        lookups.append((values, condition))
    return lookups


def unique_conflict(instance: models.Model, exc: IntegrityError) -> ConcurrentChange | None:
    """The conflict behind a unique violation raised by saving ``instance``, or None when the
    error is something else (then the caller re-raises it: a bug, not a race).

    Called after the savepoint rolled back: the row that won is committed and visible.
    """
    if not _is_unique_violation(exc):
        return None
    manager = instance._meta.model._default_manager
    for values, condition in _unique_lookups(instance):
        rows = manager.filter(**values)
        if condition is not None:
            rows = rows.filter(condition)
        if instance.pk is not None:
            rows = rows.exclude(pk=instance.pk)
        winner = rows.first()
        if winner is not None:
            return ConcurrentChange.of(winner)
    return None


# --- forms ---------------------------------------------------------------------------------


def version_field_add(form: forms.BaseForm, instance: models.Model | None) -> None:
    """Give ``form`` a hidden field with the version of the record it was loaded from."""
    form.fields[VERSION_FIELD] = forms.CharField(
        widget=forms.HiddenInput, required=False, initial=version_of(instance)
    )


def form_is_stale(form: forms.BaseForm) -> bool:
    """Whether a bound form was loaded from another version of its record than the one there
    is now (what ``version_field_add`` found when the post came in)."""
    field = form.fields.get(VERSION_FIELD)
    if field is None or not form.is_bound:
        return False
    posted = form.data.get(form.add_prefix(VERSION_FIELD))
    return posted is not None and posted != field.initial


def form_version(form: forms.BaseForm) -> str | None:
    """The version a valid form was loaded with, for the service's ``version_check``.

    None, no check, when the post carries no version at all (a client that never loaded the
    form, such as a script); the pages always post it, empty when there was no record yet."""
    if VERSION_FIELD not in form.fields or form.add_prefix(VERSION_FIELD) not in form.data:
        return None
    return form.cleaned_data.get(VERSION_FIELD) or ""


def form_conflict_show(form: forms.BaseForm, conflict: ConcurrentChange) -> None:
    """Show the conflict on the bound form: the message on top, what the other person saved
    next to it (``form.conflict``), and the current version, so that saving again is a choice
    made after seeing their values."""
    form.add_error(None, conflict.message_text())
    form.conflict = conflict  # type: ignore[attr-defined]
    if VERSION_FIELD in form.fields and form.is_bound and not conflict.final:
        key = form.add_prefix(VERSION_FIELD)
        # A QueryDict keeps the multi-valued entries (ticked boxes) as the user posted them.
        if isinstance(form.data, QueryDict):
            data = form.data.copy()
            data[key] = conflict.version
            form.data = data
        else:
            form.data = {**form.data, key: conflict.version}
