"""The queries panel of the participant page."""

from __future__ import annotations

from trial import access
from trial.models import Participant
from trial.monitoring import items as catalogue
from trial.monitoring import selectors


def queries_context(request, participant: Participant) -> dict:
    if not access.can(request.user, "trial:query_list", method="GET"):
        return {}
    queries = list(selectors.participant_queries(participant))
    may_raise = access.can(request.user, "trial:query_raise")
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


def casebook_context(request, participant: Participant) -> dict:
    if not access.can(request.user, "trial:casebook", method="GET"):
        return {}
    return {"participant": participant}
