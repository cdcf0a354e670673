"""The gate: each rule query evaluated once, Great Expectations validating the evaluations, its counts equal to the ledger's."""
from __future__ import annotations

import json
import os
import shutil
import signal
from pathlib import Path

import pytest
from conftest import generated_inbox, query, set_figure

from ingestion import config
from ingestion.pipeline import nightly
from ingestion.rules.gx_process import GxProcess, GxProcessError
from ingestion.rules.gx_suite import suite_path

pytestmark = pytest.mark.e2e


def test_each_rule_query_runs_once_and_great_expectations_validates_the_evaluations_as_the_ledger_counts_them(
        pipeline_env, monkeypatch, tmp_path):
    from great_expectations.execution_engine import SqlAlchemyExecutionEngine

    from ingestion.pipeline import validate as gate

    dsn = pipeline_env["dsn"]
    generated_inbox(pipeline_env["inbox"], units=8, quarters=1, error_rate=0.5, seed=3, end=(2025, 4))
    executed: list[str] = []
    original = SqlAlchemyExecutionEngine.execute_query

    def counting(self, statement, *args, **kwargs):
        executed.append(str(statement))
        return original(self, statement, *args, **kwargs)

    monkeypatch.setattr(SqlAlchemyExecutionEngine, "execute_query", counting)
    # Every rule kind's query as the gate runs it, whichever session runs it.
    evaluated: list[str] = []
    real_query = gate._evaluation_query

    def recording(engine, kind):
        evaluated.append(kind)
        return real_query(engine, kind)

    monkeypatch.setattr(gate, "_evaluation_query", recording)
    # GX in this process (a thread beside the ledger), where its queries can be counted; the night in
    # one process otherwise runs it in a process of its own (the second night below).
    monkeypatch.setattr(nightly, "GxProcess", lambda: None)
    assert nightly.run_all(docs=False)["status"] == "success"

    run_id = query(dsn, "select run_id from audit.load_runs order by started_at desc limit 1")[0][0]
    outcomes = {f"{kind}:{severity}": n for kind, severity, n in query(
        dsn, "select rule_kind, severity, unexpected_count from audit.gx_validations where run_id = %s", (run_id,))}
    from ingestion.indicators import load_catalog
    from ingestion.rules.ruleset import load_rules
    from ingestion.rules.sql import SqlEngine

    kinds = SqlEngine(load_rules(), load_catalog()).kinds()
    # Each kind's query made once to be run (and the first once more, planned only, for the table's columns).
    assert sorted(evaluated) == sorted(kinds + kinds[:1])
    # GX runs one query per expectation, over the evaluations: never a rule's query again. (The stock
    # UnexpectedRowsExpectation runs each query twice: a count, then a sample SUMMARY drops.)
    gx_queries = [q for q in executed if "gate_evaluations" in q]
    assert len(outcomes) > 10 and len(gx_queries) == len(outcomes) == len(executed)
    assert not [q for q in executed if "gate_batch" in q]

    ledger = {f"{kind}:{severity}": n for kind, severity, n in query(
        dsn, """select rule_kind, severity, count(*) from audit.dq_results
                where run_id = %s and status = 'fail' group by rule_kind, severity""", (run_id,))}
    assert sum(outcomes.values()) > 0
    assert outcomes == {key: ledger.get(key, 0) for key in outcomes}
    assert set(ledger) <= set(outcomes)
    # Nothing of the build was decided before the gate: its batch is the candidates as they stand (a view),
    # analysed for the rules' plans. The evaluations are a working copy made anew by each gate: unlogged.
    from ingestion.warehouse.dbt_relations import relation

    candidates = relation("int_facts_candidates", config.load_settings().dbt_target_dir)
    assert query(dsn, "select relkind from pg_class where oid = 'work.gate_batch'::regclass") == [("v",)]
    assert query(dsn, "select count(*) from work.gate_batch") == query(dsn, f"select count(*) from {candidates}")
    assert query(dsn, "select last_analyze is not null from pg_stat_user_tables where relid = %s::regclass",
                 (candidates,)) == [(True,)]
    assert query(dsn, "select relpersistence from pg_class where oid = 'work.gate_evaluations'::regclass") == [("u",)]
    # The evaluations GX read are the ledger's, row for row.
    assert query(dsn, "select count(*) from work.gate_evaluations") == query(
        dsn, "select count(*) from audit.dq_results where run_id = %s", (run_id,))

    # GX ran in memory: no file-backed project was made, and the suite it ran is kept as GX JSON,
    # one expectation per outcome, unchanged by a second night with the same rules.
    gx_dir = config.load_settings().gx_dir
    assert not list(gx_dir.rglob("great_expectations.yml"))
    suite = json.loads(suite_path(gx_dir).read_text(encoding="utf-8"))
    assert sorted(f"{e['meta']['rule_kind']}:{e['meta']['severity']}" for e in suite["expectations"]) == sorted(outcomes)
    kept = suite_path(gx_dir).stat().st_mtime_ns

    # The next night runs GX in a process of its own, started while dbt builds: the same suite, every
    # outcome agreeing with the ledger again (the gate stops on a disagreement), no rule query run here.
    checkpoints = []

    class Recorded(GxProcess):
        def checkpoint(self, *args, **kwargs):
            checkpoints.append(self.pid)
            return super().checkpoint(*args, **kwargs)

    monkeypatch.setattr(nightly, "GxProcess", Recorded)
    executed.clear()
    _next_quarter(pipeline_env["inbox"], tmp_path, units=8, seed=3, end=(2026, 1), error_rate=0.0)
    # a fraction of a count: an error for both engines
    set_figure(sorted(pipeline_env["inbox"].rglob("2026-Q1/*.xlsx"))[0], "Số văn bản chỉ đạo CCHC", 2.5)
    assert nightly.run_all(docs=False)["status"] == "success"
    assert len(checkpoints) == 1 and checkpoints[0] != os.getpid()
    assert executed == []
    # Earlier nights decided other submissions, none of this build's: its batch is still the candidates (a view).
    assert query(dsn, "select relkind from pg_class where oid = 'work.gate_batch'::regclass") == [("v",)]
    second = query(dsn, "select run_id from audit.load_runs order by started_at desc limit 1")[0][0]
    outcomes = {f"{kind}:{severity}": n for kind, severity, n in query(
        dsn, "select rule_kind, severity, unexpected_count from audit.gx_validations where run_id = %s", (second,))}
    ledger = {f"{kind}:{severity}": n for kind, severity, n in query(
        dsn, """select rule_kind, severity, count(*) from audit.dq_results
                where run_id = %s and status = 'fail' group by rule_kind, severity""", (second,))}
    assert len(outcomes) == len(suite["expectations"]) and outcomes["count_is_whole:error"] >= 1
    assert outcomes == {key: ledger.get(key, 0) for key in outcomes}
    assert suite_path(gx_dir).stat().st_mtime_ns == kept

    # The DAG's tasks call the stages one by one, with no process started ahead: the gate starts its
    # own when tonight loaded files, runs the checkpoint there and closes it; not when nothing was loaded.
    started: list[Recorded] = []

    class Started(Recorded):
        def __init__(self):
            super().__init__()
            started.append(self)

    monkeypatch.setattr(nightly, "GxProcess", Started)
    checkpoints.clear()
    _next_quarter(pipeline_env["inbox"], tmp_path / "third", units=8, seed=3, end=(2026, 2), error_rate=0.0)
    third = nightly.new_run_id()
    nightly.start(third)
    loaded = nightly.ingest_stage(third)["loaded"]
    nightly.build_candidates(third)
    gate = nightly.validate_stage(third)
    assert loaded > 0 and gate["submissions"] == loaded and gate["gx_expectations"] == len(suite["expectations"])
    assert len(started) == 1 and checkpoints == [started[0].pid] and started[0].pid != os.getpid()
    assert started[0]._process.poll() is not None  # closed with the stage
    nightly.finish(third)

    # Where every task runs in one process (`cchc run`'s dag.test()), the candidates build starts GX's
    # process, so it is imported while dbt builds, and the gate runs its checkpoint there and closes it.
    checkpoints.clear()
    _next_quarter(pipeline_env["inbox"], tmp_path / "fourth", units=8, seed=3, end=(2026, 3), error_rate=0.0)
    fourth = nightly.new_run_id()
    with nightly.gx_started_ahead():
        nightly.start(fourth)
        assert nightly.ingest_stage(fourth)["loaded"] > 0
        nightly.build_candidates(fourth)
        assert len(started) == 2 and checkpoints == []  # started by the build, not used yet
        assert nightly.validate_stage(fourth)["gx_expectations"] == len(suite["expectations"])
        assert len(started) == 2 and checkpoints == [started[1].pid]
        assert started[1]._process.poll() is not None  # closed with the gate
        nightly.finish(fourth)
    # A process the build started and no gate used (the build failed) is closed with the block.
    from ingestion.warehouse.connection import connect

    conn = connect(dsn)
    try:
        with nightly.gx_started_ahead():
            nightly._start_gx_ahead(conn, fourth)
            assert len(started) == 3 and started[2]._process.poll() is None
    finally:
        conn.close()
    assert started[2]._process.poll() is not None
    nothing = nightly.new_run_id()
    nightly.start(nothing)
    assert nightly.ingest_stage(nothing)["loaded"] == 0
    # Nor does its gate read the candidates' figures (millions after a large night), all decided: it
    # tells so from the build's one row per submission. A read of them here would raise.
    from ingestion.warehouse.dbt_relations import relation

    candidates = relation("int_facts_candidates", config.load_settings().dbt_target_dir)
    schema = candidates.split(".")[0]
    assert query(dsn, f"select count(*) from {candidates}")[0][0] > 0  # the fourth night's, all decided
    _commit(dsn, f"""create function {schema}.refuse_read() returns boolean language plpgsql volatile as
                   $$ begin raise exception 'the decided candidates were read'; end $$;
                   alter table {candidates} rename to int_facts_candidates_kept;
                   create view {candidates} as select * from {schema}.int_facts_candidates_kept where {schema}.refuse_read();
                   grant select on {candidates} to public""")
    try:
        with nightly.gx_started_ahead():
            nightly.build_candidates(nothing)
            assert nightly.validate_stage(nothing)["submissions"] == 0 and len(started) == 3
    finally:
        _commit(dsn, f"""drop view {candidates}; drop function {schema}.refuse_read();
                       alter table {schema}.int_facts_candidates_kept rename to int_facts_candidates""")


def test_the_great_expectations_process_raises_its_errors_here_and_says_when_it_died(tmp_path):
    from ingestion.indicators import load_catalog
    from ingestion.rules.ruleset import load_rules
    from ingestion.rules.sql import SqlEngine

    rules = load_rules()
    engine = SqlEngine(rules, load_catalog())
    nowhere = "postgresql+psycopg2://nobody@/none?host=" + str(tmp_path / "no-server")
    with GxProcess() as gx:
        with pytest.raises(Exception, match="no-server") as raised:
            gx.checkpoint(tmp_path, nowhere, rules, engine, run_name="r")
        assert not isinstance(raised.value, GxProcessError)  # GX's own error, raised again in this process
    # Closed, it is killed at once: the night does not wait for GX's interpreter to tear itself down.
    assert gx._process.returncode == -signal.SIGKILL
    with GxProcess() as gx:
        gx._process.kill()
        with pytest.raises(GxProcessError, match="without a result"):
            gx.checkpoint(tmp_path, nowhere, rules, engine, run_name="r")
    # A night with nothing to check does not wait for GX's import (seconds) to end the process.
    unused = GxProcess()
    unused.close()
    assert unused._process.returncode == -signal.SIGKILL


def _commit(dsn, sql: str) -> None:
    from ingestion.warehouse.connection import connect

    conn = connect(dsn)
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
        conn.commit()
    finally:
        conn.close()


def _next_quarter(inbox: Path, work: Path, error_rate: float = 0.5, **kw) -> None:
    """The same units' reports for one more quarter, added to the inbox as their folders."""
    from cchc_tools.demo.generator import generate

    generate(work / "next", quarters=1, error_rate=error_rate, **kw)
    for unit in (work / "next").iterdir():
        if unit.is_dir() and not unit.name.startswith("_"):
            for quarter in unit.iterdir():
                shutil.copytree(quarter, inbox / unit.name / quarter.name)


def test_two_sessions_evaluate_the_rules_and_a_ledger_that_lost_a_failure_stops_the_gate(pipeline_env, monkeypatch):
    """The rule kinds are shared by two sessions side by side; Great Expectations counts the failures in what
    they evaluated, so a ledger that recorded one fewer stops the gate, and nothing of that gate is kept."""
    import threading

    from ingestion.pipeline import validate as gate

    dsn = pipeline_env["dsn"]
    generated_inbox(pipeline_env["inbox"], units=6, quarters=1, error_rate=0.5, seed=5, end=(2025, 4))
    # The first two kinds each lane takes wait for each other: the gate gets past them only when two
    # sessions evaluate side by side.
    together = threading.Barrier(gate.EVALUATION_LANES, timeout=30)
    real_query, threads = gate._evaluation_query, []

    def side_by_side(engine, kind):
        threads.append(threading.current_thread().name)
        if 2 <= len(threads) <= 1 + gate.EVALUATION_LANES:  # the first call only plans the table's columns
            together.wait()
        return real_query(engine, kind)

    real_ledger = gate._write_ledger

    def losing_a_failure(conn, run_id, rules, catalog):
        fails, per_file = real_ledger(conn, run_id, rules, catalog)
        fails[next(key for key, n in fails.items() if n)] -= 1
        return fails, per_file

    monkeypatch.setattr(gate, "_evaluation_query", side_by_side)
    monkeypatch.setattr(gate, "_write_ledger", losing_a_failure)
    run_id = nightly.new_run_id()
    nightly.start(run_id)
    assert nightly.ingest_stage(run_id)["loaded"] == 6
    nightly.build_candidates(run_id)
    with pytest.raises(gate.GateMismatch, match="Great Expectations found"):
        nightly.validate_stage(run_id)
    assert len(set(threads[1:])) == gate.EVALUATION_LANES
    assert query(dsn, "select count(*) from audit.dq_results where run_id = %s", (run_id,)) == [(0,)]
    assert query(dsn, "select count(*) from audit.submission_gate") == [(0,)]
    nightly.finish(run_id, failed="gate mismatch")

    # The next night, with an honest ledger, gates the same submissions: a stopped gate is safe to rerun.
    monkeypatch.setattr(gate, "_write_ledger", real_ledger)
    assert nightly.run_all(docs=False)["status"] == "success"
    assert query(dsn, "select count(*) from audit.submission_gate") == [(6,)]
    (failed,), = query(dsn, "select count(*) from audit.dq_results where status = 'fail'")
    assert failed > 0 and query(dsn, "select count(*) from work.gate_evaluations where status = 'fail'") == [(failed,)]

    # A night with nothing new: every submission of its build decided, so the batch is an empty copy made
    # without reading a figure (unlogged, never vacuumed: autovacuum read a full one for nothing once and
    # held up the next gate's drop).
    nothing = nightly.new_run_id()
    nightly.start(nothing)
    assert nightly.ingest_stage(nothing)["loaded"] == 0
    nightly.build_candidates(nothing)
    assert nightly.validate_stage(nothing)["submissions"] == 0
    assert query(dsn, """select c.relkind, c.relpersistence, c.reloptions, t.reloptions
                         from pg_class as c join pg_class as t on t.oid = c.reltoastrelid
                         where c.oid = 'work.gate_batch'::regclass""") == [
        ("r", "u", ["autovacuum_enabled=false"], ["autovacuum_enabled=false"])]
    assert query(dsn, "select count(*) from work.gate_batch") == [(0,)]
    nightly.finish(nothing)
