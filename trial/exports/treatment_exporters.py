"""Treatment exporters (over the treatment models): procedures, treated levels, usual care,
crossovers, adverse events and radiographic controls.

Each is described by its model and fields; variable types, labels and allowed values come
from the model fields themselves, so the codebook follows the models.
"""

from __future__ import annotations

from dataclasses import replace
from typing import ClassVar

from django.db import models
from django.db.models import Value
from django.utils.translation import gettext_lazy as _

from trial import models as m
from trial.exports.registry import (
    YES_NO,
    ByteOrder,
    QueryExporter,
    Variable,
    VarType,
    by_trial_number,
    register,
)
from trial.exports.sql import JsonListText
from trial.monitoring.items import field_unit
from trial.treatment.services import USUAL_CARE_FIELDS

_TYPES: dict[str, VarType] = {
    "DateField": "date",
    "DateTimeField": "datetime",
    "BooleanField": "boolean",
    "DecimalField": "decimal",
    "PositiveSmallIntegerField": "integer",
    "PositiveIntegerField": "integer",
    "IntegerField": "integer",
}


def field_variable(
    model: type[models.Model], name: str, export_name: str | None = None
) -> Variable:
    field = model._meta.get_field(name)
    if not isinstance(field, models.Field):
        # A reverse relation has no column to export; only a wrong ``fields`` entry gets here.
        raise TypeError(f"{model.__name__}.{name} is not a column of its own")
    kind = _TYPES.get(field.get_internal_type(), "text")
    codes: tuple = tuple(field.choices or ()) if field.choices else ()
    if kind == "boolean":
        codes = YES_NO
    unit = field_unit(name)
    return Variable(
        export_name or name[:32],
        field.verbose_name,
        kind,
        codes=codes,
        unit=unit,
        free_text=field.get_internal_type() == "TextField",
    )


class ModelExporter(QueryExporter):
    """An exporter of one model's fields, keyed by participant (and ``key_field``)."""

    model: ClassVar[type[models.Model]]
    fields: ClassVar[tuple[str, ...]]
    participant_path = "participant"
    key_field: str | None = None

    def variables(self) -> list[Variable]:
        return [field_variable(self.model, name) for name in self.fields]

    def queryset(self, *, lists_as_text: bool = False):
        # Ordered by the key within a participant, then by row; the JSON list fields are
        # joined by the database for COPY (QueryExporter._is_json).
        key = self.key_field or Value("")
        order: list[str | ByteOrder] = [by_trial_number(f"{self.participant_path}__trial_number")]
        order += [self.key_field] if self.key_field else []
        columns = [
            JsonListText(name) if lists_as_text and self._is_json(name) else name
            for name in self.fields
        ]
        # _default_manager: type[Model] declares no ``objects``; these models have no other.
        qs = self.restrict(
            self.model._default_manager.all(), f"{self.participant_path}__trial_number"
        )
        return qs.order_by(*order, "pk").values_list(
            f"{self.participant_path}__trial_number", key, *columns
        )


@register
class ProcedureExporter(ModelExporter):
    identifier = "procedures"
    label = _("PVP procedures")
    order = 62
    model = m.Procedure
    fields = (
        "procedure_date",
        "facility",
        "anaesthesia",
        "biopsy_taken",
        "biopsy_result",
        "complications",
        "complications_details",
        "discharge_date",
    )


@register
class ProcedureLevelExporter(ModelExporter):
    identifier = "procedure_levels"
    label = _("Treated vertebrae")
    description = _("One record per treated level: cement volume, leakage and where, wall defect.")
    order = 63
    repeated = True
    model = m.ProcedureLevel
    participant_path = "procedure__participant"
    key_field = "level"
    key_name = "level"
    fields = (
        "cement_volume_ml",
        "leakage",
        "leak_disc",
        "leak_venous",
        "leak_paravertebral",
        "leak_epidural",
        "leak_foraminal",
        "posterior_wall_defect",
    )


@register
class UsualCareExporter(ModelExporter):
    identifier = "usual_care"
    label = _("Usual care")
    order = 64
    model = m.UsualCare
    # The usual-care form's fields except the free-text note.
    fields = tuple(f for f in USUAL_CARE_FIELDS if f != "note")


@register
class CrossoverExporter(ModelExporter):
    identifier = "crossovers"
    label = _("Crossovers to PVP")
    order = 65
    model = m.Crossover
    fields = ("crossover_date", "reason", "early_override_reason")


@register
class AdverseEventExporter(ModelExporter):
    identifier = "adverse_events"
    label = _("Adverse events")
    description = _("One record per event; the key is the event's number.")
    order = 66
    repeated = True
    model = m.AdverseEvent
    key_field = "id"
    key_name = "event"
    fields = (
        "onset_date",
        "description",
        "grade",
        "serious",
        "relation",
        "outcome",
        "resolved_on",
        "seriousness_criteria",
        "hospital_admitted_on",
        "hospital_discharged_on",
        "expectedness",
        "relation_disease",
        "site_aware_at",
        "sae_notified_at",
        "acknowledged_at",
    )

    def variables(self) -> list[Variable]:
        # A list of criteria is written like the lists of levels: its codes joined by spaces.
        # The codebook names the codes under "allowed" (as codes, Stata and ODM would read
        # the variable as one code per record).
        criteria = "; ".join(f"{code} = {label}" for code, label in m.SeriousnessCriterion.choices)
        allowed = _("codes separated by spaces: %(codes)s") % {"codes": criteria}
        return [
            replace(var, allowed=str(allowed)) if var.name == "seriousness_criteria" else var
            for var in super().variables()
        ]


@register
class RadiographicControlExporter(ModelExporter):
    identifier = "radiographs"
    label = _("Radiographic controls")
    order = 67
    repeated = True
    model = m.RadiographicControl
    key_field = "kind"
    key_name = "control"
    fields = (
        "examined_on",
        "standing",
        "treated_stability",
        "new_fracture",
        "new_fracture_levels",
        "new_fracture_adjacent",
        "height_loss",
        "height_loss_levels",
    )
