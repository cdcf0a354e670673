"""The compiled rule SQL written out, one file per kind, so reviewers can read what the gate runs."""
from __future__ import annotations

from pathlib import Path

from . import batch
from .ruleset import RuleSet
from .sql import SqlEngine

FOLDER = "rules_sql"  # inside the dbt target folder, beside dbt's own compiled SQL


def write_rule_sql(out_dir: Path, rules: RuleSet, engine: SqlEngine) -> list[Path]:
    """``<kind>.sql`` for every kind with instances: its evaluation query over the pending batch.

    The gate runs each once (passes too) into work.gate_evaluations, which Great Expectations validates
    and the ledger copies into audit.dq_results.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.glob("*.sql"):
        old.unlink()  # a kind no longer in the catalog leaves no stale file behind
    written = []
    for kind in engine.kinds():
        entry = rules.kinds[kind]
        severities = ", ".join(sorted({i.severity for i in rules.of_kind(kind)}))
        header = (f"-- {kind}: {entry['title_en']} / {entry['title_vi']}\n"
                  f"-- {len(rules.of_kind(kind))} instances; severity {severities}. Generated from expectations/rules.yml\n"
                  f"-- and the indicator catalog by ingestion/rules/kinds/{kind}.py; reads the pending batch {batch.RELATION}.\n")
        path = out_dir / f"{kind}.sql"
        path.write_text(header + engine.batch_query(kind).strip() + "\n", encoding="utf-8")
        written.append(path)
    return written
