"""The questionnaires app's part of the outcome report: submitted scores per visit.

Discovered by ``trial.registry.autodiscover_dashboards``. The scores are the ones stored at
submission by questionnaires.scoring (the one place scoring is done); nothing is re-scored here.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from questionnaires.models import QuestionnaireResponse, ResponseStatus
from trial.protocol.visits import BASELINE
from trial.registry import dashboard

# The report's measures and the start of their columns in the export's analysis file
# (questionnaires.exports.MEASURES names them; "<start>_<visit>", e.g. odi_score_w4).
REPORT_MEASURE_COLUMNS = {
    "odi": "odi_score",
    "vas_back": "vas_back",
    "vas_leg": "vas_leg",
    "eq5d_index": "eq5d_index",
}


def score_variables() -> dict[str, str]:
    return dict(REPORT_MEASURE_COLUMNS)


def _number(value) -> float | None:
    try:
        return None if value in (None, "") else float(Decimal(str(value)))
    except (InvalidOperation, ValueError):
        return None


def scores() -> dict:
    """{"baseline": "BL", "rows": {(participant id, visit code): {measure: value}}}.

    Measures: ``odi`` (0-100), ``vas_back`` and ``vas_leg`` (0-100), ``eq5d_index``. One query.
    """
    rows: dict[tuple[int, str], dict] = {}
    qs = QuestionnaireResponse.objects.filter(
        status=ResponseStatus.SUBMITTED, instrument_code__in=("odi", "vas", "eq5d3l")
    ).values_list("participant_id", "visit_code", "instrument_code", "answers", "scores")
    for pid, visit, instrument, answers, stored in qs.iterator(chunk_size=2000):
        row = rows.setdefault((pid, visit), {})
        if instrument == "odi":
            row["odi"] = _number(stored.get("odi_score"))
        elif instrument == "vas":
            row["vas_back"] = _number(answers.get("vas_back"))
            row["vas_leg"] = _number(answers.get("vas_leg"))
        else:
            row["eq5d_index"] = _number(stored.get("eq5d_index"))
    return {"baseline": BASELINE, "rows": rows}


dashboard.add_report_source("scores", scores)
dashboard.add_report_source("score_variables", score_variables)
