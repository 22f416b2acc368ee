"""The exporter registry: what an exporter is, and the list of them.

An *exporter* is a small registered class that describes one form (a table of the trial's
data): its variables for the codebook and a ``rows()`` generator streaming the records with a
constant number of queries (``values_list(...).iterator(chunk_size=...)``, never a query per
participant). Every app adds its exporters in its own ``<app>/exports.py`` module, discovered
like Django admin's ``admin.py`` (``autodiscover()`` below), so ``trial`` imports none of them.
The trial's own exporters (trial.exports.trial_exporters, trial.exports.treatment_exporters)
are registered by ``trial.exports.register()`` at start-up.

This module imports no models, so the models (ExportRun) and every app's exporters can import
it without an import cycle.

Apps also contribute *analysis columns*: variables of the wide analysis file (one row per
participant), streamed in participant order so that the file is a merge of sorted streams
with flat memory (``trial.exports.tables.analysis_table``).

Exports are pseudonymised: participants are known by trial number only. Variables marked
``identifying`` (names, CPR numbers, contact details) exist only in the identity exporter,
which runs only for an identified export (data managers, with a reason; trial.exports.views).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass
from dataclasses import field as dataclass_field
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
    # Computed by the system (a score, the as-treated arm): on the annotated CRF it is
    # annotated but has no box to fill.
    derived: bool = False

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
    # The participants (ids) whose records are wanted, e.g. one page of the web API; None: all.
    participant_ids: Collection[int] | None = None
    # The visits (codes) whose records are wanted (the web API's ``visit=``); None: all. Only
    # an exporter that names ``visit_field`` filters in SQL; the API filters the rest itself.
    visit_codes: Collection[str] | None = None
    visit_field: ClassVar[str | None] = None  # path of the visit code in restrict()'s queryset

    def for_participants(self, ids: Collection[int]) -> Exporter:
        self.participant_ids = ids
        return self

    def for_visits(self, codes: Collection[str]) -> Exporter:
        self.visit_codes = codes
        return self

    def visit_lookup(self) -> str | None:
        return self.visit_field

    def changed_sources(self) -> list[tuple[Any, dict[str, Any]]] | None:
        """The audited models (with a filter of their history rows) every record of this form
        is made of, so that "changed since" can ask their history alone (the web API's
        ``modified_since``); None: not declared, any audited write of a participant counts."""
        return None

    def restrict(self, queryset, trial_number: str = "participant__trial_number"):
        """``queryset`` limited to ``participant_ids`` (and ``visit_codes`` where the exporter
        knows its visit field); ``trial_number`` is the path to the participant's trial
        number, as the exporter orders by it."""
        visit = self.visit_lookup()
        if self.visit_codes is not None and visit is not None:
            queryset = queryset.filter(**{f"{visit}__in": self.visit_codes})
        if self.participant_ids is None:
            return queryset
        path = "pk" if trial_number == "trial_number" else trial_number[: -len("__trial_number")]
        return queryset.filter(**{f"{path}__in": self.participant_ids})

    # A form people fill, printed on the blank annotated CRF (trial.exports.crf); False for
    # records the system keeps by itself (contacts, the participant register, queries).
    on_crf: ClassVar[bool] = True

    def variables(self) -> list[Variable]:
        raise NotImplementedError

    def rows(self) -> Iterator[tuple]:
        raise NotImplementedError

    def sql_source(self):
        """The same records as one SELECT for PostgreSQL's COPY (``trial.exports.sql.SqlSource``),
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
        from trial.exports.sql import JsonListText

        key = self.key or Value("")
        order = (by_trial_number(self.trial_number), *self.order_by)
        columns = [
            JsonListText(name) if lists_as_text and self._is_json(name) else name
            for name in self.fields
        ]
        qs = self.restrict(self.base_queryset(), self.trial_number)
        return qs.order_by(*order).values_list(self.trial_number, key, *columns)

    def visit_lookup(self) -> str | None:
        # The key is the visit code's path for forms keyed by visit (contacts, calls...).
        if self.visit_field or not (self.repeated and self.key_name == "visit"):
            return self.visit_field
        return self.key if isinstance(self.key, str) else None

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
        from trial.exports.sql import SqlSource

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


@dataclass(frozen=True)
class CrfWording:
    """The words a form is filled with in one language, for the annotated CRF: a title, an
    introduction, and per variable its question and the text of each code (the questionnaires'
    wording). ``demo`` marks wording that is not the licensed text."""

    title: str = ""
    intro: str = ""
    demo: bool = False
    questions: dict[str, str] = dataclass_field(default_factory=dict)
    choices: dict[str, dict[Any, str]] = dataclass_field(default_factory=dict)


class ExporterRegistry:
    def __init__(self) -> None:
        self._exporters: dict[str, type[Exporter]] = {}
        self._analysis: dict[str, AnalysisColumns] = {}
        # Exporter identifier -> fn(language) -> CrfWording or None (no wording in it).
        self._crf_wording: dict[str, Callable[[str], CrfWording | None]] = {}

    def add_crf_wording(self, identifier: str, fn: Callable[[str], CrfWording | None]) -> None:
        self._crf_wording[identifier] = fn

    def crf_wording(self, identifier: str, language: str) -> CrfWording | None:
        fn = self._crf_wording.get(identifier)
        return None if fn is None else fn(language)

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
