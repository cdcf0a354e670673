"""The gate's Great Expectations suite: each rule query evaluated once, and its counts equal to the ledger's."""
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


def test_each_rule_query_runs_once_in_great_expectations_and_agrees_with_the_ledger(pipeline_env, monkeypatch, tmp_path):
    from great_expectations.execution_engine import SqlAlchemyExecutionEngine

    dsn = pipeline_env["dsn"]
    generated_inbox(pipeline_env["inbox"], units=8, quarters=1, error_rate=0.5, seed=3, end=(2025, 4))
    executed: list[str] = []
    original = SqlAlchemyExecutionEngine.execute_query

    def counting(self, statement, *args, **kwargs):
        executed.append(str(statement))
        return original(self, statement, *args, **kwargs)

    monkeypatch.setattr(SqlAlchemyExecutionEngine, "execute_query", counting)
    # GX in this process (a thread beside the ledger), where its queries can be counted; the night in
    # one process otherwise runs it in a process of its own (the second night below).
    monkeypatch.setattr(nightly, "GxProcess", lambda: None)
    assert nightly.run_all(docs=False)["status"] == "success"

    run_id = query(dsn, "select run_id from audit.load_runs order by started_at desc limit 1")[0][0]
    outcomes = {f"{kind}:{severity}": n for kind, severity, n in query(
        dsn, "select rule_kind, severity, unexpected_count from audit.gx_validations where run_id = %s", (run_id,))}
    rule_queries = [q for q in executed if "gate_batch" in q]
    # The stock UnexpectedRowsExpectation runs each query twice (a count, then a sample SUMMARY drops).
    assert len(outcomes) > 10 and len(rule_queries) == len(outcomes)

    ledger = {f"{kind}:{severity}": n for kind, severity, n in query(
        dsn, """select rule_kind, severity, count(*) from audit.dq_results
                where run_id = %s and status = 'fail' group by rule_kind, severity""", (run_id,))}
    assert sum(outcomes.values()) > 0
    assert outcomes == {key: ledger.get(key, 0) for key in outcomes}
    assert set(ledger) <= set(outcomes)
    # The batch lives one night and is analysed by the gate: autovacuum, which would read it whole for
    # nothing and hold up the next gate's drop, is off for it and its TOAST table.
    assert query(dsn, """select c.reloptions, t.reloptions from pg_class as c join pg_class as t on t.oid = c.reltoastrelid
                         where c.oid = 'work.gate_batch'::regclass""") == [(["autovacuum_enabled=false"],
                                                                            ["autovacuum_enabled=false"])]

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
    assert [q for q in executed if "gate_batch" in q] == []
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
