"""The follow-up app's exports: contacts per visit, the calls made and what reached calls
recorded."""

from __future__ import annotations

from collections.abc import Iterator

from django.utils.translation import gettext_lazy as _

from followup.call_items import GROUP_ORDER
from followup.models import (
    CallLog,
    CallOutcome,
    Contact,
    ContactStatus,
    MissingReason,
    VisitItems,
)
from trial.exports.registry import (
    CHUNK_SIZE,
    AnalysisColumns,
    QueryExporter,
    Variable,
    boolean,
    coded,
    exporters,
    localizer,
    register,
)
from trial.exports.sql import JsonPairsText


@register
class ContactExporter(QueryExporter):
    identifier = "contacts"
    on_crf = False  # kept by the system, not filled on a form
    label = _("Follow-up contacts")
    description = _("One record per participant and scheduled visit: window, status, attempts.")
    source_app = "followup"
    repeated = True
    order = 70

    def variables(self) -> list[Variable]:
        return [
            Variable("target_date", _("Target date"), "date"),
            Variable("window_opens", _("Window opens"), "date"),
            Variable("window_closes", _("Window closes"), "date"),
            coded("contact_status", _("Contact status"), ContactStatus.choices),
            Variable("attempts", _("Call attempts"), "integer"),
            Variable("completed_at", _("Completed"), "datetime"),
            Variable("cancelled_reason", _("Why cancelled")),
        ]

    model = Contact
    order_by = ("target_date", "id")
    key = "visit_code"
    fields = (
        "target_date", "window_opens", "window_closes", "status", "attempts", "completed_at",
        "cancelled_reason",
    )  # fmt: skip


@register
class CallLogExporter(QueryExporter):
    """Calls made; the nurse's free-text notes stay out (they may name relatives)."""

    identifier = "calls"
    label = _("Call log")
    description = _(
        "Every call to a participant: visit, time and outcome (notes are not exported)."
    )
    source_app = "followup"
    repeated = True
    order = 75

    def variables(self) -> list[Variable]:
        return [
            Variable("called_at", _("Called at"), "datetime"),
            coded("call_outcome", _("Outcome of the call"), CallOutcome.choices),
            boolean("out_of_window", _("Call logged outside the visit's window")),
        ]

    model = CallLog
    order_by = ("called_at", "id")
    several_per_key = True  # a visit may take several calls
    key = "contact__visit_code"
    fields = ("called_at", "outcome", "out_of_window")


@register
class VisitItemsExporter(QueryExporter):
    """What a reached call recorded beside the questionnaires, and why any item group the
    visit collects was left out. The free-text pain medication may name people: it comes only
    with an identified export."""

    identifier = "call_items"
    label = _("Visit items recorded by phone")
    description = _(
        "One record per reached call that completed a visit: opioid dose, new adverse events, "
        "crossover wish, and the reason for each item group left out (e.g. hsu:declined)."
    )
    source_app = "followup"
    repeated = True
    several_per_key = True
    order = 76

    def variables(self) -> list[Variable]:
        reasons = ", ".join(f"{code} = {label}" for code, label in MissingReason.choices)
        return [
            Variable("recorded_at", _("Recorded"), "datetime"),
            Variable(
                "opioid_omeq_mg", _("Opioids, oral morphine equivalent"), "integer", unit="mg/day"
            ),
            boolean("new_adverse_events", _("New adverse events since the last contact")),
            boolean("crossover_wish", _("Wishes to cross over to PVP (conservative arm)")),
            Variable(
                "missing_items",
                _("Item groups left out, as group:reason"),
                allowed=f"groups {' '.join(sorted(GROUP_ORDER))}; reasons {reasons}",
            ),
            Variable("pain_medication", _("Other pain medication and changes"), free_text=True),
        ]

    model = VisitItems
    trial_number = "contact__participant__trial_number"
    key = "contact__visit_code"
    order_by = ("recorded_at", "id")
    fields = (
        "recorded_at",
        "opioid_omeq_mg",
        "new_adverse_events",
        "crossover_wish",
        "missing_items",
        "pain_medication",
    )

    def base_queryset(self):
        return VisitItems.objects.annotate(missing_items=JsonPairsText("missing_reasons"))


def analysis_variables() -> list[Variable]:
    return [
        Variable("contacts_done", _("Follow-up contacts done"), "integer"),
        Variable("contacts_missed", _("Follow-up contacts missed"), "integer"),
        Variable("last_visit_done", _("Last visit done")),
        Variable("last_contact_on", _("Date of the last completed contact"), "date"),
        coded(
            "followup_status",
            _("Follow-up status"),
            (
                ("complete", _("Every due contact done")),
                ("incomplete", _("At least one contact missed")),
                ("none", _("No contact due yet")),
            ),
        ),
    ]


def analysis_rows() -> Iterator[tuple[int, tuple]]:
    """Per participant, counts from the contacts stream (sorted, so memory stays flat)."""
    qs = Contact.objects.order_by("participant_id", "target_date", "id").values_list(
        "participant_id", "visit_code", "status", "completed_at"
    )
    current, done, missed, last_visit, last_on = None, 0, 0, None, None

    def row():
        status = "incomplete" if missed else ("complete" if done else "none")
        return current, (done, missed, last_visit, last_on, status)

    to_local = localizer()
    for pid, visit, status, completed in qs.iterator(chunk_size=CHUNK_SIZE):
        if pid != current:
            if current is not None:
                yield row()
            current, done, missed, last_visit, last_on = pid, 0, 0, None, None
        if status == ContactStatus.DONE:
            done += 1
            last_visit = visit
            completed_local = to_local(completed)
            if completed_local is not None:
                last_on = completed_local.date()
        elif status == ContactStatus.MISSED:
            missed += 1
    if current is not None:
        yield row()


exporters.add_analysis(AnalysisColumns("followup", analysis_variables, analysis_rows, order=90))
