"""The questionnaires app's exports: responses with their items and scores.

One form per instrument (ODI, VAS, EQ-5D-3L, health-service use), one record per participant
and visit, submitted responses only. The scores are those kept with each response, computed at
submission and at each correction by the instruments' scorers (questionnaires.scoring, the one
place scoring is done) with the trial's scoring settings; the outcome report reads the same, so
the export and the report give one number for one response.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext_lazy as _

from questionnaires.instruments import INSTRUMENTS, WordingError, load_wording
from questionnaires.instruments.base import Instrument, Item
from questionnaires.models import Mode, QuestionnaireResponse, ResponseStatus
from questionnaires.scoring import ODI_BANDS
from trial.exports.registry import (
    CHUNK_SIZE,
    AnalysisColumns,
    CrfWording,
    Exporter,
    Variable,
    boolean,
    by_trial_number,
    coded,
    exporters,
    localizer,
    register,
)
from trial.exports.sql import SqlSource
from trial.models import Participant
from trial.protocol.schedule import visit_variable_suffix
from trial.protocol.visits import questionnaire_visits

ITEM_UNITS = {"vas": "mm (0-100)", "count": "count"}
SCORE_VARIABLES = {
    "odi": (
        Variable("odi_score", _("ODI score"), "decimal", allowed="0-100", unit="%", derived=True),
        coded("odi_band", _("ODI band"), [(band, band) for _, band in ODI_BANDS], derived=True),
    ),
    "eq5d3l": (
        Variable(
            "eq5d_profile",
            _("EQ-5D-3L profile (MO SC UA PD AD)"),
            allowed="11111-33333",
            derived=True,
        ),
        Variable("eq5d_index", _("EQ-5D-3L index"), "decimal", allowed="-0.624-1", derived=True),
        coded(
            "eq5d_value_set",
            _("EQ-5D value set"),
            (("DK", "Denmark"), ("UK", "UK")),
            derived=True,
        ),
    ),
}


def item_variable(instrument: Instrument, item: Item) -> Variable:
    label = f"{instrument.name}: {item.key.replace('_', ' ')}"
    if item.kind == "choice":
        return Variable(item.code, label, "integer", codes=tuple((c, str(c)) for c in item.choices))
    return Variable(
        item.code,
        label,
        "integer",
        allowed=f"{item.min_value}-{item.max_value}",
        unit=ITEM_UNITS.get(item.kind, ""),
    )


def stored_scores(code: str, stored: dict | None) -> tuple:
    """The scores kept with a response (computed at submission, and again at each correction,
    by the instrument's scorer with the trial's scoring settings: ``questionnaires.services``),
    in the order of ``SCORE_VARIABLES``. The outcome report reads the same stored scores, so
    the export and the report never disagree; nothing is re-scored here."""
    stored = stored or {}
    return tuple(_typed(v, stored.get(v.name)) for v in SCORE_VARIABLES.get(code, ()))


def _typed(variable: Variable, value):
    if value in (None, ""):
        return None
    return Decimal(str(value)) if variable.type == "decimal" else value


class InstrumentExporter(Exporter):
    source_app = "questionnaires"
    repeated = True
    instrument_code: str
    visit_field = "visit_code"  # the web API's visit= filters in SQL

    def changed_sources(self) -> list[tuple[Any, dict[str, Any]]]:
        # A record is one response: its answers and the scores kept with them.
        return [(QuestionnaireResponse, {"instrument_code": self.instrument_code})]

    @property
    def instrument(self) -> Instrument:
        return INSTRUMENTS[self.instrument_code]

    def variables(self) -> list[Variable]:
        return [
            coded("mode", _("How the questionnaire was filled"), Mode.choices),
            Variable("submitted_at", _("Submitted"), "datetime"),
            boolean("out_of_window", _("Submitted outside the visit's window")),
            *(item_variable(self.instrument, item) for item in self.instrument.items),
            *SCORE_VARIABLES.get(self.instrument_code, ()),
        ]

    def rows(self) -> Iterator[tuple]:
        codes = self.instrument.item_codes
        qs = (
            self.restrict(QuestionnaireResponse.objects.all())
            .filter(status=ResponseStatus.SUBMITTED, instrument_code=self.instrument_code)
            .order_by(by_trial_number(), "submitted_at", "id")
            .values_list(
                "participant__trial_number",
                "visit_code",
                "mode",
                "submitted_at",
                "out_of_window",
                "answers",
                "scores",
            )
        )
        to_local = localizer()
        for tn, visit, mode, at, late, answers, stored in qs.iterator(chunk_size=CHUNK_SIZE):
            answers = answers or {}
            items = (answers.get(c) for c in codes)
            scores = stored_scores(self.instrument_code, stored)
            yield (tn, visit, mode, to_local(at), int(late), *items, *scores)

    def sql_source(self) -> SqlSource:
        """The same records for COPY: items and stored scores read from their JSON by key."""
        code = self.instrument_code
        names = [v.name for v in SCORE_VARIABLES.get(code, ())]
        items = ", ".join("r.answers ->> %s" for _ in self.instrument.item_codes)
        scores = "".join(", NULLIF(r.scores ->> %s, '')" for _ in names)
        sql = f"""
            SELECT p.trial_number, r.visit_code, r.mode, r.submitted_at, r.out_of_window,
                {items}{scores}
            FROM {QuestionnaireResponse._meta.db_table} r
            JOIN {Participant._meta.db_table} p ON p.id = r.participant_id
            WHERE r.status = %s AND r.instrument_code = %s
            ORDER BY p.trial_number COLLATE "C", r.submitted_at, r.id
        """  # noqa: S608 - names from the instruments' own definitions, values as parameters
        params = (*self.instrument.item_codes, *names, ResponseStatus.SUBMITTED, code)
        return SqlSource(sql, params)


def _instrument_exporter(code: str, order: int) -> type[InstrumentExporter]:
    instrument = INSTRUMENTS[code]
    return type(
        f"{code.upper()}Exporter",
        (InstrumentExporter,),
        {
            "identifier": f"q_{code}",
            "label": instrument.name,
            "description": _("Submitted responses, items and scores, per visit."),
            "instrument_code": code,
            "order": order,
            "__module__": __name__,
        },
    )


for _order, _code in enumerate(INSTRUMENTS, start=100):
    register(_instrument_exporter(_code, _order))


# --- scores at every visit in the wide analysis file ---------------------------------------
# (instrument, measure, label): the analysis measures, from an item or a score.
MEASURES = (
    ("odi", "odi_score", _("ODI score")),
    ("vas", "vas_back", _("Back pain VAS")),
    ("vas", "vas_leg", _("Leg pain VAS")),
    ("eq5d3l", "eq5d_index", _("EQ-5D-3L index")),
    ("eq5d3l", "eq_vas", _("EQ VAS")),
)


def _columns() -> list[tuple[str, str, str, object]]:
    """(visit, instrument, measure, label) for every measure collected at every visit."""
    columns: list[tuple[str, str, str, object]] = []
    for visit in questionnaire_visits():
        for instrument, measure, label in MEASURES:
            if instrument in visit.instruments:
                columns.append((visit.code, instrument, measure, label))
    return columns


def analysis_variables() -> list[Variable]:
    return [
        Variable(
            f"{measure}_{visit_variable_suffix(visit)}",
            f"{label}, {visit}",
            "decimal" if measure in ("odi_score", "eq5d_index") else "integer",
        )
        for visit, _instrument, measure, label in _columns()
    ]


def analysis_rows() -> Iterator[tuple[int, tuple]]:
    columns = _columns()
    position = {(v, i, mm): n for n, (v, i, mm, _label) in enumerate(columns)}
    wanted = {i for _v, i, _m, _l in columns}
    score_names = {code: [v.name for v in SCORE_VARIABLES.get(code, ())] for code in wanted}
    qs = (
        QuestionnaireResponse.objects.filter(
            status=ResponseStatus.SUBMITTED, instrument_code__in=wanted
        )
        .order_by("participant_id")
        .values_list("participant_id", "visit_code", "instrument_code", "answers", "scores")
    )
    current, values = None, []
    for pid, visit, code, answers, stored in qs.iterator(chunk_size=CHUNK_SIZE):
        if pid != current:
            if current is not None:
                yield current, tuple(values)
            current, values = pid, [None] * len(columns)
        named = dict(answers or {})
        named.update(zip(score_names[code], stored_scores(code, stored), strict=True))
        for measure in ("odi_score", "vas_back", "vas_leg", "eq5d_index", "eq_vas"):
            n = position.get((visit, code, measure))
            if n is not None:
                values[n] = named.get(measure)
    if current is not None:
        yield current, tuple(values)


exporters.add_analysis(
    AnalysisColumns("questionnaires", analysis_variables, analysis_rows, order=50)
)


def crf_wording(code: str):
    """The instrument's wording in ``language`` for the annotated CRF (None without a file):
    each item's question, the text of each choice, and a slider's two anchors."""

    def wording(language: str) -> CrfWording | None:
        try:
            loaded = load_wording(code, language)
        except WordingError:
            return None
        choices: dict[str, dict] = {}
        for item_code, item in loaded.items.items():
            texts: dict = dict(item.choices)
            if item.anchors:
                instrument_item = INSTRUMENTS[code].item(item_code)
                texts = {
                    instrument_item.min_value: item.anchors.get("low", ""),
                    instrument_item.max_value: item.anchors.get("high", ""),
                }
            choices[item_code] = texts
        return CrfWording(
            title=loaded.title,
            intro=loaded.intro,
            demo=loaded.demo,
            questions={c: item.text for c, item in loaded.items.items()},
            choices=choices,
        )

    return wording


for _code in INSTRUMENTS:
    exporters.add_crf_wording(f"q_{_code}", crf_wording(_code))
