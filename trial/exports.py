"""The exporter registry (issue 8), and the trial's own exporters.

An *exporter* is a small registered class that describes one form (a table of the trial's
data): its variables for the codebook and a ``rows()`` generator streaming the records with a
constant number of queries (``values_list(...).iterator(chunk_size=...)``, never a query per
participant). Every app adds its exporters in its own ``<app>/exports.py`` module, discovered
like Django admin's ``admin.py`` (``autodiscover()`` below), so ``trial`` imports none of them.

Apps also contribute *analysis columns*: variables of the wide analysis file (one row per
participant), streamed in participant order so that the file is a merge of sorted streams
with flat memory (``trial.export_formats.analysis_rows``).

Exports are pseudonymised: participants are known by trial number only. Variables marked
``identifying`` (names, CPR numbers, contact details) exist only in the identity exporter,
which runs only for an identified export (data managers, with a reason; trial.export_views).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar, Literal

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.db.models import F, Func, TextField, Value
from django.utils.translation import gettext_lazy as _

VarType = Literal["integer", "decimal", "text", "date", "datetime", "boolean"]
CHUNK_SIZE = 2000
FULL = "full"


@dataclass(frozen=True)
class Variable:
    """One exported variable, as the codebook describes it.

    ``name`` is short, lower-case and at most 32 characters (Stata's limit, also a valid ODM
    item name). ``codes`` lists the allowed values and their meaning for coded variables;
    ``allowed`` describes other value ranges ("0-100").
    """

    name: str
    label: Any
    type: VarType = "text"
    codes: tuple[tuple[Any, Any], ...] = ()
    allowed: str = ""
    unit: str = ""
    identifying: bool = False
    # Free text typed by staff (a cause of death, a reason) may name people: it is left out of
    # pseudonymised exports and comes only with an identified one.
    free_text: bool = False

    def __post_init__(self) -> None:
        if len(self.name) > 32 or not self.name.replace("_", "").isalnum():
            raise ValueError(f"variable name {self.name!r} is not a short identifier")


def coded(name: str, label: Any, choices: Iterable[tuple[Any, Any]], **kwargs: Any) -> Variable:
    """A text variable whose values are the codes of a Django ``choices`` list."""
    return Variable(name, label, "text", codes=tuple(choices), **kwargs)


YES_NO = ((1, _("Yes")), (0, _("No")))


def boolean(name: str, label: Any) -> Variable:
    return Variable(name, label, "boolean", codes=YES_NO)


class Exporter:
    """One form of the export: records keyed by participant (and visit, for repeated forms).

    ``rows()`` yields tuples ``(trial_number, visit_code, *values)`` in the order of
    ``variables``; ``visit_code`` is "" for forms collected once per participant.
    """

    identifier: ClassVar[str]
    label: ClassVar[Any]
    description: ClassVar[Any] = ""
    source_app: ClassVar[str] = "trial"
    repeated: ClassVar[bool] = False  # more than one record per participant
    key_name: ClassVar[str] = "visit"  # what the second column holds for repeated forms
    identifying: ClassVar[bool] = False  # only in identified exports
    several_per_key: ClassVar[bool] = False  # e.g. several calls in one visit
    unregistered_rows: ClassVar[bool] = False  # records without a trial number (screening log)
    order: ClassVar[int] = 100

    def variables(self) -> list[Variable]:
        raise NotImplementedError

    def rows(self) -> Iterator[tuple]:
        raise NotImplementedError

    def sql_source(self):
        """The same records as one SELECT for PostgreSQL's COPY (``trial.export_sql.SqlSource``),
        or None to write the long CSV from ``rows()``. Its columns follow ``variables()``."""
        return None


def convert(kind: str, value: Any, to_local: Callable) -> Any:
    """A database value as the exports write it for a variable of type ``kind``."""
    if value is None or value == "":
        return None
    if kind == "boolean":
        return int(value)
    if kind == "datetime":
        return to_local(value)
    if isinstance(value, list):
        return " ".join(map(str, value)) or None
    return value


class ByteOrder(Func):
    """Sort text by its bytes (code points), as Python sorts strings.

    Every form is ordered by trial number this way, so the ODM writer can merge the forms'
    streams into one SubjectData per participant (``heapq.merge`` compares like Python).
    PostgreSQL needs ``COLLATE "C"`` for that; SQLite compares bytes already.
    """

    template = '%(expressions)s COLLATE "C"'

    def __init__(self, expression: str, **extra: Any) -> None:
        super().__init__(F(expression), output_field=TextField(), **extra)

    def as_sqlite(self, compiler, connection, **extra_context):
        return compiler.compile(self.source_expressions[0])


def by_trial_number(path: str = "participant__trial_number") -> ByteOrder:
    return ByteOrder(path)


class QueryExporter(Exporter):
    """An exporter whose records are one ``values_list`` query: the trial number, the key
    (``key``, or empty), then ``fields`` in the order of ``variables()``.

    The same query feeds both the Python rows (XLSX, Stata, ODM, CSV on SQLite) and, on
    PostgreSQL, the COPY of the long CSV, so the two cannot list different fields.
    """

    model: ClassVar[Any]
    fields: ClassVar[tuple[Any, ...]]
    order_by: ClassVar[tuple[str, ...]] = ("pk",)  # after the trial number
    trial_number: ClassVar[str] = "participant__trial_number"
    key: ClassVar[str | None] = None

    def queryset(self, *, lists_as_text: bool = False):
        """``lists_as_text``: JSON list fields joined into text by the database (for COPY);
        the Python rows join them in ``convert``."""
        from trial.export_sql import JsonListText

        key = self.key or Value("")
        order = (by_trial_number(self.trial_number), *self.order_by)
        columns = [
            JsonListText(name) if lists_as_text and self._is_json(name) else name
            for name in self.fields
        ]
        return self.base_queryset().order_by(*order).values_list(self.trial_number, key, *columns)

    def base_queryset(self):
        """The records before they are ordered and picked: an exporter may annotate derived
        columns here (named in ``fields``), and both the Python rows and the COPY get them."""
        return self.model.objects.all()

    def _is_json(self, name: str) -> bool:
        if "__" in name:
            return False
        try:
            field = self.model._meta.get_field(name)
        except FieldDoesNotExist:  # an annotation of base_queryset()
            return False
        return field.get_internal_type() == "JSONField"

    def rows(self) -> Iterator[tuple]:
        kinds = [v.type for v in self.variables()]
        to_local = localizer()
        for tn, key, *values in self.queryset().iterator(chunk_size=CHUNK_SIZE):
            converted = (convert(k, v, to_local) for k, v in zip(kinds, values, strict=True))
            yield (tn, str(key), *converted)

    def sql_source(self):
        from trial.export_sql import SqlSource

        return SqlSource.from_queryset(self.queryset(lists_as_text=True))


@dataclass(frozen=True)
class AnalysisColumns:
    """Columns of the wide analysis file contributed by an app.

    ``rows()`` yields ``(participant_id, values)`` sorted by participant id, at most one per
    participant; participants without a row get empty values.
    """

    code: str
    variables: Callable[[], list[Variable]]
    rows: Callable[[], Iterator[tuple[int, tuple]]]
    order: int = 100


class ExporterRegistry:
    def __init__(self) -> None:
        self._exporters: dict[str, type[Exporter]] = {}
        self._analysis: dict[str, AnalysisColumns] = {}

    def register(self, cls: type[Exporter]) -> type[Exporter]:
        """Class decorator: add an exporter (a second registration replaces the first)."""
        self._exporters[cls.identifier] = cls
        return cls

    def add_analysis(self, columns: AnalysisColumns) -> None:
        self._analysis[columns.code] = columns

    def exporters(self, *, identified: bool = False) -> list[Exporter]:
        classes = sorted(self._exporters.values(), key=lambda c: (c.order, c.identifier))
        return [cls() for cls in classes if identified or not cls.identifying]

    def get(self, identifier: str) -> type[Exporter]:
        return self._exporters[identifier]

    def analysis_columns(self, *, identified: bool = False) -> list[AnalysisColumns]:
        cols = sorted(self._analysis.values(), key=lambda c: (c.order, c.code))
        return [c for c in cols if identified or c.code != "identity"]

    def choices(self) -> list[tuple[str, Any]]:
        """What a user can pick: the full export, or any one non-identifying form."""
        return [(FULL, _("Full export: every form, the analysis file and the codebook"))] + [
            (e.identifier, e.label) for e in self.exporters()
        ]


exporters = ExporterRegistry()
register = exporters.register
_discovered = False


def autodiscover() -> ExporterRegistry:
    """Import every installed app's ``exports`` module once, which registers its exporters."""
    global _discovered
    if not _discovered:
        from django.utils.module_loading import autodiscover_modules

        _discovered = True
        autodiscover_modules("exports")
    return exporters


def model_exists(app_label: str, name: str) -> bool:
    try:
        apps.get_model(app_label, name)
    except LookupError:
        return False
    return True


def local_datetime(value: dt.datetime | None) -> dt.datetime | None:
    from django.utils import timezone

    if value is None:
        return None
    return timezone.localtime(value).replace(microsecond=0)


def localizer() -> Callable[[dt.datetime | None], dt.datetime | None]:
    """``local_datetime`` with the current time zone looked up once, for loops over rows."""
    from django.utils import timezone

    tz = timezone.get_current_timezone()

    def to_local(value: dt.datetime | None) -> dt.datetime | None:
        return None if value is None else value.astimezone(tz).replace(microsecond=0)

    return to_local


def _bool(value: bool | None) -> int | None:
    return None if value is None else int(value)


def _levels(value: Any) -> str:
    return " ".join(value) if isinstance(value, list) else ""


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(value)


# === The trial's own exporters =============================================================

from trial import models as m  # noqa: E402 - after the registry, which the models never need
from trial.export_sql import JsonListLength, JsonListText, SqlSource  # noqa: E402
from trial.services import SCREENING_FORM_FIELDS  # noqa: E402


@register
class ParticipantExporter(QueryExporter):
    identifier = "participants"
    label = _("Participants")
    description = _("Every registered participant: site, sex, year of birth, status.")
    order = 10

    def variables(self) -> list[Variable]:
        return [
            Variable("site", _("Site code")),
            coded("sex", _("Sex"), m.Sex.choices),
            Variable("year_of_birth", _("Year of birth"), "integer"),
            coded("status", _("Status in the trial"), m.ParticipantStatus.choices),
            coded(
                "not_included_reason",
                _("Reason not included"),
                m.NotIncludedReason.choices,
            ),
            Variable("registered_at", _("Registered"), "datetime"),
        ]

    model = m.Participant
    order_by = ("id",)
    trial_number = "trial_number"
    fields = ("site__code", "sex", "year_of_birth", "status", "not_included_reason", "created_at")


@register
class ScreeningLogExporter(QueryExporter):
    """The screening log has patients who never became participants: no trial number."""

    unregistered_rows = True

    identifier = "screening_log"
    label = _("Screening log")
    description = _(
        "Every patient considered (CONSORT): date, site, age, sex, decision. Patients who "
        "were not included have no trial number; they are numbered by log entry."
    )
    order = 5

    def variables(self) -> list[Variable]:
        return [
            Variable("log_entry", _("Screening log entry number"), "integer"),
            Variable("site", _("Site code")),
            Variable("screened_on", _("Screening date"), "date"),
            Variable("age", _("Age at screening"), "integer", unit="years"),
            coded("sex", _("Sex"), m.Sex.choices),
            coded("myeloma_status", _("Myeloma status"), m.MyelomaStatus.choices),
            coded("decision", _("Decision"), m.ScreeningDecision.choices),
            Variable(
                "failed_criteria",
                _("Criteria not met (codes, space-separated; see eligibility criteria)"),
            ),
            Variable("reason", _("Reason when not included"), free_text=True),
        ]

    model = m.ScreeningLogEntry
    order_by = ("id",)
    fields = (
        "id", "site__code", "screened_on", "age", "sex", "myeloma_status", "decision",
        "failed_criteria", "reason",
    )  # fmt: skip


@register
class ScreeningFormExporter(QueryExporter):
    identifier = "screening_form"
    label = _("Screening form")
    description = _("The hematologist's screening form: myeloma, stage, treatment, pain relief.")
    order = 20

    def variables(self) -> list[Variable]:
        return [
            coded("myeloma_status", _("Myeloma status"), m.MyelomaStatus.choices),
            Variable("diagnosis_date", _("Date of myeloma diagnosis"), "date"),
            coded("iss_stage", _("ISS stage"), m.ISSStage.choices),
            coded("riss_stage", _("R-ISS stage"), m.ISSStage.choices),
            Variable("prior_lines", _("Lines of prior treatment"), "integer", allowed="0-20"),
            coded("disease_status", _("Current disease status (IMWG)"), m.DiseaseStatus.choices),
            coded("bone_therapy", _("Bone-targeted therapy"), m.BoneTherapy.choices),
            Variable("bone_therapy_start", _("Bone-targeted therapy started"), "date"),
            boolean("paracetamol", _("Paracetamol")),
            boolean("nsaid", _("NSAID")),
            boolean("opioid", _("Opioid")),
            Variable(
                "opioid_ome_mg_day",
                _("Opioid dose, oral morphine equivalent"),
                "decimal",
                allowed="1-2000",
                unit="mg/day",
            ),
            boolean("spinal_radiotherapy", _("Earlier radiotherapy to the spine")),
            Variable("pain_onset_date", _("Date the fracture pain began"), "date"),
        ]

    model = m.ScreeningForm
    fields = SCREENING_FORM_FIELDS


@register
class EligibilityExporter(Exporter):
    identifier = "eligibility"
    label = _("Eligibility checklist")
    description = _("The hematologist's answers, one record per criterion (versioned list).")
    repeated = True
    key_name = "criterion"
    order = 30

    def variables(self) -> list[Variable]:
        return [
            Variable("criteria_version", _("Eligibility criteria version"), "integer"),
            Variable("assessed_on", _("Assessed on"), "date"),
            coded("answer", _("Answer"), m.Answer.choices),
        ]

    def rows(self) -> Iterator[tuple]:
        qs = m.EligibilityAssessment.objects.order_by(by_trial_number(), "pk").values_list(
            "participant__trial_number", "version__version", "assessed_on", "answers"
        )
        for tn, version, on, answers in qs.iterator(chunk_size=CHUNK_SIZE):
            for code, answer in sorted((answers or {}).items()):
                yield (tn, code, version, on, answer)

    def sql_source(self) -> SqlSource:
        # One record per criterion of the answers (JSON), in code-point order like sorted().
        assessment = m.EligibilityAssessment._meta
        version = assessment.get_field("version").related_model._meta.db_table
        sql = f"""
            SELECT p.trial_number, a.key, v.version, ea.assessed_on, a.value
            FROM {assessment.db_table} ea
            JOIN {m.Participant._meta.db_table} p ON p.id = ea.participant_id
            JOIN {version} v ON v.id = ea.version_id
            CROSS JOIN LATERAL jsonb_each_text(COALESCE(ea.answers, '{{}}'::jsonb)) a
            ORDER BY p.trial_number COLLATE "C", ea.id, a.key COLLATE "C"
        """  # noqa: S608 - table names from the models, no user input
        return SqlSource(sql)


@register
class ConsentExporter(QueryExporter):
    identifier = "consent"
    label = _("Consent")
    order = 40

    def variables(self) -> list[Variable]:
        return [
            Variable("consent_date", _("Date of consent"), "date"),
            Variable("information_sheet", _("Information sheet version")),
            boolean("oral_information", _("Oral information given")),
            boolean("written_information", _("Written information given")),
        ]

    model = m.Consent
    fields = (
        "consent_date",
        "information_sheet__label",
        "oral_information_given",
        "written_information_given",
    )


@register
class SurgicalAssessmentExporter(Exporter):
    identifier = "surgical_assessment"
    label = _("Surgical assessment")
    order = 50

    def variables(self) -> list[Variable]:
        return [
            Variable("assessed_on", _("Assessed on"), "date"),
            boolean("contraindication", _("Contraindication to PVP")),
            Variable("contraindication_details", _("Which contraindication"), free_text=True),
            Variable("planned_levels", _("Planned PVP levels (T1-L5, space-separated)")),
            Variable("planned_level_count", _("Number of planned PVP levels"), "integer"),
            boolean("earlier_fractures", _("Earlier vertebral fractures not to be treated")),
            Variable("earlier_fracture_levels", _("Levels of earlier fractures")),
            boolean("risk_information", _("Risk of the procedure explained")),
        ]

    def rows(self) -> Iterator[tuple]:
        qs = m.SurgicalAssessment.objects.order_by(by_trial_number()).values_list(
            "participant__trial_number",
            "assessed_on",
            "contraindication",
            "contraindication_details",
            "planned_levels",
            "earlier_fractures",
            "earlier_fracture_levels",
            "risk_information_given",
        )
        for tn, on, contra, details, planned, earlier, earlier_levels, risk in qs.iterator(
            chunk_size=CHUNK_SIZE
        ):
            yield (
                tn,
                "",
                on,
                _bool(contra),
                details or None,
                _levels(planned) or None,
                len(planned or []),
                _bool(earlier),
                _levels(earlier_levels) or None,
                _bool(risk),
            )

    def sql_source(self) -> SqlSource:
        return SqlSource.from_queryset(
            m.SurgicalAssessment.objects.order_by(by_trial_number()).values_list(
                "participant__trial_number",
                Value(""),
                "assessed_on",
                "contraindication",
                "contraindication_details",
                JsonListText("planned_levels"),
                JsonListLength("planned_levels"),
                "earlier_fractures",
                JsonListText("earlier_fracture_levels"),
                "risk_information_given",
            )
        )


@register
class DeathExporter(QueryExporter):
    identifier = "deaths"
    label = _("Deaths")
    order = 80

    def variables(self) -> list[Variable]:
        return [
            Variable("date_of_death", _("Date of death"), "date"),
            coded("death_related_to", _("Death related to"), m.DeathRelation.choices),
            Variable("cause", _("Cause of death"), free_text=True),
        ]

    model = m.Death
    fields = ("date_of_death", "relation", "cause")


@register
class WithdrawalExporter(QueryExporter):
    identifier = "withdrawals"
    label = _("Withdrawals")
    order = 85

    def variables(self) -> list[Variable]:
        return [
            Variable("withdrawn_on", _("Date of withdrawal"), "date"),
            coded("initiated_by", _("Withdrawn by"), m.WithdrawalInitiator.choices),
            Variable("reason", _("Reason"), free_text=True),
            boolean("data_use_allowed", _("Data collected so far may be used")),
        ]

    model = m.Withdrawal
    fields = ("withdrawn_on", "initiated_by", "reason", "data_use_allowed")


IDENTITY_VARIABLES = (
    Variable("full_name", _("Full name"), identifying=True),
    Variable("cpr", _("CPR number"), identifying=True),
    Variable("phone", _("Phone"), identifying=True),
    Variable("email", _("E-mail"), identifying=True),
    Variable("address", _("Address"), identifying=True),
)


@register
class IdentityExporter(QueryExporter):
    """Identifying data: only in an identified export (data managers, with a reason)."""

    identifier = "identity"
    label = _("Identifying data")
    description = _("Names, CPR numbers and contact details. Identified exports only.")
    identifying = True
    order = 1

    def variables(self) -> list[Variable]:
        return list(IDENTITY_VARIABLES)

    model = m.Identity
    fields = ("full_name", "cpr", "phone", "email", "address")


# --- the trial's columns of the wide analysis file -----------------------------------------


def _base_variables() -> list[Variable]:
    return [
        Variable("site", _("Site code")),
        coded("sex", _("Sex"), m.Sex.choices),
        Variable("year_of_birth", _("Year of birth"), "integer"),
        coded("status", _("Status in the trial"), m.ParticipantStatus.choices),
        coded("myeloma_status", _("Myeloma status"), m.MyelomaStatus.choices),
        coded("iss_stage", _("ISS stage"), m.ISSStage.choices),
        coded("riss_stage", _("R-ISS stage"), m.ISSStage.choices),
        Variable("prior_lines", _("Lines of prior treatment"), "integer"),
        coded("disease_status", _("Current disease status (IMWG)"), m.DiseaseStatus.choices),
        coded("bone_therapy", _("Bone-targeted therapy"), m.BoneTherapy.choices),
        boolean("opioid", _("Opioid at baseline")),
        Variable("opioid_ome_mg_day", _("Opioid dose at baseline (OME)"), "decimal", unit="mg/day"),
        boolean("spinal_radiotherapy", _("Earlier radiotherapy to the spine")),
        Variable("planned_level_count", _("Number of planned PVP levels"), "integer"),
        boolean("earlier_fractures", _("Earlier vertebral fractures not to be treated")),
        boolean("died", _("Died")),
        Variable("date_of_death", _("Date of death"), "date"),
        coded("death_related_to", _("Death related to"), m.DeathRelation.choices),
        boolean("withdrawn", _("Withdrawn")),
        Variable("withdrawn_on", _("Date of withdrawal"), "date"),
        boolean("withdrawal_data_use", _("Data may be used after withdrawal")),
    ]


def participant_stream() -> Iterator[tuple[int, str, tuple]]:
    """``(participant_id, trial_number, base values)`` for every participant, by id.

    The one-to-one forms are LEFT JOINs of the same query, so this is one query however many
    participants there are.
    """
    qs = m.Participant.objects.order_by("id").values_list(
        "id",
        "trial_number",
        "site__code",
        "sex",
        "year_of_birth",
        "status",
        "screening_form__myeloma_status",
        "screening_form__iss_stage",
        "screening_form__riss_stage",
        "screening_form__prior_lines",
        "screening_form__disease_status",
        "screening_form__bone_therapy",
        "screening_form__opioid",
        "screening_form__opioid_ome_mg_per_day",
        "screening_form__previous_spinal_radiotherapy",
        "surgical_assessment__planned_levels",
        "surgical_assessment__earlier_fractures",
        "death__date_of_death",
        "death__relation",
        "withdrawal__withdrawn_on",
        "withdrawal__data_use_allowed",
    )
    for r in qs.iterator(chunk_size=CHUNK_SIZE):
        planned = r[15]
        values = (
            *r[2:12],
            _bool(r[12]),
            r[13],
            _bool(r[14]),
            len(planned) if isinstance(planned, list) else None,
            _bool(r[16]),
            int(r[17] is not None),
            r[17],
            r[18],
            int(r[19] is not None),
            r[19],
            _bool(r[20]),
        )
        yield r[0], r[1], values


def _identity_rows() -> Iterator[tuple[int, tuple]]:
    qs = m.Identity.objects.order_by("participant_id").values_list(
        "participant_id", "full_name", "cpr", "phone", "email", "address"
    )
    for pid, *values in qs.iterator(chunk_size=CHUNK_SIZE):
        yield pid, tuple(v or None for v in values)


exporters.add_analysis(
    AnalysisColumns("identity", lambda: list(IDENTITY_VARIABLES), _identity_rows, order=1)
)

# Treatment exporters (procedures, levels, adverse events) live in their own module.
from trial import exports_treatment  # noqa: E402, F401
