"""The queries in the exports: one long file, a row per message of each query's thread.

The messages are typed by staff and may name people, so their text comes only with an
identified export (free text, as the call notes and causes of death); everything else,
which item, which edit check, the steps and their times, is in every export.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from trial.exports.registry import QueryExporter, Variable, coded, register
from trial.models import Role
from trial.monitoring.models import QueryMessage, QueryMessageKind, QueryState


@register
class QueryMessageExporter(QueryExporter):
    identifier = "queries"
    on_crf = False  # kept by the system, not filled on a form
    label = _("Queries")
    description = _(
        "Every query on a recorded item and its thread: one row per step (raised, answered, "
        "corrected, closed, re-opened), oldest first; the item is named by form, record and "
        "field, as in the other files."
    )
    repeated = True
    several_per_key = True  # a visit's items may have several queries, each several steps
    order = 120

    def variables(self) -> list[Variable]:
        return [
            Variable("query_id", _("Query number"), "integer"),
            Variable("form", _("Form (model) of the item")),
            Variable("record_id", _("Record of the item")),
            Variable("item", _("Field of the item (field.key for one answer)")),
            Variable("edit_check", _("Edit check that opened it (empty: raised by hand)")),
            coded("query_state", _("State of the query now"), QueryState.choices),
            Variable("raised_at", _("Raised at"), "datetime"),
            coded("step", _("Step"), QueryMessageKind.choices),
            Variable("step_at", _("Step at"), "datetime"),
            coded("step_by_role", _("Role of who took the step (empty: the system)"), Role.choices),
            Variable("message", _("Message"), free_text=True),
        ]

    model = QueryMessage
    trial_number = "query__participant__trial_number"
    key = "query__visit_code"
    order_by = ("query__raised_at", "query_id", "written_at", "id")
    fields = (
        "query_id",
        "query__target_model",
        "query__target_id",
        "query__field_name",
        "query__rule_code",
        "query__state",
        "query__raised_at",
        "kind",
        "written_at",
        "author__role",
        "text",
    )
