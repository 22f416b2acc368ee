"""The long CSV files written by PostgreSQL's COPY (trial.exports.sql) hold exactly the lines
the Python writer produces from the exporters' rows(), form by form, in the same order.

The demo trial fills every form (treatment, events, eligibility, identity...), so each
exporter's SQL is checked against its Python rows on real, varied data, including date-times
on both sides of a daylight-saving change.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile

import pandas as pd
import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone, translation

from trial.exports import sql as export_sql
from trial.exports.registry import autodiscover
from trial.exports.tables import cell_text, form_table
from trial.exports.writer import ExportSpec, write_export
from trial.models import Identity, Participant, ScreeningLogEntry

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

# Forms the demo leaves empty on purpose; every other form must have lines to compare.
MAY_BE_EMPTY = {"identity"}


@pytest.fixture
def demo(db, settings, tmp_path):
    settings.EXPORT_ROOT = tmp_path / "exports"
    with translation.override("en"):
        call_command("seed_demo", stdout=io.StringIO())
    # Free text with a comma, a quote and a line break, and an empty text, on real rows.
    entry = ScreeningLogEntry.objects.order_by("id").first()
    entry.reason = 'Declined, said "not now"\nwill call back'
    entry.save(update_fields=["reason"])
    # Text that starts like a spreadsheet formula, neutralised by COPY as by Python.
    Identity.objects.filter(pk=Identity.objects.order_by("id").first().pk).update(
        full_name='=HYPERLINK("http://x","y")', address="-2+3", email="@SUM(1)@example.dk"
    )
    # A registration time in summer and one in winter (UTC+2 and UTC+1 in Copenhagen).
    first, second = Participant.objects.order_by("id")[:2]
    Participant.objects.filter(pk=first.pk).update(
        created_at=dt.datetime(2026, 7, 1, 10, 15, 30, 999_999, tzinfo=dt.UTC)
    )
    Participant.objects.filter(pk=second.pk).update(
        created_at=dt.datetime(2026, 1, 5, 23, 30, tzinfo=dt.UTC)
    )


def _python_lines(table) -> list[list[str]]:
    names = [v.name for v in table.variables]
    lines = []
    for row in table.rows():
        head = [cell_text(row[0]), cell_text(row[1])]
        lines += [
            [*head, n, cell_text(v)] for n, v in zip(names, row[2:], strict=True) if cell_text(v)
        ]
    return lines


def _copy_lines(table) -> list[list[str]]:
    out = io.BytesIO()
    export_sql.copy_long(
        out,
        table.sql(),
        [v.name for v in table.sql_variables],
        [v.type for v in table.sql_variables],
        table.sql_positions,
    )
    return list(csv.reader(io.StringIO(out.getvalue().decode())))


@pytest.mark.parametrize("identified", [False, True])
def test_every_form_copied_by_postgresql_equals_the_python_rows(demo, identified):
    assert connection.vendor == "postgresql"
    registry = autodiscover()
    compared = 0
    with translation.override("en"), timezone.override("Europe/Copenhagen"):
        for exporter in registry.exporters(identified=identified):
            table = form_table(exporter, identified=identified)
            assert table.sql is not None and table.sql() is not None, exporter.identifier
            expected = _python_lines(table)
            got = _copy_lines(table)
            assert got == expected, exporter.identifier
            if exporter.identifier == "identity":
                values = {(line[2], line[3]) for line in got}
                assert ("full_name", '\'=HYPERLINK("http://x","y")') in values
                assert ("address", "'-2+3") in values
            if exporter.identifier not in MAY_BE_EMPTY:
                assert expected, f"the demo has no {exporter.identifier} to compare"
            compared += len(expected)
    assert compared > 1000


def test_a_full_csv_export_on_postgresql_reads_back_with_pandas(demo, tmp_path):
    spec = ExportSpec(exporter="full", format="csv", identified=False, run_id="copy")
    export_sql.COPY_LOG = log = []
    try:
        with translation.override("en"):
            zf = zipfile.ZipFile(write_export(spec, tmp_path / "full.zip"))
    finally:
        export_sql.COPY_LOG = None
    forms = [e for e in autodiscover().exporters() if e.sql_source() is not None]
    assert len(log) == len(forms)  # one COPY per form, whatever the number of participants
    log_csv = pd.read_csv(io.BytesIO(zf.read("csv/screening_log.csv")), dtype=str)
    assert "reason" not in set(log_csv["item"])  # free text stays out of a default export
    participants = pd.read_csv(io.BytesIO(zf.read("csv/participants.csv")), dtype=str)
    registered = participants[participants["item"] == "registered_at"].set_index("trial_number")
    first, second = Participant.objects.order_by("id")[:2]
    assert registered.loc[first.trial_number, "value"] == "2026-07-01T12:15:30+02:00"
    assert registered.loc[second.trial_number, "value"] == "2026-01-06T00:30:00+01:00"
