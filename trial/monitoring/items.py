"""Which recorded items of a participant a query may point at, and how each is named: the one
catalogue read by the query pages, the participant page and (later) the edit checks.

Each source is a model, named by its label so that the core does not import the other apps;
every concrete field of a row is an item, except the bookkeeping listed in ``_NOT_ITEMS``;
a JSON field of answers gives one item per key. Identity and allocation are not here on
purpose: a monitor does not see identifying data, and the arm is concealed until confirmed
(the allocation is checked by the verification report, not queried field by field).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.db import models
from django.utils import formats
from django.utils.translation import gettext_lazy as _

from trial.protocol.visits import INSTRUMENT_LABELS


@dataclass(frozen=True)
class Source:
    model_label: str
    form_label: Any
    participant_path: str = "participant"
    visit_path: str = ""
    # JSON fields whose keys are items of their own (questionnaire or eligibility answers).
    json_fields: tuple[str, ...] = ()

    @property
    def model(self) -> type[models.Model]:
        return apps.get_model(self.model_label)


SOURCES: tuple[Source, ...] = (
    Source("trial.ScreeningForm", _("Screening form")),
    Source("trial.EligibilityAssessment", _("Eligibility"), json_fields=("answers",)),
    Source("trial.Consent", _("Consent")),
    Source("trial.SurgicalAssessment", _("Surgical assessment")),
    Source("trial.Procedure", _("PVP procedure")),
    Source("trial.ProcedureLevel", _("Treated level"), participant_path="procedure__participant"),
    Source("trial.UsualCare", _("Usual care")),
    Source("trial.Crossover", _("Crossover")),
    Source("trial.RadiographicControl", _("Radiographic control")),
    Source("trial.AdverseEvent", _("Adverse event")),
    Source("trial.Death", _("Death")),
    Source("trial.Withdrawal", _("Withdrawal")),
    Source("followup.CallLog", _("Follow-up call"), visit_path="contact__visit_code"),
    Source(
        "followup.VisitItems",
        _("Visit items of a call"),
        participant_path="contact__participant",
        visit_path="contact__visit_code",
    ),
    Source(
        "questionnaires.QuestionnaireResponse",
        _("Questionnaire"),
        visit_path="visit_code",
        json_fields=("answers",),
    ),
)
_BY_LABEL = {s.model_label: s for s in SOURCES}

# Bookkeeping the system writes itself: who and when, links between rows, derived scores.
_NOT_ITEMS = frozenset(
    {
        "id",
        "participant",
        "procedure",
        "contact",
        "call",
        "referral",
        "version",
        "recorded_by",
        "recorded_at",
        "completed_by",
        "completed_at",
        "assessed_by",
        "called_by",
        "entered_by",
        "updated_at",
        "started_at",
        "submitted_at",
        "sae_notified_at",
        "acknowledged_at",
        "acknowledged_by",
        "early_override_by",
        "information_sheet",
        "instrument_version",
        "instrument_code",
        "mode",
        "status",
        "scores",
        "language",
        "visit_code",
    }
)


@dataclass(frozen=True)
class Item:
    source: Source
    target_id: str
    field_name: str
    label: str
    value: str
    visit_code: str = ""
    record_label: str = ""
    unit: str = ""

    @property
    def key(self) -> str:
        return f"{self.source.model_label}:{self.target_id}:{self.field_name}"

    @property
    def form_label(self) -> str:
        return str(self.source.form_label)


def is_bookkeeping(field_name: str) -> bool:
    """Whether a field is the system's bookkeeping rather than a value of the form."""
    return field_name in _NOT_ITEMS


def source_for(model_label: str) -> Source | None:
    return _BY_LABEL.get(model_label)


def shown(value: Any, field: models.Field | None = None) -> str:
    """A value as a person reads it: choice labels, local dates, yes/no, a dash for nothing."""
    if value is None or value == "" or value == [] or value == {}:
        return "—"
    if field is not None and getattr(field, "flatchoices", None):
        choices = dict(field.flatchoices)
        if value in choices:
            return str(choices[value])
    if isinstance(value, bool):
        return str(_("Yes") if value else _("No"))
    if isinstance(value, list | tuple):
        return ", ".join(shown(v) for v in value)
    if hasattr(value, "isoformat"):
        return formats.date_format(value, "SHORT_DATE_FORMAT")
    return str(value)


def field_unit(field_name: str) -> str:
    """The unit of a recorded value, read from its field's name (``cement_volume_ml``,
    ``opioid_ome_mg_per_day``): the one rule, used by the casebook and the exports' codebook."""
    if field_name.endswith("_ml"):
        return "ml"
    if "mg_per_day" in field_name:
        return "mg/day"
    return ""


def item_label(model_label: str, field_name: str) -> str:
    """The name of an item for people, in the reader's language."""
    source = _BY_LABEL.get(model_label)
    if source is None:
        return field_name
    name, _dot, key = field_name.partition(".")
    try:
        field = source.model._meta.get_field(name)
    except Exception:  # a field removed since the query was raised: show its name
        return field_name
    label = str(getattr(field, "verbose_name", name))
    if key:
        return f"{label}: {key}"
    return label[:1].upper() + label[1:]


def _record_label(source: Source, row: models.Model, visit_code: str) -> str:
    bits = []
    if source.model_label == "questionnaires.QuestionnaireResponse":
        code = getattr(row, "instrument_code", "")
        bits.append(str(INSTRUMENT_LABELS.get(code, code)))
    if source.model_label == "trial.ProcedureLevel":
        bits.append(str(getattr(row, "level", "")))
    if source.model_label == "trial.AdverseEvent":
        bits.append(shown(getattr(row, "onset_date", None)))
    if visit_code:
        bits.append(visit_code)
    return " · ".join(b for b in bits if b)


def _items_of(source: Source, row: models.Model, visit_code: str) -> Iterable[Item]:
    record = _record_label(source, row, visit_code)
    for field in row._meta.concrete_fields:
        if field.name in _NOT_ITEMS:
            continue
        value = getattr(row, field.name)
        if field.name in source.json_fields and isinstance(value, dict):
            for key in sorted(value):
                yield Item(
                    source,
                    str(row.pk),
                    f"{field.name}.{key}",
                    item_label(source.model_label, f"{field.name}.{key}"),
                    shown(value[key]),
                    visit_code,
                    record,
                )
            continue
        yield Item(
            source,
            str(row.pk),
            field.name,
            item_label(source.model_label, field.name),
            shown(value, field),
            visit_code,
            record,
            field_unit(field.name) if value not in (None, "") else "",
        )


def participant_items(participant) -> list[Item]:
    """Every item recorded for ``participant``, form by form (one query per source)."""
    items: list[Item] = []
    for source in SOURCES:
        model = source.model
        rows = model._default_manager.filter(**{source.participant_path: participant})
        relations = [
            f.name
            for f in model._meta.concrete_fields
            if f.is_relation and f.name not in _NOT_ITEMS
        ]
        if relations:
            rows = rows.select_related(*relations)
        visit_field = source.visit_path
        if visit_field and "__" in visit_field:
            rows = rows.select_related(visit_field.split("__")[0])
        for row in rows.order_by("pk"):
            visit_code = _visit_of(row, visit_field)
            items.extend(_items_of(source, row, visit_code))
    return items


def _visit_of(row: models.Model, path: str) -> str:
    value: Any = row
    for part in path.split("__") if path else ():
        value = getattr(value, part, None)
    return value if isinstance(value, str) else ""


def item_get(participant, key: str) -> Item | None:
    """The item named ``key`` (``model:pk:field``) of ``participant``, or None when there is
    no such item for this participant (another participant's row, an unknown field)."""
    model_label, _sep, rest = key.partition(":")
    target_id, _sep2, field_name = rest.partition(":")
    source = _BY_LABEL.get(model_label)
    if source is None or not (target_id.isdecimal() and len(target_id) <= 18) or not field_name:
        return None
    row = (
        source.model._default_manager.filter(
            **{source.participant_path: participant, "pk": int(target_id)}
        )
        .select_related(*([source.visit_path.split("__")[0]] if "__" in source.visit_path else []))
        .first()
    )
    if row is None:
        return None
    visit_code = _visit_of(row, source.visit_path)
    if field_name in source.json_fields:
        # A check about the answers as a whole (too many missing) points at the whole field.
        answers = getattr(row, field_name) or {}
        return Item(
            source,
            str(row.pk),
            field_name,
            item_label(source.model_label, field_name),
            ", ".join(f"{k}: {shown(v)}" for k, v in sorted(answers.items())) or "—",
            visit_code,
            _record_label(source, row, visit_code),
        )
    for item in _items_of(source, row, visit_code):
        if item.field_name == field_name:
            return item
    return None


# The page on which each form's values are corrected (with a reason), by the URL arguments it
# takes besides the trial number; follow-up calls are corrected by the data manager through a
# new call, so they have none.
_EDIT_PAGES: dict[str, tuple[str, tuple[str, ...]]] = {
    "trial.ScreeningForm": ("trial:screening_form", ()),
    "trial.EligibilityAssessment": ("trial:eligibility", ()),
    "trial.Consent": ("trial:consent", ()),
    "trial.SurgicalAssessment": ("trial:surgical_assessment", ()),
    "trial.Procedure": ("trial:procedure", ()),
    "trial.ProcedureLevel": ("trial:procedure", ()),
    "trial.UsualCare": ("trial:usual_care", ()),
    "trial.Crossover": ("trial:crossover", ()),
    "trial.AdverseEvent": ("trial:adverse_event_edit", ("ae_id",)),
    "trial.RadiographicControl": ("trial:radiograph", ("control_kind",)),
    "questionnaires.QuestionnaireResponse": (
        "questionnaires:staff_correct",
        ("visit_code", "instrument"),
    ),
}


def edit_url(participant, model_label: str, target_id: str) -> str:
    """Where the item's record is corrected, or "" when it has no such page."""
    from django.urls import reverse

    page = _EDIT_PAGES.get(model_label)
    source = _BY_LABEL.get(model_label)
    if page is None or source is None or not (target_id.isdecimal() and len(target_id) <= 18):
        return ""
    name, extra = page
    row = (
        source.model._default_manager.filter(
            **{source.participant_path: participant, "pk": int(target_id)}
        )
        .values("pk", *(f for f in ("kind", "visit_code", "instrument_code") if _has(source, f)))
        .first()
    )
    if row is None:
        return ""
    values = {
        "ae_id": row["pk"],
        "control_kind": row.get("kind"),
        "visit_code": row.get("visit_code"),
        "instrument": row.get("instrument_code"),
    }
    kwargs = {"trial_number": participant.trial_number, **{k: values[k] for k in extra}}
    return reverse(name, kwargs=kwargs)


def _has(source: Source, name: str) -> bool:
    return any(f.name == name for f in source.model._meta.concrete_fields)


def recorded_values(row: models.Model) -> dict[str, Any]:
    """The values a person recorded in ``row``, by field name (the items of the catalogue,
    raw, without the bookkeeping the system writes itself): what a signature binds."""
    return {
        field.attname: getattr(row, field.attname)
        for field in row._meta.concrete_fields
        if field.name not in _NOT_ITEMS
    }


def row_visit_code(source: Source, row: models.Model) -> str:
    """The visit ``row`` belongs to, or "" for a form outside the visits."""
    return _visit_of(row, source.visit_path)
