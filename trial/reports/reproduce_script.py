"""Reproduce the outcome report's primary and sensitivity analyses from an export.

Every full export carries this file as ``analysis/reproduce.py``, with ``config.json`` (what
the export's files hold: the primary outcome, its columns, the covariates, the settings) and
copies of the report's own statistics (``vertebra_models.py``, ``vertebra_statistics.py``,
trial.reports.models_analysis and trial.reports.statistics), so the figures come from the very
code the report runs. It needs Python 3.11 with pandas, numpy, scipy, statsmodels and patsy
(and openpyxl for an XLSX export):

    python analysis/reproduce.py                  # run inside the unpacked export
    python reproduce.py path/to/export.zip        # or on the ZIP itself
    python reproduce.py export.zip --json out.json

It reads the wide analysis file (one row per participant) of whatever format the export is
in: CSV, Stata or XLSX (an ODM export carries the analysis file as CSV beside its XML). The
analysis populations are the export's flags (``analysed``, ``per_protocol``,
``arm_as_treated``), computed by the system from their one definition, which the codebook
states. Numbers are printed as the report prints them in
English, so the two can be compared line by line.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import zipfile
from pathlib import Path
from typing import Any

import pandas as pd

HERE = Path(__file__).resolve().parent
ITT, AS_TREATED, PER_PROTOCOL = "itt", "as_treated", "per_protocol"
Y, BASE = "y", "base"
TRUE = {"1", "1.0", "true", "True", "TRUE"}


def _modules() -> tuple[Any, Any]:
    """The report's statistics: the copies beside this file in an export, the app's own
    modules when run from the repository."""
    if (HERE / "vertebra_models.py").exists():
        sys.path.insert(0, str(HERE))
        import vertebra_models  # type: ignore[import-not-found]
        import vertebra_statistics  # type: ignore[import-not-found]

        return vertebra_models, vertebra_statistics
    from trial.reports import models_analysis, statistics

    return models_analysis, statistics


class Export:
    """The files of an export, unpacked in a folder or still in their ZIP."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.zip = zipfile.ZipFile(path) if path.is_file() else None

    def has(self, name: str) -> bool:
        if self.zip is not None:
            return name in self.zip.namelist()
        return (self.path / name).exists()

    def read(self, name: str) -> bytes:
        if self.zip is not None:
            return self.zip.read(name)
        return (self.path / name).read_bytes()


def _blank_to_na(df: pd.DataFrame) -> pd.DataFrame:
    return df.astype(object).where(df != "", None)


def read_analysis_file(export: Export, config: dict) -> pd.DataFrame:
    """The wide analysis file as text columns (codes, not labels), missing values as None."""
    files = config["files"]
    if export.has(files["csv"]):
        df = pd.read_csv(io.BytesIO(export.read(files["csv"])), dtype=str, keep_default_na=False)
        return _blank_to_na(df)
    if export.has(files["stata"]):
        df = pd.read_stata(io.BytesIO(export.read(files["stata"])), convert_categoricals=False)
        for column, numbers in config["stata_codes"].items():
            if column in df.columns:
                df[column] = df[column].map(
                    lambda v, n=numbers: None if pd.isna(v) else n.get(str(int(v)))
                )
        return df.astype(object).where(df.notna(), None)
    if export.has(files["xlsx"]):
        df = pd.read_excel(
            io.BytesIO(export.read(files["xlsx"])), sheet_name=files["xlsx_sheet"], dtype=str
        )
        return df.astype(object).where(df.notna(), None)
    raise SystemExit("No analysis file found: is this a full export?")


def _flag(value: Any) -> bool:
    return value is not None and str(value) in TRUE


def _number(value: Any) -> float | None:
    try:
        return None if value is None or value == "" else float(value)
    except (TypeError, ValueError):
        return None


def population(df: pd.DataFrame, which: str, config: dict) -> list[tuple[dict, str]]:
    """The rows of a population, each with the arm it is analysed in (the export's flags)."""
    c = config["columns"]
    members = []
    for row in df.to_dict("records"):
        if not _flag(row.get(c["analysed"])) or not row.get(c["arm"]):
            continue
        if which == ITT:
            members.append((row, row[c["arm"]]))
        elif which == AS_TREATED and row.get(c["as_treated"]):
            members.append((row, row[c["as_treated"]]))
        elif which == PER_PROTOCOL and _flag(row.get(c["per_protocol"])):
            members.append((row, row[c["arm"]]))
    return members


def _covariate_values(row: dict, config: dict) -> dict:
    return {cov["name"]: row.get(cov["column"]) for cov in config["covariates"]}


def wide_rows(members, column: str | None, baseline: str | None, config: dict) -> list[dict]:
    c = config["columns"]
    return [
        {
            "arm": arm,
            "trial_number": row[c["trial_number"]],
            **_covariate_values(row, config),
            Y: _number(row.get(column)) if column else None,
            BASE: _number(row.get(baseline)) if baseline else None,
        }
        for row, arm in members
    ]


def long_rows(members, visits: list[dict], baseline: str | None, config: dict) -> list[dict]:
    c, rows = config["columns"], []
    for row, arm in members:
        base = _number(row.get(baseline)) if baseline else None
        for visit in visits:
            value = _number(row.get(visit["column"]))
            if value is not None:
                rows.append(
                    {
                        "arm": arm,
                        "trial_number": row[c["trial_number"]],
                        **_covariate_values(row, config),
                        "pid": row[c["trial_number"]],
                        "visit": visit["code"],
                        Y: value,
                        BASE: base,
                    }
                )
    return rows


# How the report writes numbers (trial.reports.formatting, in English).
def num(value: float | None, places: int = 1) -> str:
    return "–" if value is None else f"{round(value, places):.{places}f}"


def p_text(p: float | None) -> str:
    if p is None:
        return "–"
    return "< 0.001" if p < 0.001 else num(p, 3)


def estimate_text(est: Any, places: int) -> str:
    if est.estimate is None:
        return f"not estimable: {est.not_estimable}"
    return (
        f"{num(est.estimate, places)} (95% CI {num(est.ci_low, places)} to "
        f"{num(est.ci_high, places)}; p {p_text(est.p)})"
    )


def welch_text(diff: Any, places: int) -> str:
    if diff.difference is None or diff.ci_low is None:
        return "not estimable: too few participants with a value in each arm"
    return (
        f"{num(diff.difference, places)} (95% CI {num(diff.ci_low, places)} to "
        f"{num(diff.ci_high, places)}; p {p_text(diff.p)})"
    )


def analyse(df: pd.DataFrame, config: dict) -> tuple[list[str], dict]:
    """The report's primary and sensitivity analyses: printed lines and raw results."""
    models, statistics = _modules()
    primary = config["primary"]
    places, column, baseline = primary["places"], primary["column"], primary["baseline_column"]
    names = [cov["name"] for cov in config["covariates"]]
    labels = {cov["name"]: cov["label"] for cov in config["covariates"]}
    out = [
        f"{config['trial']}: {primary['label']} at {primary['visit']}, PVP minus conservative care",
        f"Adjusted for the baseline value and {', '.join(labels.values())}.",
        "",
    ]
    results: dict[str, Any] = {"populations": {}}
    for which, label in config["populations"].items():
        rows = wide_rows(population(df, which, config), column, baseline, config)
        welch = statistics.welch_difference(
            [r[Y] for r in rows if r["arm"] == models.TREATED],
            [r[Y] for r in rows if r["arm"] == models.CONTROL],
        )
        est = models.ancova(rows, Y, BASE, names, labels=labels)
        out += [
            f"{label}",
            f"  ANCOVA (n {est.n_treated} / {est.n_control}): {estimate_text(est, places)}",
            f"  Welch (n {welch.n_a} / {welch.n_b}): {welch_text(welch, places)}",
            *(f"  note: {n}" for n in est.notes),
        ]
        results["populations"][which] = {"ancova": est.__dict__, "welch": welch.__dict__}
    itt = wide_rows(population(df, ITT, config), column, baseline, config)
    mice_settings = config["mice"]
    mice = models.mice_primary(
        itt,
        Y,
        BASE,
        names,
        imputations=mice_settings["imputations"],
        burn_in=mice_settings["burn_in"],
        seed=mice_settings["seed"],
        labels=labels,
    )
    complete = models.ancova(itt, Y, BASE, names, labels=labels)
    out += [
        "",
        "Missing data (intention to treat)",
        f"  Complete cases: {estimate_text(complete, places)}",
        f"  Multiple imputation ({mice.imputations} imputations, {mice.n_imputed} "
        f"participants imputed): {estimate_text(mice.pooled, places)}",
    ]
    results["mice"] = {**mice.pooled.__dict__, "n_imputed": mice.n_imputed}
    responder = config["responder"]
    if responder:
        rows = wide_rows(
            population(df, ITT, config), responder["column"], responder["baseline_column"], config
        )
        rd = models.responders(rows, Y, BASE, responder["threshold"])
        if rd.difference is None or rd.ci_low is None:
            text = f"not estimable: {rd.not_estimable or '–'}"
        else:
            text = (
                f"{num(100 * rd.difference, 1)} percentage points (95% CI "
                f"{num(100 * rd.ci_low, 1)} to {num(100 * (rd.ci_high or 0), 1)})"
            )
        out += [
            "",
            f"Responders (improvement of at least {responder['threshold_text']} points)",
            f"  PVP {rd.responders_treated}/{rd.n_treated} "
            f"({num(rd.percent_treated, 1)}%), conservative {rd.responders_control}/"
            f"{rd.n_control} ({num(rd.percent_control, 1)}%): {text}",
        ]
        results["responders"] = rd.__dict__
    results["repeated"] = {}
    for measure in config["repeated"]:
        fit = models.mixed_model(
            long_rows(population(df, ITT, config), measure["visits"], measure["baseline"], config),
            Y,
            BASE,
            names,
            [v["code"] for v in measure["visits"]],
            labels=labels,
        )
        mp = measure["places"]
        out += ["", f"Mixed model: {measure['label']}"]
        if fit.not_estimable:
            out.append(f"  not estimable: {fit.not_estimable}")
        means = {(m.visit, m.arm): m for m in fit.means}
        for d in fit.differences:
            cells = [
                f"{num(m.mean, mp)} ({num(m.ci_low, mp)} to {num(m.ci_high, mp)})"
                for m in (means[(d.visit, models.TREATED)], means[(d.visit, models.CONTROL)])
            ]
            diff = models.Estimate(d.estimate, d.ci_low, d.ci_high, d.p)
            out.append(
                f"  {d.visit} (n {d.n_treated} / {d.n_control}): PVP {cells[0]}, "
                f"conservative {cells[1]}, difference {estimate_text(diff, mp)}"
            )
        results["repeated"][measure["measure"]] = [d.__dict__ for d in fit.differences]
    out += ["", f"Software: {models.software_versions()}"]
    return out, results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("export", nargs="?", default=str(HERE.parent), help="ZIP or folder")
    parser.add_argument("--json", help="also write the raw results to this file")
    args = parser.parse_args(argv)
    export = Export(Path(args.export))
    config_path = "analysis/config.json"
    config = json.loads(
        export.read(config_path) if export.has(config_path) else (HERE / "config.json").read_bytes()
    )
    lines, results = analyse(read_analysis_file(export, config), config)
    print("\n".join(lines))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
