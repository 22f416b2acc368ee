"""The audit trail written as sentences: who did what to which record, in words.

``trial.audit`` reads the trail and masks what must stay hidden; this module only writes it
out for people: field labels, choice labels, a foreign key as the person's or record's name
(joined into the trail's own queries, so no query per row), JSON
as "item: value" lists, dates in the reader's format, the participant named when they saved
through their personal link or the clinic tablet, and a questionnaire's autosaves folded into
one entry per submission. The stored trail and its export are unchanged.

Masked values ("•••", from ``audit_entries`` and ``mask_identity_changes``) stay masked: a
value is only ever written from the change as the reader was allowed to see it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.utils import dateformat, formats, timezone
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from trial.audit import AuditEntry
from trial.registry import AuditStory, registry

MASK = "•••"
EMPTY = "—"
# The field that names a record to a reader, in order of preference; a record without one is
# named by its kind and number.
NATURAL_LABELS = ("trial_number", "serial", "username", "code", "name")


@dataclass
class AuditLine:
    """One entry of the trail as the page shows it."""

    when: dt.datetime
    who: str
    subject: str
    participant_id: int | None
    trial_number: str
    action: str  # created, changed, deleted, or answered (folded autosaves)
    sentences: list[SafeString]
    values: list[tuple[str, str]]  # what a creation recorded: (label, value)
    reason: str
    folded: list[AuditLine] = field(default_factory=list)


def person_name(user) -> str:
    return user.get_full_name() or user.username


def audit_lines(entries: list[AuditEntry]) -> list[AuditLine]:
    """The entries, newest first, as lines of sentences (autosaves folded)."""
    lines = [_line(entry) for entry in entries]
    return _fold(entries, lines)


# --- values -------------------------------------------------------------------------------


def _is_foreign_key(f) -> bool:
    return bool(getattr(f, "many_to_one", False) and getattr(f, "related_model", None))


def _is_raw(value) -> bool:
    return value is not None and value not in (MASK, EMPTY, "")


def _foreign_label(f, source, value) -> str:
    """The name of the record a foreign key points at, read from the history row the value
    came from (``audit_entries`` joins it in), never with a query of its own."""
    kind = f"{capfirst(f.related_model._meta.verbose_name)} #{value}"
    if source is None or not f.is_cached(source):
        return kind
    target = getattr(source, f.name)
    if target is None:  # deleted since
        return kind
    if isinstance(target, get_user_model()):
        return person_name(target)
    names = {g.name for g in target._meta.concrete_fields}
    natural = next((name for name in NATURAL_LABELS if name in names), None)
    return str(getattr(target, natural)) if natural else kind


def _plain(value) -> str:
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, dt.datetime):
        return formats.date_format(timezone.localtime(value), "SHORT_DATETIME_FORMAT")
    if isinstance(value, dt.date):
        return formats.date_format(value, "SHORT_DATE_FORMAT")
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_plain(v)}" for k, v in value.items()) or EMPTY
    if isinstance(value, list | tuple):
        return ", ".join(_plain(v) for v in value) or EMPTY
    return str(value)


def _text(f, value, source, entry: AuditEntry, story: AuditStory | None) -> str:
    """``value`` of field ``f`` in words; ``source`` is the history row it was read from."""
    if not _is_raw(value):
        return value if value in (MASK, EMPTY) else EMPTY
    if f is not None and _is_foreign_key(f):
        return _foreign_label(f, source, value)
    if (
        story is not None
        and f is not None
        and f.name in story.values
        and isinstance(value, dict | list)
    ):
        pairs = story.values[f.name](value, entry.row)
        return "; ".join(f"{label}: {text}" for label, text in pairs) or EMPTY
    return _plain(value)


def _only_differences(old, new):
    """Of two dicts (answers, scores), the items that differ, so a change reads as the
    answer given, not the whole questionnaire again."""
    if not (isinstance(old, dict) and isinstance(new, dict)):
        return old, new
    keys = [k for k in {**old, **new} if old.get(k) != new.get(k)]
    return ({k: old[k] for k in keys if k in old} or EMPTY), (
        {k: new[k] for k in keys if k in new} or EMPTY
    )


# --- sentences ----------------------------------------------------------------------------


def _sentence(template: str, **params) -> SafeString:
    """A translated sentence with its values escaped (the template is ours, values are not)."""
    escaped = {k: v if isinstance(v, int) else conditional_escape(v) for k, v in params.items()}
    return mark_safe(capfirst(template % escaped))  # noqa: S308


def _value(text: str, css: str) -> SafeString:
    return format_html('<span class="{}">{}</span>', css, text)


def _who(entry: AuditEntry, story: AuditStory | None) -> str:
    if entry.user is not None:
        return person_name(entry.user)
    if story is not None and story.actor is not None and entry.row is not None:
        actor = story.actor(entry.row)
        if actor:
            return actor
    return _("the system")


def _subject(entry: AuditEntry, story: AuditStory | None) -> str:
    if story is not None and story.subject is not None and entry.row is not None:
        return story.subject(entry.row)
    natural = next((n for n in NATURAL_LABELS if hasattr(entry.row, n)), None)
    if natural is not None and getattr(entry.row, natural):
        return f"{capfirst(entry.model_label)} {getattr(entry.row, natural)}"
    return f"{capfirst(entry.model_label)} #{entry.object_id}"


def _line(entry: AuditEntry) -> AuditLine:
    story = registry.audit_stories.get(entry.model)
    who = _who(entry, story)
    subject = _subject(entry, story)
    sentences: list[SafeString] = []
    values: list[tuple[str, str]] = []
    pairs = list(zip(entry.fields, entry.changes, strict=False))
    # A list of changes without their fields (an older caller): labels and values as given.
    pairs += [(None, change) for change in entry.changes[len(entry.fields) :]]
    if entry.action == "created":
        sentences.append(_sentence(_("%(who)s recorded %(subject)s."), who=who, subject=subject))
        values = [(name, _text(f, new, entry.row, entry, story)) for f, (name, _old, new) in pairs]
    elif entry.action == "deleted":
        sentences.append(_sentence(_("%(who)s deleted %(subject)s."), who=who, subject=subject))
    elif not pairs:
        sentences.append(
            _sentence(
                _("%(who)s saved %(subject)s without changing a value."), who=who, subject=subject
            )
        )
    for f, (name, old, new) in pairs if entry.action == "changed" else []:
        old, new = _only_differences(old, new)
        old_text = _text(f, old, entry.previous, entry, story)
        new_text = _text(f, new, entry.row, entry, story)
        if old_text == EMPTY:
            template = _("%(who)s set %(field)s to %(new)s.")
        elif new_text == EMPTY:
            template = _("%(who)s cleared %(field)s (was %(old)s).")
        else:
            template = _("%(who)s changed %(field)s from %(old)s to %(new)s.")
        sentences.append(
            _sentence(
                template,
                who=who,
                field=name,
                old=_value(old_text, "change-old"),
                new=_value(new_text, "change-new"),
            )
        )
    return AuditLine(
        when=entry.when,
        who=who,
        subject=subject,
        participant_id=entry.participant_id,
        trial_number=entry.trial_number,
        action=entry.action,
        sentences=sentences,
        values=values,
        reason=entry.reason,
    )


# --- folding autosaves --------------------------------------------------------------------


def _foldable(entry: AuditEntry, story: AuditStory | None) -> bool:
    if story is None or not story.autosave_reasons:
        return False
    return (
        entry.action == "created"
        or entry.reason in story.autosave_reasons
        or entry.reason in story.submit_reasons
    )


def _fold(entries: list[AuditEntry], lines: list[AuditLine]) -> list[AuditLine]:
    """Autosaves of one record by one person folded into one line, where its newest save is;
    a group of one stays the line it was."""
    out: list[AuditLine | tuple] = []
    groups: dict[tuple, list[tuple[AuditEntry, AuditLine]]] = {}
    for entry, line in zip(entries, lines, strict=True):
        story = registry.audit_stories.get(entry.model)
        if not _foldable(entry, story):
            out.append(line)
            continue
        key = (entry.model, entry.object_id, line.who)
        if key not in groups:
            groups[key] = []
            out.append(key)
        groups[key].append((entry, line))
    return [item if isinstance(item, AuditLine) else _folded_line(groups[item]) for item in out]


def _clock(when: dt.datetime, day: dt.date) -> str:
    if when.date() == day:
        return dateformat.format(when, "H:i")
    return formats.date_format(when, "SHORT_DATETIME_FORMAT")


def _folded_line(members: list[tuple[AuditEntry, AuditLine]]) -> AuditLine:
    """Newest first: the submission (when there is one), then the autosaves before it."""
    if len(members) == 1:
        return members[0][1]
    newest_entry, newest = members[0]
    story = registry.audit_stories[newest_entry.model]
    submitted = newest_entry.reason in story.submit_reasons
    autosaves = [line for _entry, line in (members[1:] if submitted else members)]
    day = newest.when.date()
    params = {
        "who": newest.who,
        "subject": newest.subject,
        "n": len(autosaves),
        "start": _clock(autosaves[-1].when, day),
        "end": _clock(autosaves[0].when, day),
        "submitted": _clock(newest.when, day),
    }
    if submitted:
        template = ngettext(
            "%(who)s answered %(subject)s (%(n)d autosave, %(start)s–%(end)s), "
            "submitted %(submitted)s.",
            "%(who)s answered %(subject)s (%(n)d autosaves, %(start)s–%(end)s), "
            "submitted %(submitted)s.",
            len(autosaves),
        )
    else:
        template = ngettext(
            "%(who)s answered %(subject)s (%(n)d autosave, %(start)s–%(end)s), not submitted yet.",
            "%(who)s answered %(subject)s (%(n)d autosaves, %(start)s–%(end)s), not submitted yet.",
            len(autosaves),
        )
    return AuditLine(
        when=newest.when,
        who=newest.who,
        subject=newest.subject,
        participant_id=newest.participant_id,
        trial_number=newest.trial_number,
        action="answered",
        sentences=[_sentence(template, **params)],
        values=[],
        reason="",
        folded=[line for _entry, line in members],
    )
