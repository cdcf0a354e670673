"""The floor of a night, for the benchmark only (not shipped): what the machine needs at the least.

  raw_read   python-calamine opens every workbook and reads every sheet's cells (no layout, no matching)
  copy       COPY of the figures the nightly run staged (raw.facts, read back first) into a fresh table
  rule_sql   the gate's rule queries alone (ingestion.rules.sql), over the same figures, without GX

    python bench/floor.py --inbox DIR --url postgresql://... --out floor.json
"""
from __future__ import annotations

import argparse
import io
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def raw_read(files: list[Path]) -> dict:
    from python_calamine import CalamineWorkbook

    cells = 0
    started = time.perf_counter()
    for path in files:
        try:
            wb = CalamineWorkbook.from_path(str(path))
            for name in wb.sheet_names:
                for row in wb.get_sheet_by_name(name).to_python():
                    cells += sum(1 for v in row if v != "")
        except Exception:  # the deliberately broken files
            continue
    seconds = time.perf_counter() - started
    return {"files": len(files), "cells": cells, "seconds": round(seconds, 2),
            "files_per_second": round(len(files) / seconds, 1)}


def copy_and_rules(url: str) -> dict:
    import psycopg2

    sys.path.insert(0, str(REPO))
    from ingestion.indicators import load_catalog
    from ingestion.rules.ruleset import load_rules
    from ingestion.rules.sql import SqlEngine

    conn = psycopg2.connect(url)
    out = {}
    with conn.cursor() as cur:
        buf = io.StringIO()
        cur.copy_expert("copy raw.facts to stdout", buf)
        buf.seek(0)
        cur.execute("drop table if exists work.floor_facts")
        cur.execute("create table work.floor_facts (like raw.facts)")
        conn.commit()
        started = time.perf_counter()
        cur.copy_expert("copy work.floor_facts from stdin", buf)
        conn.commit()
        out["copy"] = {"seconds": round(time.perf_counter() - started, 2), "rows": cur.rowcount}
        cur.execute("drop table work.floor_facts")
        # The gate's batch as the nightly run had it: every candidate figure of the night.
        cur.execute("drop table if exists work.floor_batch")
        cur.execute("create table work.floor_batch as select * from intermediate.int_facts_candidates")
        cur.execute("analyze work.floor_batch")
        cur.execute("select count(*) from work.floor_batch")
        batch_rows = cur.fetchone()[0]
        conn.commit()
        engine = SqlEngine(load_rules(), load_catalog())
        per_kind = {}
        started = time.perf_counter()
        for kind in engine.kinds():
            t0 = time.perf_counter()
            cur.execute(f"select count(*) from ({engine.query(kind).replace('{batch}', 'work.floor_batch')}) q")
            cur.fetchone()
            per_kind[kind] = round(time.perf_counter() - t0, 2)
        out["rule_sql"] = {"seconds": round(time.perf_counter() - started, 2), "batch_rows": batch_rows,
                           "per_kind": per_kind}
        cur.execute("drop table work.floor_batch")
    conn.commit()
    conn.close()
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--inbox", required=True, type=Path)
    ap.add_argument("--url", required=True)
    ap.add_argument("--out", required=True, type=Path)
    args = ap.parse_args()
    files = sorted(p for p in args.inbox.rglob("*.xlsx") if "_registry" not in p.parts)
    result = {"raw_read": raw_read(files), **copy_and_rules(args.url)}
    args.out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
