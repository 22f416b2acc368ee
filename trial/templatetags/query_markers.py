"""``{% query_marker participant record "field" %}``: the marker beside a shown value that a
query not closed is about (its state, with a link to its thread), or nothing.

``record`` is the model instance the value belongs to, ``field`` its field (``answers.vas_back``
for one answer; a trailing ``*`` for any field it begins: ``answers.*``, ``leak_*``). The
participant's queried items are read once per request
(``trial.monitoring.selectors.queried_items``), however many markers a page has; users who may
not read queries see none.
"""

from __future__ import annotations

from django import template

from trial import access
from trial.monitoring.selectors import queried_items

register = template.Library()

_MEMO = "_queried_items"


def _items_for(request, participant) -> dict:
    if request is None or participant is None:
        return {}
    memo = getattr(request, _MEMO, None)
    if memo is None:
        memo = {}
        setattr(request, _MEMO, memo)
    if participant.pk not in memo:
        allowed = access.can(request.user, "trial:query_list", method="GET")
        memo[participant.pk] = queried_items(participant) if allowed else {}
    return memo[participant.pk]


@register.inclusion_tag("trial/monitoring/_query_marker.html", takes_context=True)
def query_marker(context, participant, record, field: str) -> dict:
    items = _items_for(context.get("request"), participant)
    query = None
    if items and record is not None and getattr(record, "pk", None) is not None:
        model, pk = record._meta.label, str(record.pk)
        if field.endswith("*"):
            prefix = field[:-1]
            query = next(
                (
                    q
                    for (m, i, f), q in items.items()
                    if m == model and i == pk and f.startswith(prefix)
                ),
                None,
            )
        else:
            query = items.get((model, pk, field))
    return {"query": query}
