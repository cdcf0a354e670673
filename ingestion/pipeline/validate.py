"""The data-quality gate: check pending submissions before anything is published.

Each rule kind's generated SQL runs once over the pending figures (work.gate_batch), by two
sessions side by side, into work.gate_evaluations: every evaluation, passes too. Then, at the
same time, Great Expectations validates those evaluations (one expectation per rule kind and
severity: no failure) and the ledger writes them to the append-only audit.dq_results. The two
must agree on the number of failures, or the run stops before publishing. A submission with an
error-severity failure is held back; its unit's previously accepted version stays published.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from psycopg2.extras import RealDictCursor, execute_values

from .. import progress
from ..indicators import Catalog, load_catalog
from ..rules import batch
from ..rules.ruleset import RuleSet, load_rules
from ..rules.gx_process import GxProcess
from ..rules.gx_suite import run_checkpoint
from ..rules.messages import render
from ..rules.sql import SqlEngine, evaluation_from_row
from ..warehouse.connection import Dsn
from ..warehouse.dbt_relations import relation
from ..warehouse.copy import copy_rows
from .background import Background, in_sessions

log = logging.getLogger(__name__)
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
    rules_seconds: float = 0.0  # every rule kind's query, once: the evaluations
    ledger_seconds: float = 0.0  # the evaluations written to audit.dq_results
    gx_seconds: float = 0.0  # Great Expectations' checkpoint over the evaluations, alongside the ledger
    held_units: list[str] = field(default_factory=list)


def _dq_row(r: dict, run_id: str, rules: RuleSet, catalog: Catalog) -> tuple:
    message = render(evaluation_from_row(r), rules, catalog) if r["status"] == "fail" else None
    return (run_id, r["file_id"], r["content_hash"], r["unit_code"], r["year"], r["quarter"], r["rule_id"],
            r["rule_kind"], r["severity"], r["status"], r["indicator"], r["sheet"], r["row_number"],
            list(r["rows"] or []), r["form"], r["observed"], r["expected"], r["details"], message)


# Sessions evaluating rule kinds side by side: the rules are most of the gate's work, and one session
# keeps one core busy.
EVALUATION_LANES = 2


def _evaluate(conn, dsn: Dsn | None, engine: SqlEngine) -> int:
    """Every rule kind's evaluations into batch.EVALUATIONS (made anew); how many rows.

    Each kind's query runs once, in its own committed statement: the table is the gate's unlogged
    working copy, read by Great Expectations on its own connection and by the ledger. With ``dsn``,
    ``EVALUATION_LANES`` sessions take kinds from one list.
    """
    kinds = engine.kinds()
    with conn.cursor() as cur:
        cur.execute(f"drop table if exists {batch.EVALUATIONS}")
        # The columns every kind's query returns (sql._select), from the first one, planned but not run.
        cur.execute(f"create unlogged table {batch.EVALUATIONS} with (autovacuum_enabled = false) as "
                    f"{_evaluation_query(engine, kinds[0])} with no data")
    conn.commit()
    todo = list(kinds)
    take = threading.Lock()
    counts: list[int] = []

    def lane(session) -> None:
        while True:
            with take:
                if not todo:
                    return
                kind = todo.pop(0)
            with session.cursor() as cur:
                cur.execute(f"insert into {batch.EVALUATIONS} {_evaluation_query(engine, kind)}")
                counts.append(cur.rowcount)
            session.commit()

    def stop() -> None:
        with take:
            todo.clear()  # the other lanes stop after the kind they are evaluating

    in_sessions(lane, conn, dsn, EVALUATION_LANES if len(kinds) > 1 else 1, name="cchc-rule-lane", on_error=stop)
    return sum(counts)


def _drop_batch(cur) -> None:
    """The previous gate's batch: a copy of the candidates (a table) or the candidates as they stood (a view)."""
    cur.execute("""select c.relkind from pg_class as c join pg_namespace as n on n.oid = c.relnamespace
                   where n.nspname = %s and c.relname = %s""", (batch.SCHEMA, batch.NAME))
    row = cur.fetchone()
    if row is not None:
        cur.execute(f"drop {'view' if row[0] == 'v' else 'table'} {batch.RELATION}")


def _evaluation_query(engine: SqlEngine, kind: str) -> str:
    return engine.batch_query(kind)


def _write_ledger(conn, run_id: str, rules: RuleSet, catalog: Catalog) -> tuple[Counter, dict[int, Counter]]:
    """Every evaluation of batch.EVALUATIONS into audit.dq_results; returns the failure counts.

    Passes (nearly all rows) go to the ledger inside the database; only failures come to Python,
    which writes their message. Nothing is committed here: the caller commits once Great
    Expectations agrees.
    """
    fails: Counter = Counter()
    per_file: dict[int, Counter] = {}
    columns = ", ".join(DQ_COLUMNS)
    with conn.cursor() as cur:
        cur.execute(f"""create temporary table gate_pending_hash on commit drop as
                        select f.file_id, f.content_hash from raw.files as f
                        where f.file_id in (select distinct file_id from {batch.RELATION})""")
        cur.execute(f"""insert into audit.dq_results ({columns})
                        select %s, e.file_id, h.content_hash, e.unit_code, e.year, e.quarter, e.rule_id,
                               e.rule_kind, e.severity, e.status, e.indicator, e.sheet, e.row_number,
                               coalesce(e.rows, array[]::integer[]), e.form, e.observed, e.expected,
                               e.details, null
                        from {batch.EVALUATIONS} as e
                        left join gate_pending_hash as h on h.file_id = e.file_id
                        where e.status = 'pass'""", (run_id,))
        with conn.cursor(cursor_factory=RealDictCursor) as failed:
            failed.execute(f"""select e.*, h.content_hash from {batch.EVALUATIONS} as e
                               left join gate_pending_hash as h on h.file_id = e.file_id
                               where e.status = 'fail'""")
            rows = []
            for r in failed:
                fails[(r["rule_kind"], r["severity"])] += 1
                if r["file_id"] is not None:
                    per_file.setdefault(r["file_id"], Counter())[r["severity"]] += 1
                rows.append(_dq_row(r, run_id, rules, catalog))
        copy_rows(cur, "audit.dq_results", DQ_COLUMNS, rows)
    return fails, per_file


def validate(conn, dsn: Dsn, run_id: str, gx_dir: Path, rules: RuleSet | None = None,
             catalog: Catalog | None = None, gx_process: GxProcess | None = None) -> GateStats:
    """Check the pending submissions; ``gx_process``: Great Expectations already started in a process of
    its own (the night in one process starts it while dbt builds), else GX runs in a thread here."""
    started = time.perf_counter()
    rules, catalog = rules or load_rules(), catalog or load_catalog()
    engine = SqlEngine(rules, catalog)
    stats = GateStats()
    with conn.cursor() as cur:
        # The batch is taken from the live gate (so a rerun after a decision sees nothing) and analysed,
        # so every rule query gets a plan made from real row counts. It has no index: every rule reads it
        # whole (a 551-file night used none of three), and on a national quarter the one a rule did use,
        # looking up row by row, was slower than hashing the batch.
        cur.execute("select audit.refresh_statistics(%s)", ("submission_gate",))  # owned by the history role
        _drop_batch(cur)
        candidates, submissions = relation("int_facts_candidates"), relation("int_submissions_enriched")
        # Asked of the build's submissions (one row each), not of their figures (millions after a large night).
        cur.execute(f"""select exists (select 1 from {submissions} as submissions
                                       where not exists (select 1 from audit.submission_gate as gate
                                                         where gate.file_id = submissions.file_id)),
                               exists (select 1 from {submissions} as submissions
                                       join audit.submission_gate as gate on gate.file_id = submissions.file_id)""")
        any_pending, any_decided = cur.fetchone()
        if any_pending and any_decided:
            # Some submissions were decided (by earlier nights, nearly always): were any of the candidates' own,
            # by a gate since the build (a retried task)? Counted, not asked with exists: a plan that stops at
            # the first match would probe the gate once per figure when there is none.
            cur.execute(f"""select count(*) > 0 from {candidates} as candidates
                            join audit.submission_gate as gate on gate.file_id = candidates.file_id""")
            any_decided = cur.fetchone()[0]
        if any_pending and not any_decided:
            # Nothing of the build decided since (the usual night): the candidates are the batch as they
            # stand, analysed at their build (the intermediate models' post-hook). A copy of a national
            # quarter's was 0.65 s of writing 134 MB.
            cur.execute(f"create view {batch.RELATION} as select * from {candidates}")
        else:
            # Never vacuumed: written once, analysed here, read whole by the rules and dropped by the next
            # gate. Autovacuum found it after a national night and read it all for nothing, and a gate that
            # came while it did (a rerun) waited a second (deadlock_timeout) for it to be cancelled at the drop.
            # When the gate decided all of the build's submissions (a night with nothing new, a rerun), the
            # candidates' figures are not read at all.
            cur.execute(f"""create unlogged table {batch.RELATION}
                            with (autovacuum_enabled = false, toast.autovacuum_enabled = false) as
                            select candidates.* from {candidates} as candidates
                            where {"true" if any_pending else "false"}
                              and not exists (select 1 from audit.submission_gate as gate
                                              where gate.file_id = candidates.file_id)""")
            cur.execute(f"analyze {batch.RELATION}")
        cur.execute(f"""select p.file_id, f.content_hash, f.unit_code, f.year, f.quarter
                        from (select distinct file_id from {batch.RELATION}) p
                        join raw.files f on f.file_id = p.file_id order by p.file_id""")
        pending = {row[0]: row for row in cur.fetchall()}
    conn.commit()  # the rules' second session reads the batch from its own connection
    if not pending:
        stats.seconds = time.perf_counter() - started
        return stats
    stats.submissions = len(pending)
    progress.say("gate", f"{progress.number(len(pending))} báo cáo chờ kiểm tra / submissions pending; "
                         "chạy các quy tắc / evaluating the rules")
    rules_started = time.perf_counter()
    stats.evaluations = _evaluate(conn, dsn, engine)
    stats.rules_seconds = time.perf_counter() - rules_started
    progress.say("gate", f"{progress.number(stats.evaluations)} lượt đánh giá / evaluations "
                         f"({progress.number(stats.rules_seconds, 1)} s); Great Expectations kiểm tra kết quả / "
                         "validates them, song song với sổ kiểm tra / alongside the ledger")
    # Great Expectations reads the evaluations on its own connection while this one writes the ledger.
    checkpoint = gx_process.checkpoint if gx_process is not None else run_checkpoint
    gx = Background(checkpoint, gx_dir, dsn.sqlalchemy_url(), rules, engine, run_name=run_id, name="gx-checkpoint")
    ledger_started = time.perf_counter()
    with gx:  # a failed ledger waits for GX first: nothing is left reading behind a rolled-back run
        fails, per_file = _write_ledger(conn, run_id, rules, catalog)
    stats.ledger_seconds = time.perf_counter() - ledger_started
    outcomes = gx.join()
    stats.gx_seconds = gx.seconds
    stats.gx_expectations = len(outcomes)
    stats.gx_failed_expectations = sum(not o.success for o in outcomes)
    progress.say("gate", f"Great Expectations: {stats.gx_expectations - stats.gx_failed_expectations}/"
                         f"{stats.gx_expectations} kỳ vọng đạt / expectations met "
                         f"({progress.number(stats.gx_seconds, 1)} s); sổ kiểm tra / ledger "
                         f"{progress.number(stats.evaluations)} ({progress.number(stats.ledger_seconds, 1)} s)")
    for o in outcomes:
        if fails.get((o.kind, o.severity), 0) != o.unexpected_count:
            conn.rollback()
            raise GateMismatch(f"{o.kind}/{o.severity}: Great Expectations found {o.unexpected_count} failures, "
                               f"the ledger {fails.get((o.kind, o.severity), 0)}")
    stats.failed = sum(fails.values())
    stats.passed = stats.evaluations - stats.failed
    by_severity: Counter = Counter()
    for (_, severity), n in fails.items():
        by_severity[severity] += n
    stats.failed_by_severity = dict(by_severity)

    gate_rows = []
    for fid in pending:
        counts = per_file.get(fid, Counter())
        decision = "held" if counts["error"] else "accepted"
        gate_rows.append((fid, run_id, decision, counts["error"], counts["warning"]))
        if decision == "held":
            stats.held += 1
            if len(stats.held_units) < 100:  # a sample for the run's summary; audit.submission_gate has all
                stats.held_units.append(f"{pending[fid][2]} {pending[fid][3]}-Q{pending[fid][4]}")
        else:
            stats.accepted += 1
    with conn.cursor() as cur:
        execute_values(cur, "insert into audit.submission_gate (file_id, run_id, decision, errors, warnings) values %s",
                       gate_rows)
        execute_values(cur, """insert into audit.gx_validations
                               (run_id, suite, expectation, rule_kind, severity, success, unexpected_count, result)
                               values %s""",
                       [(run_id, "cchc_consistency", f"{o.kind}:{o.severity}", o.kind, o.severity, o.success,
                         o.unexpected_count, json.dumps(o.result, default=str)) for o in outcomes])
        cur.execute("select audit.refresh_statistics(%s)", ("submission_gate",))  # owned by the history role
    conn.commit()
    stats.seconds = time.perf_counter() - started
    return stats
