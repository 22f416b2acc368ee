"""Writers per export format (issue 8): CSV, XLSX, Stata and CDISC ODM 1.3.2, plus the codebook.

Every export is one ZIP. The forms of the registry (trial.exports) are written as they stream:
long CSV (participant, visit, item, value) per form (by PostgreSQL's COPY where it can,
trial.export_sql), XLSX sheets (openpyxl write_only), Stata .dta files with variable and value
labels (trial.stata_writer, which spools to disk rather than memory), and ODM XML written with
``lxml.etree.xmlfile`` element by element. The wide analysis file (one row per participant) is
a merge of participant-sorted streams, so memory stays flat whatever the trial's size.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from trial import export_sql, stata_writer
from trial import exports as registry_module
from trial.exports import FULL, Exporter, Variable

ODM_NS = "http://www.cdisc.org/ns/odm/v1.3"
XLSX_MAX_ROWS = 1_048_576
ProgressFn = Callable[[int], None]


class ExportError(Exception):
    """An expected failure: the user sees its message on the export, never a server error."""


@dataclass
class Table:
    """One file of the export: a form of the registry or the wide analysis file."""

    code: str
    label: str
    variables: list[Variable]
    rows: Callable[[], Iterable[tuple]]  # (trial_number, key, *values)
    key_name: str = "visit"
    repeated: bool = False
    source: str = "trial"
    description: str = ""
    keyed: bool = True  # has the key column at all (the analysis file has not)
    extra: dict = field(default_factory=dict)
    # PostgreSQL's COPY writes the long CSV when the exporter has an SQL source
    # (trial.export_sql): the source, and which of its variables this table keeps.
    sql: Callable[[], Any] | None = None
    sql_variables: list[Variable] = field(default_factory=list)
    sql_positions: list[int] = field(default_factory=list)


# === What an export contains =============================================================


def form_table(exporter: Exporter, *, identified: bool = False) -> Table:
    key_name = exporter.key_name
    variables = exporter.variables()
    all_variables = variables
    keep = list(range(len(variables)))
    rows = exporter.rows
    if not identified and any(v.free_text for v in variables):
        # Free text may name people (a relative, a GP): pseudonymised exports leave it out.
        keep = [i for i, v in enumerate(variables) if not v.free_text]
        variables = [variables[i] for i in keep]
        positions = [0, 1, *(i + 2 for i in keep)]

        def rows(source=exporter.rows) -> Iterator[tuple]:
            for row in source():
                yield tuple(row[i] for i in positions)

    return Table(
        code=exporter.identifier,
        label=str(exporter.label),
        variables=variables,
        rows=rows,
        key_name=key_name,
        repeated=exporter.repeated,
        source=exporter.source_app,
        description=str(exporter.description),
        extra={
            "several_per_key": exporter.several_per_key,
            "unregistered": exporter.unregistered_rows,
        },
        sql=exporter.sql_source,
        sql_variables=all_variables,
        sql_positions=keep,
    )


def analysis_table(*, identified: bool) -> Table:
    registry = registry_module.autodiscover()
    contributions = registry.analysis_columns(identified=identified)
    parts = [(c, c.variables()) for c in contributions]
    variables = registry_module._base_variables()[:]
    for _c, vs in parts:
        variables.extend(vs)

    def rows() -> Iterator[tuple]:
        streams = [(iter(c.rows()), len(vs)) for c, vs in parts]
        heads: list[Any] = [next(it, None) for it, _n in streams]
        for pid, trial_number, base in registry_module.participant_stream():
            row: list[Any] = [trial_number, "", *base]
            for k, (it, width) in enumerate(streams):
                head = heads[k]
                while head is not None and head[0] < pid:
                    head = next(it, None)
                if head is not None and head[0] == pid:
                    row.extend(head[1])
                    head = next(it, None)
                else:
                    row.extend([None] * width)
                heads[k] = head
            yield tuple(row)

    return Table(
        code="analysis",
        label=_("Analysis file (one row per participant)"),
        variables=variables,
        rows=rows,
        keyed=False,
        description=_(
            "Site, stratum, allocated and as-treated arm, baseline characteristics, scores at "
            "every visit, survival and follow-up status."
        ),
    )


def tables_for(exporter_id: str, *, identified: bool) -> list[Table]:
    registry = registry_module.autodiscover()
    if exporter_id == FULL:
        forms = [
            form_table(e, identified=identified) for e in registry.exporters(identified=identified)
        ]
        return [analysis_table(identified=identified), *forms]
    try:
        cls = registry.get(exporter_id)
    except KeyError:
        raise ExportError(
            _("There is no export called %(name)s.") % {"name": exporter_id}
        ) from None
    if cls.identifying and not identified:
        raise ExportError(_("This export holds identifying data; ask for an identified export."))
    return [form_table(cls(), identified=identified)]


# === Values ==============================================================================


def text(value: Any) -> str:
    """A value as text for CSV and ODM: ISO dates, 1/0 for booleans, empty for missing."""
    kind = type(value)
    if kind is str:
        return value
    if kind is int:
        return str(value)
    if value is None:
        return ""
    if kind is bool:
        return "1" if value else "0"
    if kind is Decimal:
        return format(value, "f")
    if isinstance(value, dt.date):  # dates and datetimes
        return value.isoformat()
    return str(value)


def _allowed(var: Variable) -> str:
    if var.codes:
        return " | ".join(f"{code} = {meaning}" for code, meaning in var.codes)
    return var.allowed


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


# === CSV ==================================================================================


def _text_stream(zf: zipfile.ZipFile, name: str) -> io.TextIOWrapper:
    raw = zf.open(name, "w", force_zip64=True)
    return io.TextIOWrapper(raw, encoding="utf-8", newline="")


def write_csv_long(zf: zipfile.ZipFile, table: Table) -> None:
    """The form in long format: one line per participant, visit, item and recorded value.

    Missing values (None, and empty text) have no line. On PostgreSQL, a form whose exporter
    has an SQL source is written by the database's COPY (trial.export_sql); otherwise here.
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
    with _text_stream(zf, f"csv/{table.code}.csv") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(header)
        write = writer.writerows
        for row in table.rows():
            tn, key = row[0], row[1]
            write(
                [
                    (tn, key, name, value)
                    for name, value in zip(names, map(text, row[2:]), strict=True)
                    if value != ""
                ]
            )


def write_csv_wide(zf: zipfile.ZipFile, table: Table, name: str) -> int:
    count = 0
    with _text_stream(zf, name) as out:
        writer = csv.writer(out, lineterminator="\n")
        head = ["trial_number"] + ([table.key_name] if table.keyed else [])
        writer.writerow(head + [v.name for v in table.variables])
        for row in table.rows():
            cells = [row[0]] + ([row[1]] if table.keyed else [])
            writer.writerow(cells + [text(v) for v in row[2:]])
            count += 1
    return count


def write_codebook_csv(zf: zipfile.ZipFile, tables: list[Table]) -> None:
    with _text_stream(zf, "codebook.csv") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(CODEBOOK_HEADER)
        writer.writerows(codebook_rows(tables))


def write_codebook_pdf(zf: zipfile.ZipFile, tables: list[Table], meta: dict) -> None:
    from django.template.loader import render_to_string
    from weasyprint import HTML

    html = render_to_string(
        "trial/exports/codebook_pdf.html",
        {"tables": [(t, list(codebook_rows([t]))) for t in tables], **meta},
    )
    zf.writestr("codebook.pdf", HTML(string=html).write_pdf())


# === XLSX =================================================================================


def _xlsx_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None)
    return value


def write_xlsx(zf: zipfile.ZipFile, tables: list[Table]) -> None:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    for table in tables:
        head = ["trial_number"] + ([table.key_name] if table.keyed else [])
        head += [v.name for v in table.variables]
        part, ws, used = 1, None, XLSX_MAX_ROWS
        for row in table.rows():
            if used >= XLSX_MAX_ROWS:  # a sheet holds about a million rows; continue on the next
                title = table.code[:28] if part == 1 else f"{table.code[:24]} ({part})"
                ws = wb.create_sheet(title=title)
                ws.append(head)
                used, part = 1, part + 1
            cells = [row[0]] + ([row[1]] if table.keyed else [])
            ws.append(cells + [_xlsx_value(v) for v in row[2:]])
            used += 1
        if ws is None:
            wb.create_sheet(title=table.code[:28]).append(head)
    codebook = wb.create_sheet(title="codebook")
    codebook.append(CODEBOOK_HEADER)
    for line in codebook_rows(tables):
        codebook.append(line)
    with zf.open("vertebra.xlsx", "w", force_zip64=True) as out:
        wb.save(out)


# === Stata ================================================================================


def _stata_column(var: Variable) -> tuple[stata_writer.Column, dict[str, int] | None]:
    """The .dta column of a variable, and the code -> number mapping of a coded text one."""
    unit = f" ({var.unit})" if var.unit else ""
    label = (str(var.label) + unit)[:80]
    if var.codes and var.type == "text":
        # Stata labels numbers only: a coded text variable becomes 1, 2, ... with labels.
        mapping = {str(code): n for n, (code, _m) in enumerate(var.codes, start=1)}
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
    """One .dta per table, written by the streaming writer (trial.stata_writer): flat memory."""
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
    zf.write(path, f"stata/{table.code}.dta")
    path.unlink()


# === CDISC ODM 1.3.2 ======================================================================

_ODM_TYPES = {
    "integer": "integer",
    "boolean": "integer",
    "decimal": "float",
    "text": "text",
    "date": "date",
    "datetime": "datetime",
}
ENROLMENT = "ENROLMENT"


def _oid(*parts: str) -> str:
    return ".".join(p.replace(" ", "_") for p in parts)


def _translated(xf, tag: str, text_value: str) -> None:
    from lxml import etree

    with xf.element(tag):
        el = etree.Element("TranslatedText")
        el.set("{http://www.w3.org/XML/1998/namespace}lang", "en")
        el.text = text_value
        xf.write(el)


def _odm_events(tables: list[Table]) -> list[str]:
    from questionnaires.visits import visit_codes  # the protocol's visits, BL first
    from trial.protocol import active_schedule

    codes = [ENROLMENT, *visit_codes()]
    codes += [v.code for v in active_schedule().visits if v.code not in codes]
    return codes


def write_odm(zf: zipfile.ZipFile, tables: list[Table], meta: dict) -> None:
    from lxml import etree

    forms = [t for t in tables if t.keyed]
    events = _odm_events(forms)
    study_oid = _oid("ST", settings.TRIAL_NAME)
    mdv_oid = "MDV.1"
    created = timezone.localtime().replace(microsecond=0).isoformat()
    with (
        zf.open("vertebra_odm.xml", "w", force_zip64=True) as raw,
        etree.xmlfile(raw, encoding="utf-8") as xf,
    ):
        xf.write_declaration()
        attrs = {
            "FileType": "Snapshot",
            "FileOID": _oid("EXPORT", meta["run_id"]),
            "CreationDateTime": created,
            "ODMVersion": "1.3.2",
            "Originator": settings.TRIAL_NAME,
            "Granularity": "All",
        }
        with xf.element("ODM", attrs, nsmap={None: ODM_NS}):
            with xf.element("Study", OID=study_oid):
                with xf.element("GlobalVariables"):
                    for tag in ("StudyName", "StudyDescription", "ProtocolName"):
                        el = etree.Element(tag)
                        el.text = settings.TRIAL_NAME
                        xf.write(el)
                _odm_metadata(xf, forms, events, mdv_oid)
            with xf.element("ClinicalData", StudyOID=study_oid, MetaDataVersionOID=mdv_oid):
                _odm_clinical(xf, forms, events)


def _odm_metadata(xf, forms: list[Table], events: list[str], mdv_oid: str) -> None:
    from lxml import etree

    per_event: dict[str, list[str]] = {e: [] for e in events}
    for t in forms:
        if t.key_name == "visit" and t.repeated:
            for e in events[1:]:
                per_event[e].append(t.code)
        else:
            per_event[ENROLMENT].append(t.code)
    used = [e for e in events if per_event[e]]
    with xf.element("MetaDataVersion", OID=mdv_oid, Name="VERTEBRA export metadata"):
        with xf.element("Protocol"):
            for n, e in enumerate(used, 1):
                xf.write(etree.Element("StudyEventRef", StudyEventOID=_oid("SE", e),
                                       OrderNumber=str(n), Mandatory="No"))  # fmt: skip
        for e in used:
            with xf.element("StudyEventDef", OID=_oid("SE", e), Name=e, Repeating="No",
                            Type="Scheduled"):  # fmt: skip
                for code in per_event[e]:
                    xf.write(etree.Element("FormRef", FormOID=_oid("F", code), Mandatory="No"))
        for t in forms:
            with xf.element("FormDef", OID=_oid("F", t.code), Name=t.label, Repeating="No"):
                xf.write(etree.Element("ItemGroupRef", ItemGroupOID=_oid("IG", t.code),
                                       Mandatory="Yes"))  # fmt: skip
        for t in forms:
            repeating = "Yes" if _repeat_key_kind(t) else "No"
            with xf.element("ItemGroupDef", OID=_oid("IG", t.code), Name=t.label,
                            Repeating=repeating):  # fmt: skip
                for v in t.variables:
                    xf.write(etree.Element("ItemRef", ItemOID=_oid("I", t.code, v.name),
                                           Mandatory="No"))  # fmt: skip
        for t in forms:
            for v in t.variables:
                with xf.element("ItemDef", OID=_oid("I", t.code, v.name), Name=v.name,
                                DataType=_ODM_TYPES[v.type]):  # fmt: skip
                    unit = f" ({v.unit})" if v.unit else ""
                    _translated(xf, "Description", f"{v.label}{unit}")
                    if v.codes:
                        xf.write(
                            etree.Element("CodeListRef", CodeListOID=_oid("CL", t.code, v.name))
                        )
        for t in forms:
            for v in t.variables:
                if not v.codes:
                    continue
                data_type = _ODM_TYPES[v.type]
                with xf.element("CodeList", OID=_oid("CL", t.code, v.name), Name=v.name,
                                DataType=data_type):  # fmt: skip
                    for code, meaning in v.codes:
                        with xf.element("CodeListItem", CodedValue=str(code)):
                            _translated(xf, "Decode", str(meaning))


def _by_visit(table: Table) -> bool:
    return table.key_name == "visit" and table.repeated


def _repeat_key_kind(table: Table) -> str:
    """How a form's item groups are told apart within one event: by the key (criterion,
    level, event number...), by a running number (several calls in one visit), or not."""
    if table.key_name != "visit":
        return "key"
    return "count" if table.extra.get("several_per_key") else ""


def _odm_clinical(xf, forms: list[Table], events: list[str]) -> None:
    """One SubjectData per participant holding every form, then the screening-log entries of
    patients who never became participants (``LOG-<entry>``).

    Every form streams in trial-number order (``trial.exports.ByteOrder``), so the streams
    merge with ``heapq.merge`` and only one participant's records are in memory at a time.
    """
    import heapq
    import itertools

    def stream(index: int, table: Table) -> Iterator[tuple[str, int, tuple]]:
        for row in table.rows():
            if row[0]:
                yield row[0], index, row

    merged = heapq.merge(*(stream(i, t) for i, t in enumerate(forms)), key=lambda r: r[0])
    event_order = {code: n for n, code in enumerate(events)}
    for tn, records in itertools.groupby(merged, key=lambda r: r[0]):
        _odm_subject(xf, tn, forms, [(i, row) for _tn, i, row in records], event_order)
    for index, table in enumerate(forms):
        if table.extra.get("unregistered"):  # a second pass over that form only
            for row in table.rows():
                if not row[0]:
                    _odm_subject(xf, f"LOG-{row[2]}", forms, [(index, row)], event_order)
        xf.flush()


def _odm_subject(xf, subject_key, forms, records, event_order) -> None:
    from lxml import etree

    per_event: dict[str, dict[int, list[tuple]]] = {}
    for index, row in records:
        event = row[1] if _by_visit(forms[index]) else ENROLMENT
        per_event.setdefault(event, {}).setdefault(index, []).append(row)
    with xf.element("SubjectData", SubjectKey=subject_key):
        for event in sorted(per_event, key=lambda e: (event_order.get(e, len(event_order)), e)):
            sed = etree.Element("StudyEventData", StudyEventOID=_oid("SE", event))
            for index in sorted(per_event[event]):
                table = forms[index]
                fd = etree.SubElement(sed, "FormData", FormOID=_oid("F", table.code))
                repeat = _repeat_key_kind(table)
                group_oid = _oid("IG", table.code)
                for n, row in enumerate(per_event[event][index], start=1):
                    attrs = {"ItemGroupOID": group_oid}
                    if repeat == "key":
                        attrs["ItemGroupRepeatKey"] = str(row[1])
                    elif repeat == "count":
                        attrs["ItemGroupRepeatKey"] = str(n)
                    igd = etree.SubElement(fd, "ItemGroupData", **attrs)
                    for var, value in zip(table.variables, row[2:], strict=True):
                        if value is not None and value != "":
                            oid = _oid("I", table.code, var.name)
                            etree.SubElement(igd, "ItemData", ItemOID=oid, Value=text(value))
            xf.write(sed)


# === The whole export =====================================================================


@dataclass
class ExportSpec:
    exporter: str
    format: str
    identified: bool
    run_id: str
    requested_by: str = ""


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
                    write_csv_wide(zf, table, "csv/analysis_wide.csv")
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
        else:
            raise ExportError(_("Unknown format %(format)s.") % {"format": spec.format})
        progress(92)
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
    return "\n".join(
        [
            f"{settings.TRIAL_NAME} export {spec.run_id}",
            f"{_('Created')}: {meta['created'].isoformat()}",
            f"{_('Export')}: {spec.exporter}, {_('format')}: {spec.format}",
            f"{_('Data')}: {kind}",
            _("See codebook.csv / codebook.pdf for every variable."),
            "",
        ]
    )
