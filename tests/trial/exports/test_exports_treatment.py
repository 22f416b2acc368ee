"""Treatment exporters (over the treatment models): treated vertebrae and adverse events
read back from the long CSV and the Stata file, and compared with the database."""

from __future__ import annotations

import io
import zipfile

import pandas as pd
import pyreadstat
import pytest
from django.utils import translation

from tests.factories import AdverseEventFactory, ProcedureFactory, ProcedureLevelFactory
from trial.exports.writer import ExportSpec, write_export


@pytest.fixture(autouse=True)
def export_root(settings, tmp_path):
    settings.EXPORT_ROOT = tmp_path / "exports"


def _render(fmt, exporter, tmp_path):
    spec = ExportSpec(exporter=exporter, format=fmt, identified=False, run_id="t")
    with translation.override("en"):
        return zipfile.ZipFile(write_export(spec, tmp_path / f"{exporter}.{fmt}.zip"))


def test_each_treated_vertebra_is_a_record_with_its_cement_and_leakage(world, tmp_path):
    procedure = ProcedureFactory(participant=world.own_participant)
    ProcedureLevelFactory(procedure=procedure, level="L1", cement_volume_ml=4, leakage=True)
    ProcedureLevelFactory(procedure=procedure, level="L2", cement_volume_ml=3, leakage=False)
    zf = _render("csv", "procedure_levels", tmp_path)
    long = pd.read_csv(io.BytesIO(zf.read("csv/procedure_levels.csv")), dtype=str)
    got = {(r.level, r.item): r.value for r in long.itertuples()}
    assert got[("L1", "leakage")] == "1" and got[("L1", "leak_disc")] == "1"
    assert got[("L2", "leakage")] == "0"
    assert float(got[("L1", "cement_volume_ml")]) == 4
    assert set(long.trial_number) == {world.own_participant.trial_number}


def test_adverse_events_carry_their_coded_grade_in_stata(world, tmp_path):
    AdverseEventFactory(participant=world.own_participant, grade=3, serious=True)
    zf = _render("stata", "adverse_events", tmp_path)
    path = tmp_path / "ae.dta"
    path.write_bytes(zf.read("stata/adverse_events.dta"))
    df, meta = pyreadstat.read_dta(path)
    assert df.loc[0, "grade"] == 3 and df.loc[0, "serious"] == 1
    assert 3 in meta.variable_value_labels["grade"]
    assert meta.variable_value_labels["serious"] == {1: "Yes", 0: "No"}
