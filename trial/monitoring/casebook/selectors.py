"""What a casebook shows, read in a fixed number of SQL queries per participant.

The forms and their values come from the item catalogue (``trial.monitoring.items``), who
entered each record and every correction from the audit trail (``trial.audit``, written as
sentences by ``trial.audit_display``), the queries with their threads from
``trial.monitoring.selectors``, and the other apps' sections from the registry. Nothing here
writes; call it inside the casebook's language and time zone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Prefetch, QuerySet

from trial.audit import AuditEntry, audit_entries, mask_identity_changes
from trial.audit_display import AuditLine, audit_lines, person_name
from trial.models import Identity, Participant, Query, QueryMessage
from trial.monitoring import items as catalogue
from trial.monitoring.selectors import participant_queries
from trial.registry import CasebookSection, registry

# Every row of a participant's trail: a casebook is the whole record, never a page of it.
TRAIL_LIMIT = 1_000_000


@dataclass
class QueryBlock:
    query: Query
    item_label: str
    messages: list[QueryMessage]


@dataclass
class FormBlock:
    """One record of a form (a screening form, one adverse event, one questionnaire)."""

    title: str
    record_label: str
    items: list[catalogue.Item]
    entered_by: str = ""
    entered_at: Any = None
    corrections: list[AuditLine] = field(default_factory=list)
    queries: list[QueryBlock] = field(default_factory=list)


@dataclass
class CasebookData:
    participant: Participant
    identified: bool
    full_name: str = ""
    cpr: str = ""
    forms: list[FormBlock] = field(default_factory=list)
    # Queries on records that are not (or no longer) among the forms.
    other_queries: list[QueryBlock] = field(default_factory=list)
    sections: list[CasebookSection] = field(default_factory=list)
    # The appendix, oldest first.
    trail: list[AuditLine] = field(default_factory=list)


def _queries(participant: Participant) -> list[Query]:
    thread = QueryMessage.objects.select_related("author").order_by("written_at", "id")
    qs = participant_queries(participant).select_related("closed_by")
    return list(qs.prefetch_related(Prefetch("messages", queryset=thread)))


def _record_key(model_label: str, object_id: Any) -> tuple[str, str]:
    return (model_label, str(object_id))


def casebook_data(participant: Participant, *, identified: bool) -> CasebookData:
    """Everything the casebook of ``participant`` shows. ``identified``: the name and CPR
    number on the cover and identity changes in the trail (the caller asks trial.access)."""
    data = CasebookData(participant=participant, identified=identified)
    if identified:
        identity = Identity.objects.filter(participant=participant).first()
        if identity is not None:
            data.full_name, data.cpr = identity.full_name, identity.cpr
    entries: list[AuditEntry] = audit_entries(participant_id=participant.pk, limit=TRAIL_LIMIT)
    if not identified:
        entries = mask_identity_changes(entries)
    entries.reverse()  # oldest first
    created: dict[tuple[str, str], AuditEntry] = {}
    changes: dict[tuple[str, str], list[AuditEntry]] = {}
    for entry in entries:
        key = _record_key(entry.model, entry.object_id)
        if entry.action == "created":
            created.setdefault(key, entry)
        elif entry.action == "changed":
            changes.setdefault(key, []).append(entry)

    blocks: dict[tuple[str, str], FormBlock] = {}
    for item in catalogue.participant_items(participant):
        key = _record_key(item.source.model_label, item.target_id)
        block = blocks.get(key)
        if block is None:
            block = blocks[key] = FormBlock(item.form_label, item.record_label, [])
            first = created.get(key)
            if first is not None:
                block.entered_by = person_name(first.user) if first.user else ""
                block.entered_at = first.when
            # audit_lines writes newest first; a form reads its corrections in order.
            block.corrections = list(reversed(audit_lines(list(reversed(changes.get(key, []))))))
        block.items.append(item)
    data.forms = list(blocks.values())

    for query in _queries(participant):
        query_block = QueryBlock(
            query,
            catalogue.item_label(query.target_model, query.field_name),
            list(query.messages.all()),
        )
        target = blocks.get(_record_key(query.target_model, query.target_id))
        (target.queries if target is not None else data.other_queries).append(query_block)

    for provider in registry.casebook_sections:
        section = provider.section(participant)
        if section is not None:
            data.sections.append(section)
    data.trail = list(reversed(audit_lines(list(reversed(entries)))))
    return data


def archive_participants(site) -> QuerySet[Participant]:
    """The participants of a site's archive, in trial-number order."""
    return Participant.objects.filter(site=site).select_related("site").order_by("sequence", "pk")
