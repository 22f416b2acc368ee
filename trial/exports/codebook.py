"""The codebook of an export: every variable of every file, as CSV and as PDF."""

from __future__ import annotations

import csv
import zipfile
from collections.abc import Iterator

from django.utils.translation import gettext as _

from trial.exports.formats.csv import text_stream
from trial.exports.registry import Variable
from trial.exports.tables import Table


def _allowed(var: Variable) -> str:
    if var.codes:
        return " | ".join(f"{code} = {meaning}" for code, meaning in var.codes)
    return var.allowed


def formula_note() -> str:
    """How text that looks like a formula is written (trial.exports.tables.neutralise)."""
    return _(
        "CSV and XLSX: text that starts with =, +, -, @, a tab or a carriage return is written "
        "with a leading single quote (') so that a spreadsheet never runs it as a formula; "
        "numbers are never changed."
    )


def population_notes() -> list[str]:
    """The analysis populations as the outcome report defines them (trial.reports.populations,
    their one home), so the analyst reads the same definitions with the data."""
    from trial.reports import populations

    return [*populations.definitions().values(), populations.common_exclusion()]


CODEBOOK_HEADER = ["file", "variable", "label", "type", "allowed_values", "unit", "source_form"]


def codebook_rows(tables: list[Table]) -> Iterator[list[str]]:
    for table in tables:
        if table.keyed:
            yield [table.code, "trial_number", _("Trial number"), "text", "", "", "trial"]
            yield [table.code, table.key_name, _("Visit or key"), "text", "", "", table.code]
        else:
            yield [table.code, "trial_number", _("Trial number"), "text", "", "", "trial"]
        for var in table.variables:
            yield [
                table.code,
                var.name,
                str(var.label),
                var.type,
                _allowed(var),
                var.unit,
                table.source if table.keyed else "",
            ]


def write_codebook_csv(zf: zipfile.ZipFile, tables: list[Table]) -> None:
    with text_stream(zf, "codebook.csv") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(CODEBOOK_HEADER)
        writer.writerows(codebook_rows(tables))


def write_codebook_pdf(zf: zipfile.ZipFile, tables: list[Table], meta: dict) -> None:
    from django.template.loader import render_to_string
    from weasyprint import HTML

    html = render_to_string(
        "trial/exports/codebook_pdf.html",
        {
            "tables": [(t, list(codebook_rows([t]))) for t in tables],
            "formula_note": formula_note(),
            "populations": population_notes(),
            **meta,
        },
    )
    zf.writestr("codebook.pdf", HTML(string=html).write_pdf())
