"""Long CSV files written by PostgreSQL itself (for speed).

A form in long format has one line per participant, visit, item and value: for a full trial
that is tens of millions of lines, and building them one by one in Python is many times slower
than the database's own ``COPY ... TO STDOUT``. So on PostgreSQL an exporter may describe its
records once more, as SQL (``Exporter.sql_source()``), and the long file is produced by::

    COPY (SELECT trial_number, key, item, value
          FROM (<the exporter's SELECT>) AS s
          CROSS JOIN LATERAL (VALUES ('item_1', <s.c2 as text>), ...) AS v(item, value)
          WHERE value is recorded) TO STDOUT WITH (FORMAT csv)

streamed straight into the ZIP entry. The text of each value follows the variable's type
exactly as ``trial.exports.tables.text`` writes it in Python (ISO dates, local date-times with
their offset, 1/0 for booleans), and a test on PostgreSQL compares both paths form by form, so
the SQL can never drift from the Python rows that XLSX, Stata and ODM use. On SQLite, and for
exporters without ``sql_source()``, the Python path writes the same file.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import IO, Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Func, QuerySet, TextField

# Every COPY statement run, when a caller (the benchmark, a test) sets this to a list.
COPY_LOG: list[str] | None = None


@dataclass(frozen=True)
class SqlSource:
    """An exporter's records as one SELECT, for PostgreSQL.

    The SELECT returns the trial number, the key (visit, criterion, level... or ``''``), then
    one column per variable of ``Exporter.variables()``, in that order and in the database's
    own types: a boolean variable is a boolean column, a date a date, a date-time a
    ``timestamptz``; anything else is turned into text with ``::text`` (so a list stored as
    JSON must be made text in the SELECT, with ``JsonListText``). ``prepare`` runs first, in
    the same transaction, with the cursor: it may create temporary tables the SELECT joins.
    """

    sql: str
    params: tuple = ()
    prepare: Callable[[Any], None] | None = None

    @classmethod
    def from_queryset(cls, qs: QuerySet, prepare: Callable[[Any], None] | None = None):
        sql, params = qs.query.sql_with_params()
        return cls(sql, tuple(params), prepare)


class JsonListText(Func):
    """A JSON array as its elements joined by spaces (``["L1", "L2"]`` -> ``"L1 L2"``)."""

    template = (
        "CASE WHEN jsonb_typeof(%(expressions)s) = 'array' THEN array_to_string(ARRAY("
        "SELECT jsonb_array_elements_text(%(expressions)s)), ' ') END"
    )
    output_field = TextField()


class JsonPairsText(Func):
    """A JSON object as ``key:value`` pairs joined by spaces, in key order
    (``{"odi": "declined", "hsu": "too_ill"}`` -> ``"hsu:too_ill odi:declined"``); NULL when
    it has none."""

    template = (
        "(SELECT string_agg(key || ':' || value, ' ' ORDER BY key) "
        "FROM jsonb_each_text(CASE WHEN jsonb_typeof(%(expressions)s) = 'object' "
        "THEN %(expressions)s ELSE '{}'::jsonb END))"
    )
    output_field = TextField()

    def as_sqlite(self, compiler, connection, **extra_context):
        return self.as_sql(
            compiler,
            connection,
            template=(
                "(SELECT group_concat(key || ':' || value, ' ') FROM (SELECT key, value FROM "
                "json_each(%(expressions)s) ORDER BY key))"
            ),
            **extra_context,
        )


class JsonListLength(Func):
    template = (
        "CASE WHEN jsonb_typeof(%(expressions)s) = 'array' "
        "THEN jsonb_array_length(%(expressions)s) ELSE 0 END"
    )

    def __init__(self, expression, **extra):
        from django.db.models import IntegerField

        super().__init__(expression, output_field=IntegerField(), **extra)


def as_text(var_type: str, column: str) -> str:
    """SQL for a column's value as the Python export writes it (trial.exports.tables.text)."""
    if var_type == "boolean":
        return f"CASE WHEN {column} THEN '1' WHEN NOT {column} THEN '0' END"
    if var_type == "date":
        return f"to_char({column}, 'YYYY-MM-DD')"
    if var_type == "datetime":
        # Local time with its UTC offset, whole seconds (the session's zone is set below).
        return f"""to_char(date_trunc('second', {column}), 'YYYY-MM-DD"T"HH24:MI:SSTZH:TZM')"""
    return f"({column})::text"


# The first characters that make a spreadsheet read text as a formula, as SQL literals (the
# same list as trial.exports.tables.FORMULA_STARTS; the tests write both paths).
_FORMULA_STARTS_SQL = "'=', '+', '-', '@', E'\\t', E'\\r'"
_TEXT_TYPES = "'text'::regtype, 'character varying'::regtype, 'character'::regtype"


def neutralised(column: str, expression: str) -> str:
    """SQL for ``expression`` (``column`` as text) neutralised like ``tables.neutralise``.

    Only a column that is text in the database gets the quote: a negative number is a number
    (and a text variable holding numbers, a code list, is numbers in the database).
    """
    return (
        f"CASE WHEN pg_typeof({column}) IN ({_TEXT_TYPES}) "
        f"AND left({column}::text, 1) IN ({_FORMULA_STARTS_SQL}) "
        f"THEN '''' || {expression} ELSE {expression} END"
    )


def _value(var_type: str, column: str) -> str:
    # Numbers, dates and booleans are never text to a spreadsheet, even when the SELECT gives
    # them as text (scores come from a temporary table of text): only text is neutralised.
    if var_type == "text":
        return neutralised(column, as_text(var_type, column))
    return as_text(var_type, column)


def long_select(
    source: SqlSource, names: Sequence[str], types: Sequence[str], positions: Sequence[int]
):
    """The SELECT of (trial_number, key, item, value) lines; ``positions`` picks variables."""
    width = 2 + len(types)
    aliases = ", ".join(f"c{i}" for i in range(width))
    values = ", ".join(
        f"(%s, {_value(types[i], f's.c{i + 2}')})" for i in positions
    )  # item names go in as parameters, never spliced into the SQL
    head = ", ".join(neutralised(f"s.c{i}", f"NULLIF(s.c{i}::text, '')") for i in (0, 1))
    sql = (
        f"SELECT {head}, v.item, v.value "  # noqa: S608
        f"FROM ({source.sql}) AS s({aliases}) "
        f"CROSS JOIN LATERAL (VALUES {values}) AS v(item, value) "
        "WHERE v.value IS NOT NULL AND v.value <> ''"
    )
    return sql, (*source.params, *(names[i] for i in positions))


def copy_long(out: IO[bytes], source: SqlSource, names, types, positions) -> None:
    """Stream the long lines of one form into ``out`` (a binary file), header excluded."""
    sql, params = long_select(source, names, types, positions)
    with transaction.atomic(), connection.cursor() as cursor:
        # Local date-times are written in the trial's zone. SET LOCAL lasts to the end of the
        # outermost transaction, which may be the caller's, and Django reads every timestamp
        # as UTC: so the zone goes back to the connection's own right after the COPY (on an
        # error, rolling back this block's savepoint undoes the SET as well).
        cursor.execute(f"SET LOCAL TIME ZONE '{_zone()}'")
        if source.prepare is not None:
            source.prepare(cursor)
        raw = cursor.cursor
        statement = f"COPY ({raw.mogrify(sql, params).decode()}) TO STDOUT WITH (FORMAT csv)"
        if COPY_LOG is not None:
            COPY_LOG.append(statement)
        raw.copy_expert(statement, out, size=1 << 20)
        cursor.execute(f"SET LOCAL TIME ZONE '{connection.timezone_name}'")


def _zone() -> str:
    zone = str(settings.TIME_ZONE)
    if not zone.replace("/", "").replace("_", "").replace("-", "").isalnum():
        raise ValueError(f"unexpected TIME_ZONE {zone!r}")
    return zone


def available() -> bool:
    return connection.vendor == "postgresql"
