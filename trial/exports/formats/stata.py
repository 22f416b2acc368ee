"""Stata: one .dta per table with variable and value labels, written by the
streaming writer (trial.exports.stata_writer), which spools to disk rather than memory."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path

from django.utils.translation import gettext as _

from trial.exports import stata_writer
from trial.exports.registry import Variable
from trial.exports.tables import Table


def dta_name(code: str) -> str:
    return f"stata/{code}.dta"


def code_numbers(var: Variable) -> dict[str, int]:
    """The numbers a coded text variable is written as (1, 2, ... in the order of its codes):
    Stata labels numbers only. The analysis script of an export maps them back."""
    return {str(code): n for n, (code, _m) in enumerate(var.codes, start=1)}


def _stata_column(var: Variable) -> tuple[stata_writer.Column, dict[str, int] | None]:
    """The .dta column of a variable, and the code -> number mapping of a coded text one."""
    unit = f" ({var.unit})" if var.unit else ""
    label = (str(var.label) + unit)[:80]
    if var.codes and var.type == "text":
        # Stata labels numbers only: a coded text variable becomes 1, 2, ... with labels.
        mapping = code_numbers(var)
        labels = {n: f"{code}: {meaning}" for n, (code, meaning) in enumerate(var.codes, 1)}
        return stata_writer.Column(var.name, label, "number", labels), mapping
    if var.type in ("integer", "decimal", "boolean"):
        labels = {}
        if var.codes and var.type in ("integer", "boolean"):
            labels = {int(code): str(meaning) for code, meaning in var.codes}
        return stata_writer.Column(var.name, label, "number", labels), None
    if var.type in ("date", "datetime"):
        return stata_writer.Column(var.name, label, var.type), None
    return stata_writer.Column(var.name, label, "text"), None


def write_stata(zf: zipfile.ZipFile, table: Table, tmp: Path) -> None:
    """One .dta per table, written by the streaming writer (trial.exports.stata_writer):
    flat memory."""
    columns = [stata_writer.Column("trial_number", _("Trial number"), "text")]
    if table.keyed:
        columns.append(stata_writer.Column(table.key_name, _("Visit or key"), "text"))
    mappings = []
    for var in table.variables:
        column, mapping = _stata_column(var)
        columns.append(column)
        mappings.append(mapping)
    coded = [(n, mapping) for n, mapping in enumerate(mappings) if mapping is not None]
    offset = 2  # values start after the trial number and the key (empty in the analysis file)

    def rows() -> Iterator[tuple]:
        for row in table.rows():
            values = list(row[offset:])
            for n, mapping in coded:
                if values[n] is not None:
                    values[n] = mapping[str(values[n])]
            head = (row[0], row[1]) if table.keyed else (row[0],)
            yield (*head, *values)

    path = tmp / f"{table.code}.dta"
    stata_writer.write_dta(path, columns, rows(), label=table.label[:80])
    zf.write(path, dta_name(table.code))
    path.unlink()
