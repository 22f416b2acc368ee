"""The streaming .dta writer (trial.exports.stata_writer), read back by pandas and by pyreadstat."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import pyreadstat
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trial.exports.stata_writer import STR_MAX, Column, write_dta

COLUMNS = [
    Column("trial_number", "Trial number", "text"),
    Column("visit", "Visit or key", "text"),
    Column("mode", "How the questionnaire was filled", "number", {1: "link: Link", 2: "phone"}),
    Column("onset", "Date of onset", "date"),
    Column("called_at", "Called at", "datetime"),
    Column("note", "Free text", "text"),
    Column("odi_score", "ODI score (%)", "number"),
]
LONG = "Lang tekst med æøå. " * 150  # over 2045 bytes: a strL
ROWS = [
    ("AAR-001", "BL", 1, dt.date(2026, 1, 5), dt.datetime(2026, 7, 1, 12, 15, 30), LONG, 42.5),
    ("AAR-002", "", None, None, None, None, None),
    ("ODE-010", "W12", 2, dt.date(1959, 12, 31), dt.datetime(1960, 1, 1, 0, 0, 1), "kort", 0),
]


def test_values_labels_and_long_text_read_back_with_pyreadstat(tmp_path):
    path = tmp_path / "t.dta"
    assert write_dta(path, [Column(**vars(c)) for c in COLUMNS], ROWS, label="Test æøå") == 3
    df, meta = pyreadstat.read_dta(path)
    assert meta.file_label == "Test æøå"
    assert meta.column_names_to_labels["mode"] == "How the questionnaire was filled"
    assert meta.variable_value_labels["mode"] == {1: "link: Link", 2: "phone"}
    assert list(df["trial_number"]) == ["AAR-001", "AAR-002", "ODE-010"]
    assert df.loc[0, "note"] == LONG and len(LONG.encode()) > STR_MAX
    assert df.loc[2, "note"] == "kort" and df.loc[1, "note"] == ""
    assert df.loc[0, "onset"] == dt.date(2026, 1, 5) and df.loc[2, "onset"] == dt.date(1959, 12, 31)
    assert pd.Timestamp(df.loc[0, "called_at"]) == pd.Timestamp("2026-07-01 12:15:30")
    assert df.loc[0, "odi_score"] == 42.5 and math.isnan(df.loc[1, "odi_score"])
    assert pd.isna(df.loc[1, "onset"]) and pd.isna(df.loc[1, "called_at"])


def test_pandas_reads_the_same_file_with_value_labels_applied(tmp_path):
    path = tmp_path / "t.dta"
    write_dta(path, [Column(**vars(c)) for c in COLUMNS], ROWS)
    df = pd.read_stata(path)
    assert df.loc[0, "mode"] == "link: Link" and df.loc[2, "mode"] == "phone"
    assert pd.isna(df.loc[1, "mode"])
    assert df.loc[2, "visit"] == "W12"
    assert df.loc[0, "odi_score"] == 42.5


def test_an_empty_table_is_a_valid_file(tmp_path):
    path = tmp_path / "empty.dta"
    assert write_dta(path, [Column(**vars(c)) for c in COLUMNS], []) == 0
    df, meta = pyreadstat.read_dta(path)
    assert len(df) == 0 and meta.column_names == [c.name for c in COLUMNS]


text = st.one_of(st.none(), st.text(st.characters(codec="utf-8", exclude_characters="\0")))
number = st.one_of(st.none(), st.floats(-1e12, 1e12), st.integers(-(2**40), 2**40))
day = st.one_of(st.none(), st.dates(dt.date(1800, 1, 1), dt.date(2200, 12, 31)))


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=st.lists(st.tuples(text, number, day), max_size=30))
def test_any_rows_come_back_as_written(tmp_path, rows):
    path = tmp_path / "h.dta"
    columns = [Column("t", "", "text"), Column("x", "", "number"), Column("d", "", "date")]
    write_dta(path, columns, rows)
    df, _meta = pyreadstat.read_dta(path)
    assert len(df) == len(rows)
    for (t, x, d), (_i, got) in zip(rows, df.iterrows(), strict=True):
        assert got["t"] == (t or "")
        assert (x is None and math.isnan(got["x"])) or got["x"] == float(x)
        assert (d is None and pd.isna(got["d"])) or got["d"] == d
