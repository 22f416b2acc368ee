"""What an export contains: its tables, one per form of the registry plus the wide
analysis file, and how a value is written as text.

The wide analysis file (one row per participant) is a merge of participant-sorted streams, so
memory stays flat whatever the trial's size.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

from trial.exports import trial_exporters
from trial.exports.registry import FULL, Exporter, Variable, autodiscover


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
    # (trial.exports.sql): the source, and which of its variables this table keeps.
    sql: Callable[[], Any] | None = None
    sql_variables: list[Variable] = field(default_factory=list)
    sql_positions: list[int] = field(default_factory=list)


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
    registry = autodiscover()
    contributions = registry.analysis_columns(identified=identified)
    parts = [(c, c.variables()) for c in contributions]
    variables = trial_exporters.base_variables()[:]
    for _c, vs in parts:
        variables.extend(vs)

    def rows() -> Iterator[tuple]:
        streams = [(iter(c.rows()), len(vs)) for c, vs in parts]
        heads: list[Any] = [next(it, None) for it, _n in streams]
        for pid, trial_number, base in trial_exporters.participant_stream():
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
    registry = autodiscover()
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
    tables = [form_table(cls(), identified=identified)]
    if identified and not cls.identifying:
        # An identified export of one form carries what it says: the identifying data of its
        # participants comes with it, as in the full export, keyed by the same trial numbers.
        tables += [
            form_table(e, identified=True)
            for e in registry.exporters(identified=True)
            if e.identifying
        ]
    return tables


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


# Text a spreadsheet would read as a formula or a command (OWASP's CSV-injection rule): a
# cell holding text that starts with one of these is written with a leading single quote.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """Text that a spreadsheet would run as a formula, prefixed with ``'``; anything else as is.

    Only text is touched: a negative number is a number, not text, and stays as it is. Names,
    addresses and free text typed by people could otherwise open a link or start a program
    when a data manager opens the CSV or XLSX file. ``trial.exports.sql`` does the same in SQL.
    """
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def cell_text(value: Any) -> str:
    """A value as text for a CSV cell: ``text`` of the value, text neutralised."""
    return text(neutralise(value))
