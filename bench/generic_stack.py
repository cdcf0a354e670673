"""The generic stack a team would write instead of this project, for the benchmark only (not shipped).

Per file: pandas.read_excel (openpyxl) -> a long table of (sheet, row, STT, label, unit, value),
the indicator found by an exact lookup of the label in the catalog -> DataFrame.to_sql ->
a Great Expectations checkpoint over that file's rows with the same rules as standard GX
expectations (ExpectColumnValuesToNotBeNull, ExpectColumnValuesToBeBetween and
UnexpectedRowsExpectation with the catalog's relations). Then one `dbt build` of a small project
(bench/generic_dbt: a staging view, a fact table with rates recomputed, its tests).

It reads the official template's layout (STT, label, unit, value in the first four columns), so
it reads fewer real-world layouts than the project does: a favourable comparison for it.

    python bench/generic_stack.py --inbox DIR --url postgresql+psycopg2://... [--limit N] --out result.json
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
import unicodedata
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DBT_DIR = Path(__file__).resolve().parent / "generic_dbt"


def _norm(text) -> str:
    text = unicodedata.normalize("NFC", str(text or "")).lower()
    return re.sub(r"\s+", " ", re.sub(r"[^\w%]+", " ", text)).strip()


def _values(pairs) -> str:
    return ", ".join("(" + ", ".join(f"'{v}'" for v in p) + ")" for p in pairs)


def suite_expectations(catalog):
    """The rule kinds a per-file check can express, as standard GX 1.x expectations."""
    import great_expectations.expectations as gxe

    rates = [(i.code, i.numerator, i.denominator) for i in catalog if i.numerator and i.denominator]
    totals = [(i.code, p) for i in catalog for p in i.parts]
    wholes = [(i.code, i.whole) for i in catalog if i.whole]
    out = [
        gxe.ExpectColumnValuesToNotBeNull(column="label"),
        gxe.ExpectColumnValuesToBeBetween(column="value", min_value=0),  # count_not_negative (and rates)
        gxe.UnexpectedRowsExpectation(description="percent_in_range", unexpected_rows_query=(
            "select * from {batch} where strpos(unit, chr(37)) > 0 and (value < 0 or value > 100)")),
        gxe.UnexpectedRowsExpectation(description="count_is_whole", unexpected_rows_query=(
            "select * from {batch} where strpos(unit, chr(37)) = 0 and value <> trunc(value)")),
    ]
    if rates:
        out.append(gxe.UnexpectedRowsExpectation(description="rate_matches_parts", unexpected_rows_query=f"""
            with rel (rate, num, den) as (values {_values(rates)})
            select r.* from {{batch}} r join rel on rel.rate = r.indicator
            join {{batch}} n on n.indicator = rel.num join {{batch}} d on d.indicator = rel.den
            where d.value > 0 and abs(r.value - 100 * n.value / d.value) > 1"""))
    if totals:
        out.append(gxe.UnexpectedRowsExpectation(description="total_equals_parts", unexpected_rows_query=f"""
            with rel (total, part) as (values {_values(totals)}),
                 sums as (select rel.total, sum(p.value) as s from rel join {{batch}} p on p.indicator = rel.part
                          group by rel.total)
            select t.* from {{batch}} t join sums on sums.total = t.indicator where t.value <> sums.s"""))
    if wholes:
        out.append(gxe.UnexpectedRowsExpectation(description="part_not_above_whole", unexpected_rows_query=f"""
            with rel (part, whole) as (values {_values(wholes)})
            select p.* from {{batch}} p join rel on rel.part = p.indicator join {{batch}} w on w.indicator = rel.whole
            where p.value > w.value"""))
    return out


def read_file(path: Path, rel: str, labels: dict[str, str]):
    import pandas as pd

    frames = []
    for sheet, df in pd.read_excel(path, sheet_name=None, header=None, engine="openpyxl").items():
        if df.shape[1] < 4:
            continue
        part = df.iloc[:, :4].copy()
        part.columns = ["stt", "label", "unit", "raw"]
        part["value"] = pd.to_numeric(part["raw"], errors="coerce")
        part = part[part["label"].notna() & part["value"].notna()]
        part["indicator"] = part["label"].map(lambda s: labels.get(_norm(s)))
        part["row_number"] = part.index + 1
        part["sheet"] = sheet
        part["file"] = rel
        frames.append(part[["file", "sheet", "row_number", "stt", "label", "unit", "value", "indicator"]]
                      .astype({"stt": str, "label": str, "unit": str}))
    return pd.concat(frames) if frames else None


def run(files: list[Path], inbox: Path, url: str) -> dict:
    import great_expectations as gx
    import sqlalchemy as sa

    sys.path.insert(0, str(REPO))
    from ingestion.indicators import load_catalog

    catalog = load_catalog()
    labels = {}
    for ind in catalog:
        for name in (ind.name_vi, *ind.aliases):
            labels.setdefault(_norm(name), ind.code)
    engine = sa.create_engine(url)
    with engine.begin() as c:
        c.execute(sa.text("drop schema if exists generic cascade"))
        c.execute(sa.text("create schema generic"))
    context = gx.get_context(mode="ephemeral")
    os.environ["GENERIC_STACK_URL"] = url  # GX reads credentials from the environment (a socket URL has no host)
    source = context.data_sources.add_sql(name="warehouse", connection_string="${GENERIC_STACK_URL}")
    suite = context.suites.add(gx.ExpectationSuite(name="cchc_rules"))
    for expectation in suite_expectations(catalog):
        suite.add_expectation(expectation)
    seconds = {"read_excel": 0.0, "to_sql": 0.0, "gx_checkpoint": 0.0}
    rows = failed = 0
    for i, path in enumerate(files):
        rel = path.relative_to(inbox).as_posix()
        t0 = time.perf_counter()
        try:
            df = read_file(path, rel, labels)
        except Exception:  # a broken workbook: the generic stack skips it
            df = None
        t1 = time.perf_counter()
        seconds["read_excel"] += t1 - t0
        if df is None or df.empty:
            continue
        df.to_sql("facts", engine, schema="generic", if_exists="append", index=False)
        t2 = time.perf_counter()
        seconds["to_sql"] += t2 - t1
        rows += len(df)
        asset = source.add_query_asset(name=f"file_{i}", query=f"select * from generic.facts where file = '{rel}'")
        batch = asset.add_batch_definition_whole_table("rows")
        validation = context.validation_definitions.add(gx.ValidationDefinition(name=f"v_{i}", data=batch, suite=suite))
        checkpoint = context.checkpoints.add(gx.Checkpoint(name=f"c_{i}", validation_definitions=[validation]))
        failed += not checkpoint.run().success
        seconds["gx_checkpoint"] += time.perf_counter() - t2
    t3 = time.perf_counter()
    u = sa.engine.make_url(url)
    env = dict(os.environ, GEN_DB_HOST=u.query.get("host") or u.host or "localhost",
               GEN_DB_PORT=str(u.query.get("port") or u.port or 5432), GEN_DB_USER=u.username or "postgres",
               GEN_DB_PASSWORD=u.password or "", GEN_DB_NAME=u.database)
    dbt = Path(sys.executable).with_name("dbt")
    target = Path(os.environ.get("GEN_DBT_TARGET", DBT_DIR / "target"))  # `cchc bench`: under bench/out/
    proc = subprocess.run([str(dbt), "build", "--project-dir", str(DBT_DIR), "--profiles-dir", str(DBT_DIR),
                           "--target-path", str(target), "--log-path", str(target / "logs")],
                          env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError("generic dbt build failed:\n" + proc.stdout[-3000:])
    seconds["dbt_build"] = time.perf_counter() - t3
    return {"files": len(files), "rows": rows, "files_failing_checks": failed,
            "stages": {k: round(v, 2) for k, v in seconds.items()}}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--inbox", required=True, type=Path)
    ap.add_argument("--url", required=True)
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--out", required=True, type=Path)
    args = ap.parse_args()
    files = sorted(p for p in args.inbox.rglob("*.xlsx") if "_registry" not in p.parts)
    total = len(files)
    if args.limit and args.limit < total:
        step = total / args.limit  # spread over units and levels, not the first folders only
        files = [files[int(k * step)] for k in range(args.limit)]
    started = time.perf_counter()
    result = run(files, args.inbox, args.url)
    result["wall_seconds"] = round(time.perf_counter() - started, 2)
    result["inbox_files"] = total
    args.out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
