"""The participant page's panels of monitoring: queries, and source-data verification."""

from __future__ import annotations

from trial import access
from trial.models import Participant
from trial.monitoring import items as catalogue
from trial.monitoring import sdv, selectors


def queries_context(request, participant: Participant) -> dict:
    if not access.can(request.user, "trial:query_list", method="GET"):
        return {}
    queries = list(selectors.participant_queries(participant))
    may_raise = access.can_change(request.user, "trial:query_raise", participant)
    if not queries and not may_raise:
        return {}
    rows = []
    for q in queries:
        source = catalogue.source_for(q.target_model)
        rows.append(
            {
                "query": q,
                "form_label": source.form_label if source else q.target_model,
                "item_label": catalogue.item_label(q.target_model, q.field_name),
            }
        )
    return {
        "participant": participant,
        "rows": rows,
        "open": sum(1 for q in queries if q.state != "closed"),
        "may_raise": may_raise,
    }


def sdv_context(request, participant: Participant) -> dict:
    """The participant's forms that need source-data verification, with their state; the
    monitor and data manager verify from here."""
    if not access.can(request.user, "sdv_read"):
        return {}
    instances = sdv.sdv_state_for(participant)
    return {
        "participant": participant,
        "instances": instances,
        "required": len(instances),
        "verified": sum(1 for i in instances if i.state == sdv.VERIFIED),
        "may_verify": access.can_change(request.user, "trial:sdv_mark", participant),
        "here": request.get_full_path() + "#sdv",
    }


def lock_context(request, participant: Participant) -> dict:
    """The lock panel: the participant's lock (or the trial's), and the data manager's button."""
    from trial.monitoring import locks

    lock = locks.participant_lock_active(participant)
    whole = locks.trial_lock_active()
    may_lock = access.can(request.user, "trial:participant_lock")
    if lock is None and whole is None and not may_lock:
        return {}
    return {"participant": participant, "lock": lock, "trial_lock": whole, "may_lock": may_lock}


def casebook_context(request, participant: Participant) -> dict:
    if not access.can(request.user, "trial:casebook", method="GET"):
        return {}
    return {"participant": participant}
