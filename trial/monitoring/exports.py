"""The queries in the exports: one long file, a row per message of each query's thread; the
signatures; and source-data verification: a row per form instance that needs it, with its state.

The messages are typed by staff and may name people, so their text comes only with an
identified export (free text, as the call notes and causes of death); everything else,
which item, which edit check, the steps and their times, is in every export.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.utils.translation import gettext_lazy as _

from trial.exports.registry import (
    Exporter,
    QueryExporter,
    Variable,
    coded,
    convert,
    localizer,
    register,
)
from trial.models import Role
from trial.monitoring import sdv
from trial.monitoring.models import QueryMessage, QueryMessageKind, QueryState
from trial.monitoring.signature_models import Signature, SignatureMeaning, SignatureState


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


@register
class SignatureExporter(QueryExporter):
    identifier = "signatures"
    on_crf = False  # kept by the system from the signing page
    label = _("Investigator's signatures")
    description = _(
        "Every signature of a casebook (empty visit) or of one visit: when, by which role, its "
        "meaning, and whether it stands, needs renewal (with the change that made it so) or "
        "was signed again; the signer's name is in the audit trail."
    )
    repeated = True
    several_per_key = True  # a casebook may be signed again after a change
    order = 125

    def variables(self) -> list[Variable]:
        return [
            Variable("signature_id", _("Signature number"), "integer"),
            Variable("signed_at", _("Signed at"), "datetime"),
            coded("signer_role", _("Role of the signer"), Role.choices),
            coded("meaning", _("Meaning of the signature"), SignatureMeaning.choices),
            Variable("meaning_language", _("Language the meaning was shown in")),
            coded("signature_state", _("State of the signature now"), SignatureState.choices),
            Variable("manifest_hash", _("Hash of the records signed (SHA-256)")),
            Variable("changed_form", _("Form whose change needs a renewal")),
            Variable("changed_record", _("Record whose change needs a renewal")),
            Variable("changed_at", _("Changed at"), "datetime"),
        ]

    model = Signature
    key = "visit_code"
    order_by = ("signed_at", "id")
    fields = (
        "id",
        "signed_at",
        "signer__role",
        "meaning_code",
        "meaning_language",
        "state",
        "manifest_hash",
        "renewal_model",
        "renewal_record_id",
        "renewal_at",
    )


@register
class SourceVerificationExporter(Exporter):
    identifier = "sdv"
    on_crf = False  # the monitor's marks, not a form people fill
    label = _("Source-data verification")
    description = _(
        "Every recorded form that needs source-data verification (TRIAL_SDV_FORMS): one row "
        "per form instance with the state of its newest verification: to verify, verified, "
        "or cleared by a later change to the form."
    )
    repeated = True
    several_per_key = True  # several serious adverse events of one participant
    order = 125

    def variables(self) -> list[Variable]:
        return [
            coded("form", _("Form verified"), [(f.code, f.label) for f in sdv.SDV_FORMS]),
            Variable("record_id", _("Record of the form")),
            Variable("recorded_at", _("Form recorded at"), "datetime"),
            coded("sdv_state", _("Verification state"), sdv.STATE_CHOICES),
            Variable("verified_at", _("Verified at"), "datetime"),
            coded("verified_by_role", _("Role of who verified"), Role.choices),
            Variable("cleared_at", _("Verification cleared at"), "datetime"),
            coded("cleared_by_role", _("Role of who changed the form"), Role.choices),
            Variable("cleared_by_model", _("Record whose change cleared it")),
        ]

    def rows(self) -> Iterator[tuple]:
        kinds = [v.type for v in self.variables()]
        to_local = localizer()
        for tn, visit, *values in sdv.export_rows(self.participant_ids):
            converted = (convert(k, v, to_local) for k, v in zip(kinds, values, strict=True))
            yield (tn, visit, *converted)

    def sql_source(self):
        from trial.exports.sql import SqlSource

        if self.participant_ids is not None:
            return None  # a page of the web API: the rows above, limited to its participants
        sql, params = sdv.export_sql()
        return SqlSource(sql, params)
