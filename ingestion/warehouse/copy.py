"""Bulk loading with PostgreSQL COPY (text format), never row-by-row inserts."""
from __future__ import annotations

import io
import json
import re
from decimal import Decimal
from typing import Iterable, Sequence

_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_SPECIAL = re.compile(r"[\\\t\n\r]")
NULL = "\\N"


def needs_escape(text: str) -> bool:
    """Whether a text holds a character COPY's text format escapes."""
    return _SPECIAL.search(text) is not None


def copy_field(value) -> str:
    """One value as a field of COPY's text format."""
    if value is None:
        return NULL
    cls = value.__class__
    if cls is str:  # the common cases first: this runs for every field of every figure
        return value.translate(_ESCAPES) if _SPECIAL.search(value) else value
    if cls is int:
        return str(value)
    if cls is Decimal:
        return format(value, "f")
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, (list, tuple)):
        return "{" + ",".join("NULL" if v is None else str(v) for v in value) + "}"  # integer arrays
    if isinstance(value, dict):
        value = json.dumps(value, ensure_ascii=False, default=str)
    return str(value).translate(_ESCAPES)


def copy_line(row: Sequence) -> str:
    """One row in COPY text format, without its line feed (workers format their rows themselves)."""
    return "\t".join(map(copy_field, row))


def copy_rows(cur, table: str, columns: Sequence[str], rows: Iterable[Sequence]) -> int:
    return copy_lines(cur, table, columns, map(copy_line, rows))


def copy_lines(cur, table: str, columns: Sequence[str], lines: Iterable[str]) -> int:
    """COPY rows already formatted by ``copy_line`` (a string may hold several, joined by line feeds)."""
    buf = io.StringIO()
    n = 0
    for line in lines:
        buf.write(line)
        buf.write("\n")
        n += 1
    if n:
        buf.seek(0)
        cur.copy_expert(f"copy {table} ({', '.join(columns)}) from stdin", buf)
    return n
