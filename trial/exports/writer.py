"""The whole export: one ZIP holding a README, the tables in the chosen format
(trial.exports.formats) and the codebook (trial.exports.codebook).
"""

from __future__ import annotations

import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from trial.exports.analysis_script import write_analysis_files
from trial.exports.codebook import formula_note, write_codebook_csv, write_codebook_pdf
from trial.exports.formats.csv import CSV_WIDE_NAME, write_csv_long, write_csv_wide
from trial.exports.formats.odm import write_odm
from trial.exports.formats.stata import write_stata
from trial.exports.formats.xlsx import write_xlsx
from trial.exports.registry import FULL
from trial.exports.tables import ExportError, tables_for

__all__ = ["ExportError", "ExportSpec", "ProgressFn", "write_export"]

ProgressFn = Callable[[int], None]


@dataclass
class ExportSpec:
    exporter: str
    format: str
    identified: bool
    run_id: str
    requested_by: str = ""
    # Whether the data was taken from a locked database, in words (export_lock_note).
    database_lock: str = ""


def write_export(spec: ExportSpec, target: Path, progress: ProgressFn | None = None) -> Path:
    """Render an export to ``target`` (a .zip path); returns it. Raises ExportError."""
    progress = progress or (lambda percent: None)
    tables = tables_for(spec.exporter, identified=spec.identified)
    meta = {
        "run_id": spec.run_id,
        "trial_name": settings.TRIAL_NAME,
        "created": timezone.localtime().replace(microsecond=0),
        "identified": spec.identified,
        "requested_by": spec.requested_by,
        "database_lock": spec.database_lock,
    }
    target.parent.mkdir(parents=True, exist_ok=True)
    steps = len(tables) + 2
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        zf.writestr("README.txt", _readme(spec, meta))
        if spec.format == "csv":
            for n, table in enumerate(tables, 1):
                if table.keyed:
                    write_csv_long(zf, table)
                else:
                    write_csv_wide(zf, table, CSV_WIDE_NAME)
                progress(int(90 * n / steps))
        elif spec.format == "xlsx":
            write_xlsx(zf, tables)
        elif spec.format == "stata":
            with tempfile.TemporaryDirectory() as tmp:
                for n, table in enumerate(tables, 1):
                    write_stata(zf, table, Path(tmp))
                    progress(int(90 * n / steps))
        elif spec.format == "odm":
            write_odm(zf, tables, meta)
            if spec.exporter == FULL:
                # ODM holds the forms; the derived analysis file comes beside it as CSV, for
                # the analysis scripts.
                write_csv_wide(zf, next(t for t in tables if not t.keyed), CSV_WIDE_NAME)
        else:
            raise ExportError(_("Unknown format %(format)s.") % {"format": spec.format})
        progress(92)
        if spec.exporter == FULL:
            # The scripts that reproduce the outcome report's analyses from these files.
            write_analysis_files(zf, tables)
        write_codebook_csv(zf, tables)
        write_codebook_pdf(zf, tables, meta)
    progress(100)
    return target


def _readme(spec: ExportSpec, meta: dict) -> str:
    kind = (
        _("IDENTIFIED (holds names, CPR numbers and contact details)")
        if spec.identified
        else _("pseudonymised (trial numbers only)")
    )
    analysis = _(
        "A full export also holds analysis/: scripts (Python and Stata) that reproduce "
        "the outcome report's primary and sensitivity analyses from these files."
    )
    return "\n".join(
        [
            f"{settings.TRIAL_NAME} export {spec.run_id}",
            f"{_('Created')}: {meta['created'].isoformat()}",
            f"{_('Export')}: {spec.exporter}, {_('format')}: {spec.format}",
            f"{_('Data')}: {kind}",
            f"{_('Database lock')}: {spec.database_lock}",
            _("See codebook.csv / codebook.pdf for every variable."),
            *([analysis] if spec.exporter == FULL else []),
            formula_note(),
            "",
        ]
    )
