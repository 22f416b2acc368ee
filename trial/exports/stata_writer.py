"""A streaming writer of Stata 14+ ``.dta`` files (format 118), for exports with flat memory.

pyreadstat and pandas both need a whole table in memory before they write, and a form of a
large trial has millions of records. A .dta file is a fixed-width table behind a header that
states the number of records and each text column's width, so this writer makes two passes
over a temporary file instead of over memory: the first streams the records to disk (in
compact marshalled chunks) while counting them and measuring every text column; the second
writes the .dta with the widths known. Memory stays one chunk large whatever the table's size.

The format is Stata's own documentation, "dta file format 118" (help dta). Numbers are
doubles, dates ``long`` with %td, date-times doubles with %tc (milliseconds since 1960),
text ``str1``-``str2045``, or ``strL`` when a value is longer. Value labels attach to
integer-valued numeric variables. Files are read back by pandas and pyreadstat in the tests.
"""

from __future__ import annotations

import datetime as dt
import marshal
import struct
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Literal

Kind = Literal["number", "date", "datetime", "text"]

STATA_EPOCH = dt.date(1960, 1, 1)
STATA_EPOCH_DT = dt.datetime(1960, 1, 1)
MISSING_DOUBLE = struct.pack("<d", 2.0**1023)  # Stata's "." for a double
MISSING_LONG = struct.pack("<i", 2_147_483_621)  # "." for a long
STR_MAX = 2045
STRL = 32768
T_DOUBLE, T_LONG = 65526, 65528
CHUNK = 5000


@dataclass
class Column:
    """One variable: its name (at most 32 characters), label, kind and value labels."""

    name: str
    label: str = ""
    kind: Kind = "number"
    value_labels: dict[int, str] = field(default_factory=dict)
    width: int = 1  # bytes, for text; measured in the first pass

    @property
    def type_code(self) -> int:
        if self.kind == "text":
            return self.width if self.width <= STR_MAX else STRL
        return T_LONG if self.kind == "date" else T_DOUBLE

    @property
    def display_format(self) -> str:
        if self.kind == "date":
            return "%td"
        if self.kind == "datetime":
            return "%tc"
        if self.kind == "text":
            return f"%-{min(self.width, STR_MAX)}s"
        return "%10.0g"


def _prepare(columns: list[Column], value: Any, index: int) -> Any:
    """A value as a marshal-able primitive: float, int (days), str or None."""
    if value is None:
        return None
    kind = columns[index].kind
    if kind == "number":
        return float(value)
    if kind == "date":
        return (value - STATA_EPOCH).days
    if kind == "datetime":
        naive = value.replace(tzinfo=None)
        return (naive - STATA_EPOCH_DT) / dt.timedelta(milliseconds=1)
    return str(value)


def write_dta(
    target: Path | str, columns: list[Column], rows: Iterable[tuple], *, label: str = ""
) -> int:
    """Write ``rows`` (tuples of values in column order) to ``target``; returns the count.

    Values per kind: numbers (int, float, Decimal, bool), ``datetime.date`` for dates,
    timezone-aware or naive ``datetime`` (written as wall-clock time) for date-times, and
    anything for text (``str()``); ``None`` is missing.
    """
    count = 0
    text_columns = [i for i, c in enumerate(columns) if c.kind == "text"]
    widths = dict.fromkeys(text_columns, 1)
    with tempfile.TemporaryFile() as spool:
        chunk: list[list[Any]] = []
        for row in rows:
            values = [_prepare(columns, v, i) for i, v in enumerate(row)]
            for i in text_columns:
                if values[i] is not None:
                    n = len(values[i].encode("utf-8"))
                    if n > widths[i]:
                        widths[i] = n
            chunk.append(values)
            count += 1
            if len(chunk) == CHUNK:
                marshal.dump(chunk, spool)
                chunk = []
        if chunk:
            marshal.dump(chunk, spool)
        for i, width in widths.items():
            columns[i].width = width
        spool.seek(0)
        with open(target, "wb") as out:
            _write(out, columns, spool, count, label)
    return count


def _fixed(text: str, size: int) -> bytes:
    raw = text.encode("utf-8")[: size - 1]
    while True:  # never cut a character in half
        try:
            raw.decode("utf-8")
            break
        except UnicodeDecodeError:
            raw = raw[:-1]
    return raw + b"\0" * (size - len(raw))


def _chunks(spool: BinaryIO):
    while True:
        try:
            yield marshal.load(spool)  # noqa: S302 - our own temporary file, written just now
        except EOFError:
            return


def _write(out: BinaryIO, columns: list[Column], spool: BinaryIO, count: int, label: str):
    k = len(columns)
    offsets: list[int] = []

    def mark() -> None:
        offsets.append(out.tell())

    mark()  # 0: <stata_dta>
    out.write(b"<stata_dta><header><release>118</release><byteorder>LSF</byteorder>")
    out.write(b"<K>" + struct.pack("<H", k) + b"</K>")
    out.write(b"<N>" + struct.pack("<Q", count) + b"</N>")
    file_label = _fixed(label, 81).rstrip(b"\0")
    out.write(b"<label>" + struct.pack("<H", len(file_label)) + file_label + b"</label>")
    stamp = dt.datetime.now().strftime("%d %b %Y %H:%M").encode()
    out.write(b"<timestamp>" + struct.pack("<B", len(stamp)) + stamp + b"</timestamp>")
    out.write(b"</header>")
    mark()  # 1: <map>
    map_at = out.tell()
    out.write(b"<map>" + b"\0" * (14 * 8) + b"</map>")
    mark()  # 2
    out.write(b"<variable_types>")
    out.write(b"".join(struct.pack("<H", c.type_code) for c in columns))
    out.write(b"</variable_types>")
    mark()  # 3
    out.write(b"<varnames>" + b"".join(_fixed(c.name, 129) for c in columns) + b"</varnames>")
    mark()  # 4
    out.write(b"<sortlist>" + b"\0" * (2 * (k + 1)) + b"</sortlist>")
    mark()  # 5
    out.write(
        b"<formats>" + b"".join(_fixed(c.display_format, 57) for c in columns) + b"</formats>"
    )
    mark()  # 6
    names = [_fixed(c.name if c.value_labels else "", 129) for c in columns]
    out.write(b"<value_label_names>" + b"".join(names) + b"</value_label_names>")
    mark()  # 7
    labels = b"".join(_fixed(c.label, 321) for c in columns)
    out.write(b"<variable_labels>" + labels + b"</variable_labels>")
    mark()  # 8
    out.write(b"<characteristics></characteristics>")
    mark()  # 9
    out.write(b"<data>")
    with tempfile.TemporaryFile() as strls:
        _write_data(out, strls, columns, spool)
        out.write(b"</data>")
        mark()  # 10
        out.write(b"<strls>")
        strls.seek(0)
        while block := strls.read(1 << 20):
            out.write(block)
        out.write(b"</strls>")
    mark()  # 11
    out.write(b"<value_labels>")
    for c in columns:
        if c.value_labels:
            out.write(_label_table(c.name, c.value_labels))
    out.write(b"</value_labels>")
    mark()  # 12: </stata_dta>
    out.write(b"</stata_dta>")
    mark()  # 13: end of file
    out.seek(map_at + len(b"<map>"))
    out.write(b"".join(struct.pack("<Q", o) for o in offsets))
    out.seek(0, 2)


def _write_data(out: BinaryIO, strls: BinaryIO, columns: list[Column], spool: BinaryIO):
    # (how, arg): arg is the column number for strl, the width for str, unused (0) otherwise.
    packers: list[tuple[str, int]] = []
    for v, c in enumerate(columns, start=1):
        if c.kind == "date":
            packers.append(("long", 0))
        elif c.kind == "text" and c.type_code == STRL:
            packers.append(("strl", v))
        elif c.kind == "text":
            packers.append(("str", c.width))
        else:
            packers.append(("double", 0))
    pack_d, pack_i = struct.Struct("<d").pack, struct.Struct("<i").pack
    row_number = 0
    for chunk in _chunks(spool):
        parts: list[bytes] = []
        for values in chunk:
            row_number += 1
            for (how, arg), value in zip(packers, values, strict=True):
                if how == "double":
                    parts.append(MISSING_DOUBLE if value is None else pack_d(value))
                elif how == "str":
                    raw = b"" if value is None else value.encode("utf-8")
                    parts.append(raw + b"\0" * (arg - len(raw)))
                elif how == "long":
                    parts.append(MISSING_LONG if value is None else pack_i(value))
                elif value is None or value == "":
                    parts.append(b"\0" * 8)  # strL (0, 0): empty
                else:
                    # v (2 bytes) and o (6 bytes) point at a GSO block in <strls>.
                    parts.append(struct.pack("<H", arg) + row_number.to_bytes(6, "little"))
                    raw = value.encode("utf-8") + b"\0"
                    strls.write(b"GSO" + struct.pack("<IQBI", arg, row_number, 130, len(raw)) + raw)
        out.write(b"".join(parts))


def _label_table(name: str, value_labels: dict[int, str]) -> bytes:
    items = sorted((int(value), str(text)) for value, text in value_labels.items())
    offsets, texts, at = [], [], 0
    for _value, text in items:
        raw = _fixed(text, 32000).rstrip(b"\0") + b"\0"
        offsets.append(at)
        texts.append(raw)
        at += len(raw)
    table = struct.pack("<ii", len(items), at)
    table += b"".join(struct.pack("<i", o) for o in offsets)
    table += b"".join(struct.pack("<i", value) for value, _t in items)
    table += b"".join(texts)
    head = struct.pack("<i", len(table)) + _fixed(name, 129) + b"\0\0\0"
    return b"<lbl>" + head + table + b"</lbl>"
