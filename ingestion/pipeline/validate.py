"""The data-quality gate: check pending submissions before anything is published.

Great Expectations runs the generated suite over the pending figures and gives the
verdict per rule kind; the same generated SQL, run once more unfiltered, writes every
evaluation (passes too) to the append-only audit.dq_results. The two must agree on the
number of failures, or the run stops before publishing. A submission with an
error-severity failure is held back; its unit's previously accepted version stays published.
"""
from __future__ import annotations

import json
import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from psycopg2.extras import RealDictCursor, execute_values

from ..catalog import Catalog, load_catalog
from ..rules.catalog import RuleSet, load_rules
from ..rules.gx_suite import data_docs_index, run_checkpoint
from ..rules.messages import render
from ..rules.sql import SqlEngine, evaluation_from_row
from ..warehouse.connection import Dsn
from ..warehouse.copy import copy_rows

log = logging.getLogger(__name__)
BATCH_RELATION = "intermediate.int_facts_pending"
DQ_COLUMNS = ("run_id", "file_id", "content_hash", "unit_code", "year", "quarter", "rule_id", "rule_kind", "severity",
              "status", "indicator", "sheet", "row_number", "rows", "form", "observed", "expected", "details", "message")


class GateMismatch(RuntimeError):
    """Great Expectations and the ledger disagree: something is wrong with the rule engine."""


@dataclass
class GateStats:
    submissions: int = 0
    accepted: int = 0
    held: int = 0
    evaluations: int = 0
    passed: int = 0
    failed: int = 0
    failed_by_severity: dict = field(default_factory=dict)
    gx_expectations: int = 0
    gx_failed_expectations: int = 0
    seconds: float = 0.0
    data_docs: str | None = None
    held_units: list[str] = field(default_factory=list)


def _json(value):
    return json.loads(json.dumps(value, default=str))


def validate(conn, dsn: Dsn, run_id: str, gx_dir: Path, rules: RuleSet | None = None,
             catalog: Catalog | None = None) -> GateStats:
    started = time.perf_counter()
    rules, catalog = rules or load_rules(), catalog or load_catalog()
    engine = SqlEngine(rules, catalog)
    stats = GateStats()
    with conn.cursor() as cur:
        cur.execute(f"""select p.file_id, f.content_hash, f.unit_code, f.year, f.quarter
                        from (select distinct file_id from {BATCH_RELATION}) p
                        join raw.files f on f.file_id = p.file_id order by p.file_id""")
        pending = {row[0]: row for row in cur.fetchall()}
    if not pending:
        stats.seconds = time.perf_counter() - started
        return stats
    stats.submissions = len(pending)

    outcomes = run_checkpoint(gx_dir, dsn.sqlalchemy_url(), rules, engine, run_name=run_id)
    stats.gx_expectations = len(outcomes)
    stats.gx_failed_expectations = sum(not o.success for o in outcomes)
    stats.data_docs = str(data_docs_index(gx_dir))

    ledger = []
    with conn.cursor(cursor_factory=RealDictCursor) as cur:
        for kind in engine.kinds():
            cur.execute(engine.query(kind).replace("{batch}", BATCH_RELATION))
            ledger.extend(cur.fetchall())
    fails = Counter((r["rule_kind"], r["severity"]) for r in ledger if r["status"] == "fail")
    for o in outcomes:
        if fails.get((o.kind, o.severity), 0) != o.unexpected_count:
            raise GateMismatch(f"{o.kind}/{o.severity}: Great Expectations found {o.unexpected_count} failures, "
                               f"the ledger {fails.get((o.kind, o.severity), 0)}")

    per_file: dict[int, Counter] = {fid: Counter() for fid in pending}
    dq_rows = []
    for r in ledger:
        ev = evaluation_from_row(r)
        if r["file_id"] is not None and r["status"] == "fail":
            per_file[r["file_id"]][r["severity"]] += 1
        content_hash = pending[r["file_id"]][1] if r["file_id"] in pending else None
        message = render(ev, rules, catalog) if r["status"] == "fail" else None
        dq_rows.append((run_id, r["file_id"], content_hash, r["unit_code"], r["year"], r["quarter"], r["rule_id"],
                        r["rule_kind"], r["severity"], r["status"], r["indicator"], r["sheet"], r["row_number"],
                        list(r["rows"] or []), r["form"], r["observed"], r["expected"], _json(r["details"]), message))
    stats.evaluations = len(ledger)
    stats.failed = sum(fails.values())
    stats.passed = stats.evaluations - stats.failed
    stats.failed_by_severity = dict(Counter(sev for (_, sev), n in fails.items() for _ in range(n)))

    gate_rows = []
    for fid, counts in per_file.items():
        decision = "held" if counts["error"] else "accepted"
        gate_rows.append((fid, run_id, decision, counts["error"], counts["warning"]))
        if decision == "held":
            stats.held += 1
            stats.held_units.append(f"{pending[fid][2]} {pending[fid][3]}-Q{pending[fid][4]}")
        else:
            stats.accepted += 1
    with conn.cursor() as cur:
        copy_rows(cur, "audit.dq_results", DQ_COLUMNS, dq_rows)
        execute_values(cur, "insert into audit.submission_gate (file_id, run_id, decision, errors, warnings) values %s",
                       gate_rows)
        execute_values(cur, """insert into audit.gx_validations
                               (run_id, suite, expectation, rule_kind, severity, success, unexpected_count, result)
                               values %s""",
                       [(run_id, "cchc_consistency", f"{o.kind}:{o.severity}", o.kind, o.severity, o.success,
                         o.unexpected_count, json.dumps(o.result, default=str)) for o in outcomes])
    conn.commit()
    stats.seconds = time.perf_counter() - started
    return stats
