"""CSV: each form in long format (participant, visit, item, value), by PostgreSQL's
COPY where it can (trial.exports.sql), and the analysis file in wide format."""

from __future__ import annotations

import csv
import io
import zipfile

from trial.exports import sql as export_sql
from trial.exports.tables import Table, cell_text


def text_stream(zf: zipfile.ZipFile, name: str) -> io.TextIOWrapper:
    raw = zf.open(name, "w", force_zip64=True)
    return io.TextIOWrapper(raw, encoding="utf-8", newline="")


def write_csv_long(zf: zipfile.ZipFile, table: Table) -> None:
    """The form in long format: one line per participant, visit, item and recorded value.

    Missing values (None, and empty text) have no line. On PostgreSQL, a form whose exporter
    has an SQL source is written by the database's COPY (trial.exports.sql); otherwise here.
    """
    header = ["trial_number", table.key_name, "item", "value"]
    source = table.sql() if table.sql is not None and export_sql.available() else None
    if source is not None:
        with zf.open(f"csv/{table.code}.csv", "w", force_zip64=True) as raw:
            raw.write((",".join(header) + "\n").encode())
            export_sql.copy_long(
                raw,
                source,
                [v.name for v in table.sql_variables],
                [v.type for v in table.sql_variables],
                table.sql_positions,
            )
        return
    names = [v.name for v in table.variables]
    with text_stream(zf, f"csv/{table.code}.csv") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(header)
        write = writer.writerows
        for row in table.rows():
            tn, key = cell_text(row[0]), cell_text(row[1])
            write(
                [
                    (tn, key, name, value)
                    for name, value in zip(names, map(cell_text, row[2:]), strict=True)
                    if value != ""
                ]
            )


CSV_WIDE_NAME = "csv/analysis_wide.csv"


def write_csv_wide(zf: zipfile.ZipFile, table: Table, name: str) -> int:
    count = 0
    with text_stream(zf, name) as out:
        writer = csv.writer(out, lineterminator="\n")
        head = ["trial_number"] + ([table.key_name] if table.keyed else [])
        writer.writerow(head + [v.name for v in table.variables])
        for row in table.rows():
            cells = [row[0]] + ([row[1]] if table.keyed else [])
            writer.writerow([cell_text(v) for v in cells] + [cell_text(v) for v in row[2:]])
            count += 1
    return count
