"""XLSX: one sheet per table (openpyxl write_only), and the codebook sheet."""

from __future__ import annotations

import datetime as dt
import zipfile
from decimal import Decimal
from typing import Any

from trial.exports.codebook import CODEBOOK_HEADER, codebook_rows
from trial.exports.tables import Table, neutralise

XLSX_MAX_ROWS = 1_048_576


def _xlsx_value(value: Any) -> Any:
    # openpyxl stores text starting with "=" as a formula: neutralise first.
    value = neutralise(value)
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None)
    return value


XLSX_NAME = "vertebra.xlsx"


def sheet_title(code: str, part: int = 1) -> str:
    """The sheet of a table (a long table continues on numbered sheets)."""
    return code[:28] if part == 1 else f"{code[:24]} ({part})"


def write_xlsx(zf: zipfile.ZipFile, tables: list[Table]) -> None:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    for table in tables:
        head = ["trial_number"] + ([table.key_name] if table.keyed else [])
        head += [v.name for v in table.variables]
        part, ws, used = 1, None, XLSX_MAX_ROWS
        for row in table.rows():
            # A sheet holds about a million rows; continue on the next (ws is None: no sheet yet).
            if ws is None or used >= XLSX_MAX_ROWS:
                ws = wb.create_sheet(title=sheet_title(table.code, part))
                ws.append(head)
                used, part = 1, part + 1
            ws.append(
                [_xlsx_value(v) for v in row[: 2 if table.keyed else 1]]
                + [_xlsx_value(v) for v in row[2:]]
            )
            used += 1
        if ws is None:
            wb.create_sheet(title=sheet_title(table.code)).append(head)
    codebook = wb.create_sheet(title="codebook")
    codebook.append(CODEBOOK_HEADER)
    for line in codebook_rows(tables):
        codebook.append(line)
    with zf.open(XLSX_NAME, "w", force_zip64=True) as out:
        wb.save(out)
