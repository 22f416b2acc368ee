"""Evaluating the edit checks of ``trial.protocol.edit_checks`` and keeping their queries true.

``edit_checks_run(participant)`` evaluates every check over the participant's data; a failing
one opens a query on its item unless one for the same check and item is still open (the
database's partial unique constraint holds that too) or a person closed one on the same value
(the monitor accepted it); a query a check opened whose item now passes, and that the site has
not answered, is closed with a note (an answered one waits for the monitor's review).
It runs after a transaction that saved a participant's data commits (``trial.audit`` tells
the registry) and every night for everyone (``edit_checks_nightly``).
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.apps import apps
from django.db import IntegrityError, transaction
from django.utils import timezone

from trial.audit import audited_save
from trial.concurrency import ConcurrentChange
from trial.models import Answer, Consent, Participant
from trial.monitoring import items as catalogue
from trial.monitoring.models import Query, QueryMessage, QueryMessageKind, QueryState
from trial.protocol.edit_checks import EDIT_CHECKS, EDIT_CHECKS_BY_CODE, EditCheck
from trial.protocol.visits import visit_codes
from trial.screening import derivation
from trial.treatment.services import randomised_on

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Finding:
    check: EditCheck
    target_id: str
    field_name: str
    detail: str  # the values behind it, in English, kept with the query

    @property
    def key(self) -> tuple[str, str]:
        return (self.check.code, f"{self.check.model}:{self.target_id}:{self.field_name}")


def _rows(check: EditCheck, participant: Participant):
    source = catalogue.source_for(check.model)
    assert source is not None, f"edit check {check.code} names a model outside the catalogue"
    return source.model._default_manager.filter(**{source.participant_path: participant})


def _number(value: Any) -> Decimal | None:
    try:
        return None if value is None or value == "" else Decimal(str(value))
    except InvalidOperation:
        return None


def _range(check: EditCheck, participant: Participant) -> Iterator[Finding]:
    low, high = Decimal(str(check.params["low"])), Decimal(str(check.params["high"]))
    for row in _rows(check, participant):
        value = _number(getattr(row, check.item))
        if value is not None and not low <= value <= high:
            yield Finding(check, str(row.pk), check.item, f"{value} outside {low}-{high}")


def _required_when(check: EditCheck, participant: Participant) -> Iterator[Finding]:
    when_field, when_value = check.params["when_field"], check.params["when_value"]
    for row in _rows(check, participant):
        value = getattr(row, check.item)
        if getattr(row, when_field) == when_value and value in (None, "", [], {}):
            yield Finding(check, str(row.pk), check.item, f"{when_field}={when_value}, empty")


def _anchor(name: str, participant: Participant, row) -> dt.date | None:
    if name == "randomisation":
        return randomised_on(participant)
    if name == "consent":
        consent = Consent.objects.filter(participant=participant).first()
        return consent.consent_date if consent else None
    if name == "last_reached_call":
        call = (
            apps.get_model("followup.CallLog")
            .objects.filter(participant=participant, outcome="reached")
            .order_by("-called_at")
            .first()
        )
        return timezone.localdate(call.called_at) if call else None
    return getattr(row, name, None)


def _date_order(check: EditCheck, participant: Participant) -> Iterator[Finding]:
    after = check.params["after"]
    for row in _rows(check, participant):
        value = getattr(row, check.item)
        anchor = _anchor(after, participant, row)
        if value is not None and anchor is not None and value < anchor:
            yield Finding(check, str(row.pk), check.item, f"{value} before {after} {anchor}")


def _responses(participant: Participant, instrument: str):
    return (
        apps.get_model("questionnaires.QuestionnaireResponse")
        .objects.filter(participant=participant, instrument_code=instrument, status="submitted")
        .order_by("pk")
    )


def _odi_missing(check: EditCheck, participant: Participant) -> Iterator[Finding]:
    # The scoring rule decides how many sections may be missing: a submitted ODI without a
    # score is one that has more.
    for response in _responses(participant, "odi"):
        if (response.scores or {}).get("odi_score") in (None, ""):
            missing = sum(1 for v in (response.answers or {}).values() if v is None)
            yield Finding(check, str(response.pk), "answers", f"{missing} sections empty")


def _vas_jump(check: EditCheck, participant: Participant) -> Iterator[Finding]:
    threshold = Decimal(str(check.params["threshold"]))
    order = {code: i for i, code in enumerate(visit_codes())}
    responses = sorted(
        (r for r in _responses(participant, "vas") if r.visit_code in order),
        key=lambda r: order[r.visit_code],
    )
    for before, after in itertools.pairwise(responses):
        for item in ("vas_back", "vas_leg"):
            old = _number((before.answers or {}).get(item))
            new = _number((after.answers or {}).get(item))
            if old is not None and new is not None and abs(new - old) >= threshold:
                yield Finding(
                    check,
                    str(after.pk),
                    f"answers.{item}",
                    f"{before.visit_code} {old} -> {after.visit_code} {new}",
                )


def _flagged(check: EditCheck, participant: Participant) -> Iterator[Finding]:
    flag = check.params["flag"]
    for row in _rows(check, participant).filter(**{flag: True}):
        yield Finding(check, str(row.pk), check.item, f"{flag}: {getattr(row, check.item)}")


def _derived_disagrees(check: EditCheck, participant: Participant) -> Iterator[Finding]:
    # The derivations are trial.screening.derivation's, measured on the assessment's date as
    # at entry; a criterion the data cannot answer yet (UNKNOWN) is not a disagreement.
    assessments = list(_rows(check, participant))
    if not assessments:
        return
    facts = derivation.facts_for(participant)
    for assessment in assessments:
        for code, given in sorted((getattr(assessment, check.item) or {}).items()):
            derived = derivation.derive(code, facts, assessment.assessed_on)
            if derived is None or derived.answer == Answer.UNKNOWN or given == derived.answer:
                continue
            yield Finding(
                check,
                str(assessment.pk),
                f"{check.item}.{code}",
                f"{code}: ticked {given}, the records give {derived.answer}",
            )


EVALUATORS = {
    "range": _range,
    "required_when": _required_when,
    "date_order": _date_order,
    "odi_missing": _odi_missing,
    "vas_jump": _vas_jump,
    "flagged": _flagged,
    "derived_disagrees": _derived_disagrees,
}


def findings_for(participant: Participant, checks: Iterable[EditCheck] = EDIT_CHECKS):
    for check in checks:
        yield from EVALUATORS[check.kind](check, participant)


@transaction.atomic
def edit_checks_run(participant: Participant) -> dict[str, int]:
    """Open a query for each new failure and close those whose item passes now."""
    from trial.monitoring import services

    failing = {f.key: f for f in findings_for(participant)}
    mine = Query.objects.select_for_update().filter(participant=participant).exclude(rule_code="")
    open_keys: dict[tuple[str, str], Query] = {}
    accepted: set[tuple[str, str]] = set()
    for query in mine:
        key = (query.rule_code, query.item_key)
        if query.state != QueryState.CLOSED:
            open_keys[key] = query
        elif query.closed_by_id is not None:
            accepted.add(key)
    opened = closed = 0
    for key, finding in failing.items():
        if key in open_keys or key in accepted:
            continue
        item = catalogue.item_get(participant, key[1])
        if item is None:
            continue
        try:
            with transaction.atomic():
                services.query_raise(
                    participant=participant,
                    item=item,
                    text=finding.detail,
                    user=None,
                    rule_code=finding.check.code,
                )
        except (IntegrityError, ConcurrentChange):  # a concurrent run opened it just now
            continue
        opened += 1
    for key, query in open_keys.items():
        if key in failing or query.rule_code not in EDIT_CHECKS_BY_CODE:
            continue
        if query.state == QueryState.ANSWERED:
            # The site answered it (a correction linked to the query, or an explanation): the
            # monitor or data manager reviews the answer and closes it, as for any query.
            continue
        item = catalogue.item_get(participant, query.item_key)
        now = timezone.now()
        query.state = QueryState.CLOSED
        query.state_changed_at = now
        audited_save(
            query,
            user=None,
            reason=f"edit check {query.rule_code} passes",
            update_fields=["state", "state_changed_at"],
            validate=False,
        )
        QueryMessage.objects.create(
            query=query,
            kind=QueryMessageKind.CLOSED,
            text=f"Resolved: the value is now {item.value if item else 'removed'}.",
            author=None,
            written_at=now,
        )
        closed += 1
    return {"opened": opened, "closed": closed}


def edit_checks_run_all() -> dict[str, int]:
    """Every participant's checks (the nightly job); one participant's failure is logged and
    the others still run."""
    total = {"participants": 0, "opened": 0, "closed": 0}
    from trial.monitoring.locks import unlocked_q

    # A locked participant's queries stay as the lock found them.
    for participant in Participant.objects.filter(unlocked_q()).order_by("pk").iterator():
        try:
            result = edit_checks_run(participant)
        except Exception:
            logger.exception("edit checks failed for participant %s", participant.pk)
            continue
        total["participants"] += 1
        total["opened"] += result["opened"]
        total["closed"] += result["closed"]
    return total


def participant_id_of(instance, path: str) -> int | None:
    """The id of the participant whose data ``instance`` holds, by the catalogue's path."""
    *hops, last = path.split("__")
    target = instance
    for hop in hops:
        target = getattr(target, hop, None)
        if target is None:
            return None
    return getattr(target, f"{last}_id", None)


def after_save(instance) -> None:
    """Note a corrected value on the queries about it (now, in the save's transaction), and
    queue the edit checks of the participant whose item ``instance`` holds, to run once
    after the transaction commits (however many rows of theirs it saves); nothing when the
    transaction is rolled back. A failure is logged, never shown to the person who saved."""
    from trial.monitoring.services import queries_note_correction

    source = catalogue.source_for(instance._meta.label)
    if source is None:
        return
    queries_note_correction(instance)
    _queue_checks(participant_id_of(instance, source.participant_path))


def before_delete(instance) -> None:
    """A data-deleted hook: the participant's edit checks run again once the deletion commits
    (a query about the deleted value closes by itself if nobody answered it)."""
    source = catalogue.source_for(instance._meta.label)
    if source is not None:
        _queue_checks(participant_id_of(instance, source.participant_path))


def _queue_checks(participant_id: int | None) -> None:
    """Run the edit checks of the participant once after the transaction commits, however
    many of their rows it writes."""
    if participant_id is None:
        return
    connection = transaction.get_connection()
    if any(
        getattr(func, "edit_checks_for", None) == participant_id
        for _sids, func, _robust in connection.run_on_commit
    ):
        return

    def run() -> None:
        participant = Participant.objects.filter(pk=participant_id).first()
        if participant is not None:
            edit_checks_run(participant)

    run.edit_checks_for = participant_id  # type: ignore[attr-defined]
    transaction.on_commit(run, robust=True)
