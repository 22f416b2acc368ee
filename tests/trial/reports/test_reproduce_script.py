"""Every full export carries analysis scripts that reproduce the outcome report (issue 19,
item 7): the Python script, run as a statistician would run it (a separate Python, no Django,
inside the unpacked export), prints the report's figures to the report's precision, from the
CSV, Stata and XLSX exports of the demo trial alike; the Stata do-file names only columns the
export holds."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import time_machine
from django.core.management import call_command
from django.db import transaction
from django.utils import translation

from tests.clock import FIXED_DAY, noon
from tests.conftest import private_files
from trial.exports.writer import ExportSpec, write_export
from trial.reports import outcomes

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

FORMATS = ("csv", "stata", "xlsx", "odm")


def _export(tmp_path: Path, fmt: str, exporter: str = "full") -> Path:
    target = tmp_path / f"{exporter}-{fmt}.zip"
    write_export(ExportSpec(exporter, fmt, False, f"test-{fmt}"), target)
    folder = tmp_path / f"{exporter}-{fmt}"
    with zipfile.ZipFile(target) as zf:
        zf.extractall(folder)
    return folder


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker, tmp_path_factory):
    """The demo seeded once (the clock at noon of a fixed day: its dates count back from
    today), its outcome report in English, and its exports unpacked; rolled back at the end."""
    root = tmp_path_factory.mktemp("reproduce")
    with (
        django_db_blocker.unblock(),
        private_files(root),
        time_machine.travel(noon(FIXED_DAY), tick=True),
        translation.override("en"),
    ):
        outer = transaction.atomic()
        outer.__enter__()
        try:
            call_command("seed_demo", stdout=io.StringIO())
            report = outcomes.outcome_report()["models"]
            folders = {fmt: _export(root, fmt) for fmt in FORMATS}
            folders["form"] = _export(root, "csv", exporter="allocations")
            yield {"report": report, "folders": folders}
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


def _run(folder: Path) -> str:
    # A Python of its own, in the export's folder, with no Django settings: as the statistician.
    env = {"PATH": "/usr/bin:/bin", "HOME": str(folder)}
    done = subprocess.run(
        [sys.executable, "analysis/reproduce.py"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _expected_lines(report: dict) -> list[str]:
    lines = []
    for row in report["populations"]:
        lines.append(f"  ANCOVA (n {row['n']}): {row['ancova']}")
        lines.append(f"  Welch (n {row['n_welch']}): {row['welch']}")
    missing = report["missing"]
    lines.append(f"  Complete cases: {missing['complete_text']}")
    mice = missing["mice"]
    lines.append(
        f"  Multiple imputation ({mice.imputations} imputations, {mice.n_imputed} "
        f"participants imputed): {missing['mice_text']}"
    )
    responders = report["responders"]
    lines.append(
        f"  PVP {responders['treated']}, conservative {responders['control']}: {responders['text']}"
    )
    for measure in report["repeated"]:
        for row in measure["rows"]:
            lines.append(
                f"  {row['visit']} (n {row['n']}): PVP {row['means'][0]}, conservative "
                f"{row['means'][1]}, difference {row['difference']}"
            )
    return lines


def test_the_python_script_prints_the_reports_figures(demo):
    report = demo["report"]
    expected = _expected_lines(report)
    # The demo is rich enough for every analysis to be estimated, so the comparison is of
    # figures, not of "not estimable" on both sides.
    assert all(row["estimate"].estimate is not None for row in report["populations"])
    assert report["missing"]["mice"].pooled.estimate is not None
    assert report["responders"]["result"].difference is not None
    assert any(m["measure"] == "odi" and m["rows"] for m in report["repeated"])
    outputs = {}
    for fmt in ("csv", "stata", "xlsx"):
        outputs[fmt] = _run(demo["folders"][fmt])
        missing = [line for line in expected if line not in outputs[fmt].splitlines()]
        assert not missing, f"{fmt}: the script does not print\n" + "\n".join(missing)
    assert outputs["stata"] == outputs["csv"] == outputs["xlsx"]
    assert "Software: Python" in outputs["csv"]


def test_an_odm_export_carries_the_analysis_file_for_its_scripts(demo):
    folder = demo["folders"]["odm"]
    assert (folder / "vertebra_odm.xml").exists()
    out = _run(folder)
    assert out.splitlines() and set(_expected_lines(demo["report"])) <= set(out.splitlines())


def test_the_stata_do_file_names_only_columns_the_export_holds(demo):
    folder = demo["folders"]["csv"]
    do = (folder / "analysis" / "reproduce.do").read_text()
    config = json.loads((folder / "analysis" / "config.json").read_text())
    header = (folder / "csv" / "analysis_wide.csv").read_text().splitlines()[0].split(",")
    named = {config["primary"]["column"], config["primary"]["baseline_column"]}
    named |= {c["column"] for c in config["covariates"]}
    for measure in config["repeated"]:
        named |= {v["column"] for v in measure["visits"]} | {measure["baseline"]}
    assert named <= set(header)
    for column in named:
        assert re.search(rf"\b{column}\b", do), column
    primary = config["primary"]
    assert f"regress {primary['column']} treat {primary['baseline_column']}" in do
    assert "mixed y i.treat##i.visit" in do
    assert f"rseed({config['mice']['seed']})" in do
    assert "{{" not in do and "{%" not in do


def test_only_a_full_export_carries_the_scripts(demo):
    assert (demo["folders"]["csv"] / "analysis" / "reproduce.py").exists()
    assert not (demo["folders"]["form"] / "analysis").exists()
