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
from trial.monitoring.models import (
    Query,
    QueryMessage,
    QueryMessageKind,
    QueryState,
    SourceVerification,
)

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


# --- source-data verification ------------------------------------------------------------


@transaction.atomic
def sdv_mark(
    *, participant, form: str, visit_code: str = "", user, record_id: str = ""
) -> SourceVerification:
    """The monitor (or data manager) has verified ``form`` of ``participant`` against the
    source. Refused, with a reason in words, for a form with no data yet, one already
    verified, and for anyone but those the access matrix lets verify."""
    from trial import access
    from trial.monitoring import sdv

    if not access.can(user, "trial:sdv_mark", participant):
        raise ValidationError(_("Only the monitor and the data manager verify source data."))
    sdv_form = sdv.SDV_FORMS_BY_CODE.get(form)
    row = sdv.sdv_instance_get(participant, form=form, visit_code=visit_code, record_id=record_id)
    if sdv_form is None or row is None:
        raise ValidationError(
            _("%(form)s of %(trial_number)s has no data recorded yet: nothing to verify.")
            % {
                "form": sdv_form.label if sdv_form else form,
                "trial_number": participant.trial_number,
            },
            code="sdv_no_data",
        )
    standing = (
        SourceVerification.objects.select_for_update()
        .filter(
            participant=participant,
            form=form,
            visit_code=visit_code,
            target_id=str(row.pk),
            cleared_at__isnull=True,
        )
        .select_related("verified_by")
        .first()
    )
    if standing is not None:
        raise ValidationError(
            _("%(form)s of %(trial_number)s is already verified (%(who)s).")
            % {
                "form": sdv_form.label,
                "trial_number": participant.trial_number,
                "who": person(standing.verified_by),
            },
            code="sdv_already_verified",
        )
    return audited_save(
        SourceVerification(
            participant=participant,
            form=form,
            visit_code=visit_code,
            target_model=row._meta.label,
            target_id=str(row.pk),
            verified_by=user,
            verified_at=timezone.now(),
        ),
        user=user,
    )


@transaction.atomic
def sdv_clear(
    *, verification: SourceVerification, user, reason: str, changed=None
) -> SourceVerification:
    """Clear a standing verification, saying why: the change to ``changed`` (the row whose
    save cleared it, by ``user``) or, without one, the reason alone. The row is kept."""
    verification = SourceVerification.objects.select_for_update().get(pk=verification.pk)
    if verification.cleared_at is not None:
        return verification
    verification.cleared_at = timezone.now()
    verification.cleared_by = user
    if changed is not None:
        verification.cleared_model = changed._meta.label
        verification.cleared_object_id = str(changed.pk)
    verification.cleared_reason = reason
    audited_save(
        verification,
        user=user,
        reason="source-data verification cleared: " + (reason or "the record changed"),
        update_fields=[
            "cleared_at",
            "cleared_by",
            "cleared_model",
            "cleared_object_id",
            "cleared_reason",
        ],
        validate=False,
    )
    return verification


def _standing_verifications(instance) -> list[SourceVerification]:
    """The verifications in force of the row ``instance`` (none for a form not verified)."""
    from trial.monitoring import sdv

    if instance._meta.label not in sdv.SDV_MODEL_LABELS or instance.pk is None:
        return []
    return list(
        SourceVerification.objects.filter(
            target_model=instance._meta.label,
            target_id=str(instance.pk),
            cleared_at__isnull=True,
        )
    )


def sdv_clear_on_delete(instance) -> int:
    """The data-deleted hook: deleting a verified row clears its verification (the row of the
    verification is kept, naming the deleted record and the reason). Returns the number
    cleared."""
    standing = _standing_verifications(instance)
    user = getattr(instance, "_history_user", None)
    reason = (getattr(instance, "_change_reason", "") or "").strip()
    for verification in standing:
        sdv_clear(
            verification=verification,
            user=user,
            reason=_("record deleted: %(reason)s") % {"reason": reason},
            changed=instance,
        )
    return len(standing)


def _data_changed(instance) -> bool:
    """Did the save of ``instance`` that was just recorded change a value of the form (not
    the bookkeeping the system writes, as the coordinator's acknowledgement of an SAE)?"""
    from trial.monitoring import items as catalogue

    history = getattr(instance, "history", None)
    if history is None:
        return True
    versions = list(history.order_by("-history_date", "-history_id")[:2])
    if len(versions) < 2:
        return True  # no earlier version to compare with: count it as a change
    latest, previous = versions
    for field in instance._meta.concrete_fields:
        if catalogue.is_bookkeeping(field.name) or not hasattr(latest, field.attname):
            continue
        if getattr(latest, field.attname) != getattr(previous, field.attname):
            return True
    return False


def sdv_clear_on_change(instance) -> int:
    """The data-saved hook (``trial.audit`` calls it after every audited save, in the save's
    transaction): a change to a row that stands verified clears its verification, with who
    changed it and the reason they gave. Returns the number cleared."""
    standing = _standing_verifications(instance)
    if not standing or not _data_changed(instance):
        return 0
    user = getattr(instance, "_history_user", None)
    reason = (getattr(instance, "_change_reason", "") or "").strip()
    for verification in standing:
        sdv_clear(verification=verification, user=user, reason=reason, changed=instance)
    return len(standing)
