"""Monitoring's own section of the casebook: every query of the participant and how it ended.

The threads themselves are printed under the form they are about; this section is the
overview a monitor signs off: raised by whom and when, the state, and who closed it when.
"""

from __future__ import annotations

from django.utils import formats, timezone
from django.utils.translation import gettext as _

from trial.audit_display import person_name
from trial.models import QueryState
from trial.monitoring import items as catalogue
from trial.monitoring.selectors import participant_queries
from trial.registry import CasebookSection


def _when(value) -> str:
    if not value:
        return "—"
    return formats.date_format(timezone.localtime(value), "SHORT_DATETIME_FORMAT")


def queries_section(participant) -> CasebookSection:
    rows = []
    for query in participant_queries(participant).select_related("closed_by"):
        source = catalogue.source_for(query.target_model)
        form = str(source.form_label) if source else query.target_model
        closed = ""
        if query.state == QueryState.CLOSED:
            closed = _("%(who)s, %(when)s") % {
                "who": person_name(query.closed_by) if query.closed_by else _("the system"),
                "when": _when(query.state_changed_at),
            }
        rows.append(
            (
                f"#{query.pk}",
                " · ".join(b for b in (form, query.visit_code) if b),
                catalogue.item_label(query.target_model, query.field_name),
                _("%(who)s, %(when)s")
                % {
                    "who": person_name(query.raised_by) if query.raised_by else _("edit check"),
                    "when": _when(query.raised_at),
                },
                str(query.get_state_display()),
                closed,
            )
        )
    return CasebookSection(
        title=_("Queries and their resolution"),
        rows=rows,
        columns=(_("Query"), _("Form"), _("Item"), _("Raised"), _("State"), _("Closed")),
        empty=_("No queries were raised on this participant's data."),
    )
