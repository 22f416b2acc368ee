"""Exports are safe to open in a spreadsheet: text that starts like a formula (OWASP's
CSV-injection rule: ``=``, ``+``, ``-``, ``@``, tab, carriage return) is written with a leading
single quote in CSV and XLSX, while numbers, negative ones included, stay numbers."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from decimal import Decimal

import pytest
from django.utils import translation
from openpyxl import load_workbook

from tests.factories import IdentityFactory
from trial.exports.formats.xlsx import _xlsx_value
from trial.exports.tables import cell_text, neutralise
from trial.exports.writer import ExportSpec, write_export

HOSTILE = {
    "full_name": '=HYPERLINK("http://x","y")',
    "phone": "+45 12 34 56 78",
    "email": "@SUM(1)@example.dk",
    "address": "+cmd|' /C calc'!A0",
}


@pytest.fixture
def hostile(world):
    return IdentityFactory(participant=world.own_participant, **HOSTILE)


def _render(fmt, tmp_path):
    spec = ExportSpec(exporter="identity", format=fmt, identified=True, run_id="inj")
    with translation.override("en"):
        return zipfile.ZipFile(write_export(spec, tmp_path / f"{fmt}.zip"))


def test_identified_csv_neutralises_text_that_starts_like_a_formula(hostile, tmp_path):
    zf = _render("csv", tmp_path)
    rows = list(csv.DictReader(io.StringIO(zf.read("csv/identity.csv").decode())))
    mine = {
        r["item"]: r["value"] for r in rows if r["trial_number"] == hostile.participant.trial_number
    }
    assert mine["full_name"] == '\'=HYPERLINK("http://x","y")'
    assert mine["address"] == "'+cmd|' /C calc'!A0"
    assert mine["phone"] == "'+45 12 34 56 78"
    assert mine["email"] == "'@SUM(1)@example.dk"
    assert mine["cpr"] == hostile.cpr  # ordinary text is untouched
    assert "leading single quote" in zf.read("README.txt").decode()  # and the reader is told


def test_identified_xlsx_neutralises_text_and_writes_no_formula(hostile, tmp_path):
    zf = _render("xlsx", tmp_path)
    wb = load_workbook(io.BytesIO(zf.read("vertebra.xlsx")))
    ws = wb["identity"]
    head = [c.value for c in ws[1]]
    rows = [dict(zip(head, (c.value for c in r), strict=True)) for r in ws.iter_rows(min_row=2)]
    mine = next(r for r in rows if r["trial_number"] == hostile.participant.trial_number)
    assert mine["full_name"] == '\'=HYPERLINK("http://x","y")'
    assert mine["address"] == "'+cmd|' /C calc'!A0"
    assert mine["email"] == "'@SUM(1)@example.dk"
    assert all(c.data_type != "f" for r in ws.iter_rows() for c in r)  # no formula cell


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(1)", "'@SUM(1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("+45", "'+45"),
        ("plain", "plain"),
        ("", ""),
        ("a=b", "a=b"),
    ],
)
def test_text_cells(value, expected):
    assert neutralise(value) == expected
    assert cell_text(value) == expected


def test_numbers_stay_numbers():
    assert neutralise(-2) == -2
    assert cell_text(-2) == "-2"
    assert cell_text(Decimal("-1.50")) == "-1.50"
    assert cell_text(-0.5) == "-0.5"
    assert _xlsx_value(-2) == -2
    assert _xlsx_value(Decimal("-1.5")) == -1.5
    assert _xlsx_value(dt.date(2026, 1, 2)) == dt.date(2026, 1, 2)
    assert _xlsx_value("-2+3") == "'-2+3"
