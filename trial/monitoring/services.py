"""Writes of the query workflow: raise, answer, close, re-open.

States: open -> answered (site staff explain, or correct the value) -> closed (monitor or data
manager); a closed or answered query may be re-opened with a message. Who may do which step is
asked of ``trial.access`` by the views; here each step checks that the query is in a state that
allows it, under a row lock, so two people acting at once get a clear refusal, not a second
transition.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from trial.audit import audited_save
from trial.concurrency import person
from trial.monitoring.items import Item
from trial.monitoring.models import Query, QueryMessage, QueryMessageKind, QueryState

# The steps and the states each may start from.
STEPS: dict[str, tuple[frozenset[str], str, str]] = {
    # step: (allowed from, state after, message kind)
    "answer": (
        frozenset({QueryState.OPEN, QueryState.ANSWERED}),
        QueryState.ANSWERED,
        QueryMessageKind.ANSWERED,
    ),
    "close": (
        frozenset({QueryState.OPEN, QueryState.ANSWERED}),
        QueryState.CLOSED,
        QueryMessageKind.CLOSED,
    ),
    "reopen": (
        frozenset({QueryState.ANSWERED, QueryState.CLOSED}),
        QueryState.OPEN,
        QueryMessageKind.REOPENED,
    ),
}
MIN_TEXT = 5


def _text(text: str, *, required: bool) -> str:
    text = (text or "").strip()
    if required and len(text) < MIN_TEXT:
        raise ValidationError(
            {"text": _("Write at least %(n)d characters.") % {"n": MIN_TEXT}},
            code="text_too_short",
        )
    return text


@transaction.atomic
def query_raise(*, participant, item: Item, text: str, user, rule_code: str = "") -> Query:
    """Open a query on ``item`` of ``participant`` (found through trial.monitoring.items)."""
    text = _text(text, required=True)
    now = timezone.now()
    query = audited_save(
        Query(
            participant=participant,
            target_model=item.source.model_label,
            target_id=item.target_id,
            field_name=item.field_name,
            visit_code=item.visit_code,
            rule_code=rule_code,
            value_when_raised=item.value,
            value_seen=item.value,
            raised_by=user,
            raised_at=now,
            state_changed_at=now,
        ),
        user=user,
    )
    QueryMessage.objects.create(
        query=query, kind=QueryMessageKind.RAISED, text=text, author=user, written_at=now
    )
    return query


@transaction.atomic
def query_step(*, query: Query, step: str, user, text: str = "") -> Query:
    """Move ``query`` one step (``answer``, ``close`` or ``reopen``) with a message.

    An answer and a re-opening need words; closing may go without. A step the query's state
    no longer allows (another person closed it a moment ago) is refused with who did what.
    """
    if step not in STEPS:
        raise ValidationError(_("Unknown step."))
    allowed_from, state_after, kind = STEPS[step]
    text = _text(text, required=step != "close")
    query = Query.objects.select_for_update().get(pk=query.pk)
    if query.state not in allowed_from:
        last = query.messages.select_related("author").order_by("-written_at", "-id").first()
        who = person(last.author) if last is not None else ""
        raise ValidationError(
            _("This query is %(state)s now (%(who)s); reload it to see its thread.")
            % {"state": query.get_state_display().lower(), "who": who or _("the system")},
            code="query_state_changed",
        )
    now = timezone.now()
    query.state = state_after
    query.state_changed_at = now
    query.closed_by = user if state_after == QueryState.CLOSED else None
    audited_save(
        query,
        user=user,
        reason=f"query {step}" + (f": {text}" if text else ""),
        update_fields=["state", "state_changed_at", "closed_by"],
        validate=False,
    )
    QueryMessage.objects.create(query=query, kind=kind, text=text, author=user, written_at=now)
    return query


def queries_note_correction(instance) -> int:
    """Note on each query not closed about a field of ``instance`` that its value changed: who
    corrected it, from what to what, and the reason given, in the transaction of the save (the
    correction and its note commit together). A query a person had raised is answered by it;
    the monitor still closes it. Returns the number of threads noted."""
    from trial.monitoring import items as catalogue

    queries = list(
        Query.objects.select_for_update()
        .filter(target_model=instance._meta.label, target_id=str(instance.pk))
        .exclude(state=QueryState.CLOSED)
        .select_related("participant")
    )
    user = getattr(instance, "_history_user", None)
    reason = (getattr(instance, "_change_reason", "") or "").strip()
    noted = 0
    for query in queries:
        item = catalogue.item_get(query.participant, query.item_key)
        now_value = item.value if item is not None else "—"
        if now_value == query.value_seen:
            continue
        text = f"{query.value_seen or '—'} → {now_value}" + (f"\n{reason}" if reason else "")
        now = timezone.now()
        query.value_seen = now_value
        if user is not None and query.state == QueryState.OPEN:
            query.state = QueryState.ANSWERED
            query.state_changed_at = now
        audited_save(
            query,
            user=user,
            reason="value corrected" + (f": {reason}" if reason else ""),
            update_fields=["value_seen", "state", "state_changed_at"],
            validate=False,
        )
        QueryMessage.objects.create(
            query=query, kind=QueryMessageKind.CORRECTED, text=text, author=user, written_at=now
        )
        noted += 1
    return noted
