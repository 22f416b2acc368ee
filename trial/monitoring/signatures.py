"""Reads of the investigator's signatures: what a signature covers (its manifest), whether a
casebook stands signed, and the lists, always through the participants the user may see.

What belongs to a participant's casebook is the catalogue of recorded items
(``trial.monitoring.items.SOURCES``): the forms a query may point at are the forms a signature
covers, with the same bookkeeping left out; a visit's scope is the rows of the forms that
belong to visits (``visit_path``) with that visit code. Each record is bound by the id of its
latest history row and a hash of its recorded values, so a change is detectable whatever path
it took (a save, a bulk update, a deletion): ``casebook_signed`` compares the hashes again.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import F, Max, QuerySet
from simple_history.utils import get_history_model_for_model

from trial import access
from trial.monitoring import items as catalogue
from trial.monitoring.models import Query
from trial.monitoring.selectors import OPEN_STATES
from trial.monitoring.signature_models import Signature, SignatureState


def values_hash(row) -> str:
    """A hash of the values a person recorded in ``row`` (as read from the database)."""
    text = json.dumps(catalogue.recorded_values(row), sort_keys=True, cls=DjangoJSONEncoder)
    return hashlib.sha256(text.encode()).hexdigest()


def manifest_hash(manifest: list[dict]) -> str:
    text = json.dumps(manifest, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _sources(visit_code: str) -> list[catalogue.Source]:
    return [s for s in catalogue.SOURCES if not visit_code or s.visit_path]


def manifest_build(participant, visit_code: str = "") -> list[dict]:
    """What a signature of ``participant``'s casebook (or of one visit) covers now: for each
    record, its model, id, latest history row and the hash of its values, form by form.
    Two queries per form, however many records."""
    return manifests_build([participant.pk], visit_code).get(participant.pk, [])


def manifests_build(participant_ids, visit_code: str = "") -> dict[int, list[dict]]:
    """``manifest_build`` for many participants at once, by participant id (none for a
    participant without records): still two queries per form."""
    manifests: dict[int, list[dict]] = {}
    for source in _sources(visit_code):
        model = source.model
        rows = model._default_manager.filter(
            **{f"{source.participant_path}__in": participant_ids}
        ).annotate(_signed_participant=F(source.participant_path))
        if visit_code:
            rows = rows.filter(**{source.visit_path: visit_code})
        found = list(rows.order_by("pk"))
        if not found:
            continue
        pk_name = model._meta.pk.attname
        history = get_history_model_for_model(model)
        latest = dict(
            history.objects.filter(**{f"{pk_name}__in": [r.pk for r in found]})
            .order_by()
            .values_list(pk_name)
            .annotate(latest=Max("history_id"))
        )
        for row in found:
            manifests.setdefault(row._signed_participant, []).append(
                {
                    "model": source.model_label,
                    "id": row.pk,
                    "history_id": latest.get(row.pk),
                    "hash": values_hash(row),
                }
            )
    return manifests


def _fingerprint(manifest: list[dict]) -> dict[tuple[str, Any], str]:
    return {(entry["model"], entry["id"]): entry["hash"] for entry in manifest}


def manifest_changes(signature: Signature) -> list[dict]:
    """The records of the signature's scope that differ from what was signed: changed, added
    or deleted since (a change by a bulk update or a deletion, which no save hook sees,
    included). Each: model, id, form label, and what happened."""
    now = manifest_build(signature.participant, signature.visit_code)
    return _differences(signature.manifest, now)


def _differences(signed_manifest: list[dict], now_manifest: list[dict]) -> list[dict]:
    """What differs between a signed manifest and the records now: the one comparison behind
    ``manifest_changes`` and ``casebooks_signed``."""
    signed, now = _fingerprint(signed_manifest), _fingerprint(now_manifest)
    changes = []
    for key in sorted(signed.keys() | now.keys(), key=lambda k: (k[0], str(k[1]))):
        if signed.get(key) == now.get(key):
            continue
        what = "added" if key not in signed else "deleted" if key not in now else "changed"
        changes.append(
            {"model": key[0], "id": key[1], "form_label": form_label(key[0]), "what": what}
        )
    return changes


def form_label(model_label: str) -> str:
    source = catalogue.source_for(model_label)
    return str(source.form_label) if source else model_label


def manifest_summary(manifest: list[dict]) -> list[tuple[str, int]]:
    """(form, number of records) of a manifest, in the catalogue's order of forms."""
    counts = Counter(entry["model"] for entry in manifest)
    return [
        (str(s.form_label), counts[s.model_label])
        for s in catalogue.SOURCES
        if counts[s.model_label]
    ]


# --- selectors ----------------------------------------------------------------------------


def signatures_for(user) -> QuerySet[Signature]:
    return Signature.objects.filter(participant__in=access.participants_for(user))


def signature_list(user, *, state: str = "") -> QuerySet[Signature]:
    """Standing signatures (superseded ones only when asked for), newest first, in a fixed
    number of SQL queries however many rows."""
    qs = signatures_for(user).select_related(
        "participant", "participant__site", "signer", "renewal_by"
    )
    qs = qs.filter(state=state) if state else qs.exclude(state=SignatureState.SUPERSEDED)
    return qs.order_by("-signed_at", "-id")


def participant_signatures(participant) -> QuerySet[Signature]:
    """Every signature of the participant, the standing ones first, newest first."""
    return (
        Signature.objects.filter(participant=participant)
        .select_related("signer", "renewal_by")
        .order_by("-signed_at", "-id")
    )


def standing_signature(participant, visit_code: str = "") -> Signature | None:
    return (
        Signature.objects.filter(participant=participant, visit_code=visit_code)
        .exclude(state=SignatureState.SUPERSEDED)
        .select_related("signer", "renewal_by")
        .first()
    )


def casebook_signed(participant) -> bool:
    """Whether the participant's whole casebook stands signed: a valid signature of it whose
    records are still the ones signed (for the conditions of locking the casebook)."""
    return participant.pk in casebooks_signed([participant.pk])


def casebooks_signed(participant_ids) -> set[int]:
    """Of these participants, those whose casebook stands signed, compared record by record
    as ``casebook_signed`` does: a fixed number of queries however many participants."""
    signed = dict(
        Signature.objects.filter(
            participant__in=participant_ids, visit_code="", state=SignatureState.VALID
        ).values_list("participant_id", "manifest")
    )
    now = manifests_build(list(signed))
    return {pid for pid, manifest in signed.items() if not _differences(manifest, now.get(pid, []))}


def renewals_waiting(user) -> int:
    """Signatures of the participants ``user`` sees that must be signed again."""
    return signatures_for(user).filter(state=SignatureState.NEEDS_RENEWAL).count()


def open_query_count(participant) -> int:
    return Query.objects.filter(participant=participant, state__in=OPEN_STATES).count()


@dataclass
class SignedRecord:
    form_label: str
    model: str
    record_id: Any
    history_id: int | None
    hash: str


@dataclass
class ManifestEntry:
    """One signature as the PDF casebook prints it, with the records it covers."""

    signature: Signature
    scope: str  # "" for the whole casebook, else the visit code
    records: list[SignedRecord] = field(default_factory=list)


def signature_manifest(participant) -> list[ManifestEntry]:
    """Every signature of the participant (newest first) with the records it covers: for the
    PDF casebook. One query, however many signatures and records."""
    entries = []
    for signature in participant_signatures(participant):
        records = [
            SignedRecord(
                form_label(item["model"]),
                item["model"],
                item["id"],
                item.get("history_id"),
                item["hash"],
            )
            for item in signature.manifest
        ]
        entries.append(ManifestEntry(signature, signature.visit_code, records))
    return entries
