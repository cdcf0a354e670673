"""Figures cross from the parsing workers to COPY as one text a file (load.fact_copy_text), given their
file_id when stored: the same lines ``copy_line`` writes, and the same values back from raw.facts."""
from __future__ import annotations

from decimal import Decimal

import psycopg2

from ingestion.pipeline import load
from ingestion.submission import FileIdentity, FileSubmission, Period
from ingestion.warehouse.copy import copy_line
from ingestion.warehouse.schema import schema_sql
from ingestion.workbook.extract import Fact

SPECIALS = ("\t", "\n", "\r", "\\", "\\N", "a\\tb")


def _fact(row: int, **fields) -> Fact:
    base = dict(sheet="Biểu mẫu 3", row=row, form=3, stt="1.1", label="Số hồ sơ tiếp nhận", unit="Hồ sơ",
                raw="1.234", value=Decimal("1234"), indicator="tthc_received", kind="count", note=None,
                legend=None, match="exact", column=3, scope="unit")
    return Fact(**(base | fields))


def _facts() -> list[Fact]:
    facts = [_fact(5), _fact(6, form=None, stt=None, unit=None, raw=None, value=None, indicator=None, match="unmatched"),
             _fact(7, value=Decimal("1E+3"), numerator=Decimal("-2.50"), denominator=Decimal("0.000001"),
                   kind="percent", note="theo “Quyết định” số 12", legend="1: Có; 0: Không")]
    row = 8
    for name in ("sheet", "stt", "label", "unit", "raw", "indicator", "note", "legend", "kind", "match", "scope"):
        for special in SPECIALS:
            facts.append(_fact(row, **{name: f"trước{special}sau"}))
            row += 1
    return facts


def test_the_text_of_the_figures_is_what_copy_line_writes_for_each():
    facts = _facts()
    assert load.fact_copy_text(facts).split("\n") == [copy_line(load._fact_row(f)) for f in facts]
    assert load.fact_copy_text([]) == ""


def _parsed(path: str, facts: list[Fact]) -> load.Parsed:
    sub = FileSubmission(FileIdentity(path, path.encode().hex().ljust(64, "0"), 100, 1.7e9), "79001", Period(2025, 1))
    sub.facts = facts
    return load.staged(sub, "calamine", None)


def test_stored_figures_come_back_with_their_file_and_every_character(warehouse):
    conn = psycopg2.connect(warehouse.url())
    with conn, conn.cursor() as cur:
        cur.execute(schema_sql())
    first, second = _facts(), [_fact(5, label="hai\ndòng"), _fact(6)]
    parsed = [_parsed("79001/2025-Q1/a.xlsx", first), _parsed("79001/2025-Q1/empty.xlsx", []),
              _parsed("79001/2025-Q1/b.xlsx", second)]
    assert [p.n_facts for p in parsed] == [len(first), 0, 2]
    stored = load.store(conn, "run-1", parsed)
    assert (stored.loaded, stored.facts) == (3, len(first) + 2)
    with conn.cursor() as cur:
        cur.execute("select path, n_facts, file_id from raw.files order by file_id")
        files = cur.fetchall()
        assert [(p, n) for p, n, _ in files] == [("79001/2025-Q1/a.xlsx", len(first)), ("79001/2025-Q1/empty.xlsx", 0),
                                                  ("79001/2025-Q1/b.xlsx", 2)]
        cur.execute("""select file_id, sheet, row_number, col_number, form, stt, label, unit_text, raw_value, value,
                              numerator, denominator, kind, indicator, match, note, legend, scope
                       from raw.facts order by file_id, row_number""")
        rows = cur.fetchall()
    conn.close()
    ids = {p: i for p, _, i in files}
    expected = [(ids["79001/2025-Q1/a.xlsx"], *load._fact_row(f)) for f in first] + \
               [(ids["79001/2025-Q1/b.xlsx"], *load._fact_row(f)) for f in second]
    assert rows == expected
