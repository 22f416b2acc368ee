"""The analysis scripts every full export carries, in ``analysis/``:

* ``reproduce.py``: trial.reports.reproduce_script, which reads the export's wide analysis file
  (in whatever format the export is) and reproduces the outcome report's primary and
  sensitivity analyses, printing them as the report does;
* ``vertebra_models.py`` and ``vertebra_statistics.py``: copies of the report's own statistics
  (trial.reports.models_analysis, trial.reports.statistics), so the script runs the same code;
* ``config.json``: what the script needs to know, taken here from the rules' homes: the primary
  outcome and its visit (the schedule), the columns that hold them, the covariates (the strata's
  factors and the site), the populations, the responder threshold and the imputation's settings;
* ``reproduce.do``: the same analyses for Stata (the template
  trial/templates/trial/exports/analysis/reproduce.do);
* ``README.txt``: how to run them.

The configuration is written in English, the language the script prints in.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from trial.exports.formats import csv as csv_format
from trial.exports.formats import stata, xlsx
from trial.exports.tables import Table
from trial.protocol import active_schedule
from trial.protocol.schedule import visit_variable_suffix
from trial.protocol.visits import BASELINE
from trial.registry import dashboard
from trial.reports import adjusted, models_analysis, populations, reproduce_script, statistics
from trial.reports.outcome_data import measure_labels, schedule_visits

ANALYSIS_DIR = "analysis"
ANALYSIS_TABLE = "analysis"
STRATUM_PREFIX = "stratum_"  # randomization.exports names a factor's column stratum_<factor>


def _source(module: Any) -> bytes:
    return Path(module.__file__).read_bytes()


def analysis_config(tables: list[Table]) -> dict:
    """What the scripts need to read the export's analysis file and run the report's models."""
    analysis = next(t for t in tables if t.code == ANALYSIS_TABLE)
    variables = {v.name: v for v in analysis.variables}
    prefixes = dashboard.report_source("score_variables") or {}

    def column(measure: str, visit: str | None) -> str | None:
        if visit is None or measure not in prefixes:
            return None
        name = f"{prefixes[measure]}_{visit_variable_suffix(visit)}"
        return name if name in variables else None

    with translation.override("en"):
        labels = adjusted.covariate_labels()
        factors = dashboard.report_source("strata_factors") or {}
        covariates = [
            {"name": code, "column": f"{STRATUM_PREFIX}{code}", "label": labels.get(code, code)}
            for code in factors
            if f"{STRATUM_PREFIX}{code}" in variables
        ]
        covariates.append({"name": adjusted.SITE, "column": "site", "label": labels[adjusted.SITE]})
        visits = schedule_visits()
        primary_visit = next((v["code"] for v in visits if v["primary"]), None)
        measure = active_schedule().primary_measure or ""
        measures = measure_labels()
        threshold = adjusted.mcid()
        config: dict[str, Any] = {
            "trial": settings.TRIAL_NAME,
            "files": {
                "csv": csv_format.CSV_WIDE_NAME,
                "stata": stata.dta_name(ANALYSIS_TABLE),
                "xlsx": xlsx.XLSX_NAME,
                "xlsx_sheet": xlsx.sheet_title(ANALYSIS_TABLE),
            },
            "arms": {"treated": models_analysis.TREATED, "control": models_analysis.CONTROL},
            "columns": {
                "trial_number": "trial_number",
                "arm": "arm",
                "as_treated": "arm_as_treated",
                "analysed": "analysed",
                "per_protocol": "per_protocol",
            },
            "populations": {k: str(v) for k, v in populations.population_labels().items()},
            "population_definitions": {k: str(v) for k, v in populations.definitions().items()},
            "covariates": covariates,
            "primary": {
                "measure": measure,
                "label": str(measures.get(measure, measure)),
                "visit": primary_visit,
                "column": column(measure, primary_visit),
                "baseline_column": column(measure, BASELINE),
                "places": adjusted.measure_places(measure),
            },
            "responder": {
                "measure": "odi",
                "column": column("odi", primary_visit),
                "baseline_column": column("odi", BASELINE),
                "threshold": threshold,
                "threshold_text": f"{threshold:g}",
            }
            if primary_visit
            else None,
            "repeated": [
                {
                    "measure": code,
                    "label": str(label),
                    "places": adjusted.measure_places(code),
                    "baseline": column(code, BASELINE),
                    "visits": [
                        {"code": v, "column": column(code, v)}
                        for v in adjusted.measure_visits(visits, BASELINE, code)
                    ],
                }
                for code, label in measures.items()
                if adjusted.measure_visits(visits, BASELINE, code)
            ],
            "mice": {
                "imputations": models_analysis.MICE_IMPUTATIONS,
                "burn_in": models_analysis.MICE_BURN_IN,
                "seed": models_analysis.MICE_SEED,
            },
            "stata_codes": {
                name: {str(n): code for code, n in stata.code_numbers(var).items()}
                for name, var in variables.items()
                if var.codes and var.type == "text"
            },
        }
    return config


def _numeric_columns(config: dict) -> list[str]:
    columns = {config["primary"]["column"], config["primary"]["baseline_column"]}
    for measure in config["repeated"]:
        columns.add(measure["baseline"])
        columns.update(v["column"] for v in measure["visits"])
    return sorted(c for c in columns if c)


def write_analysis_files(zf: zipfile.ZipFile, tables: list[Table]) -> None:
    """Add ``analysis/`` to a full export (see the module's docstring)."""
    config = analysis_config(tables)
    zf.writestr(f"{ANALYSIS_DIR}/config.json", json.dumps(config, indent=2, ensure_ascii=False))
    zf.writestr(f"{ANALYSIS_DIR}/reproduce.py", _source(reproduce_script))
    zf.writestr(f"{ANALYSIS_DIR}/vertebra_models.py", _source(models_analysis))
    zf.writestr(f"{ANALYSIS_DIR}/vertebra_statistics.py", _source(statistics))
    context = {
        "config": config,
        "numeric": _numeric_columns(config),
        "coded": [
            c["column"] for c in config["covariates"] if c["column"] in config["stata_codes"]
        ],
        "repeated": [
            {**m, "visits": [v for v in m["visits"] if v["column"]]}
            for m in config["repeated"]
            if m["baseline"] and any(v["column"] for v in m["visits"])
        ],
    }
    zf.writestr(
        f"{ANALYSIS_DIR}/reproduce.do",
        render_to_string("trial/exports/analysis/reproduce.do", context),
    )
    zf.writestr(
        f"{ANALYSIS_DIR}/README.txt",
        "\n".join(
            [
                _("Analysis scripts of this export"),
                "",
                _(
                    "reproduce.py reproduces the outcome report's primary and sensitivity "
                    "analyses from this export's analysis file, with the report's own statistics "
                    "(vertebra_models.py, vertebra_statistics.py). It needs Python 3.11 with "
                    "pandas, numpy, scipy, statsmodels and patsy (and openpyxl for XLSX). Run it "
                    "in the unpacked export's folder: python analysis/reproduce.py"
                ),
                _(
                    "reproduce.do runs the same models in Stata 16 or later: do "
                    "analysis/reproduce.do. ANCOVA, Welch and the mixed models give the report's "
                    "figures; the multiple imputation draws Stata's own random numbers, so it "
                    "agrees within Monte Carlo error only, and its responder interval is Wald's "
                    "where the report gives Newcombe's."
                ),
                _("config.json names the columns, covariates and settings both scripts use."),
                "",
            ]
        ),
    )
