"""One night at a time: a second run started while one is going is refused at once, names the
running one and leaves nothing behind; a BI session idle in a transaction cannot hang the night."""
from __future__ import annotations

import subprocess
import sys
import threading
import time

import psycopg2
import pytest
from conftest import generated_inbox, incremental_marts, set_figure, marts_fingerprint, query

from ingestion import config
from ingestion.pipeline import nightly, publish, runlock
from ingestion.warehouse import access

pytestmark = pytest.mark.e2e


def _cchc(*args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "ingestion.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kw)


def _wait(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")



def test_second_run_is_refused_while_one_runs(pipeline_env):
    inbox, dsn = pipeline_env["inbox"], pipeline_env["dsn"]
    generated_inbox(inbox, units=40, quarters=2, error_rate=0.1, seed=12, end=(2026, 3))
    total = sum(1 for p in inbox.rglob("*.xlsx") if "_registry" not in p.parts)
    nightly.start("warmup")  # the schema exists, so the first run can be watched
    nightly.finish("warmup", failed="warm-up only")

    first = _cchc("run", "--direct", "--no-docs")
    running = _wait(lambda: query(dsn, "select run_id from audit.load_runs where status = 'running'"), 120,
                    "the first run to start")[0][0]
    refused = {}
    for label, args in (("direct", ("run", "--direct", "--no-docs")), ("airflow", ("run",))):
        started = time.monotonic()
        out, err = _cchc(*args).communicate(timeout=120)
        refused[label] = (time.monotonic() - started, err)
        assert first.poll() is None, "the first run ended before the second was refused: nothing was tested"
        lines = [line for line in err.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("LỖI: Đang có một lần nạp khác chạy: " + running), err
        assert "Lần nạp này không chạy" in lines[0]
    out, err = first.communicate(timeout=600)
    assert first.returncode == 0, err[-3000:]
    print({k: round(v[0], 1) for k, v in refused.items()}, refused["direct"][1])

    # Nothing the refused runs did is left: one run, every file once, every loaded file decided once.
    assert query(dsn, "select run_id, status from audit.load_runs where run_id <> 'warmup'") == [(running, "success")]
    assert query(dsn, "select count(*), count(distinct path) from raw.files")[0] == (total, total)
    assert query(dsn, """select count(*) from raw.files f where status = 'loaded' and
                         (select count(*) from audit.submission_gate g where g.file_id = f.file_id) <> 1""")[0][0] == 0
    assert query(dsn, "select count(distinct run_id) from audit.dq_results")[0][0] == 1


def test_a_run_between_two_airflow_tasks_keeps_its_claim(pipeline_env):
    """Tasks in separate processes hold the lock only while they work: the lease covers the gaps."""
    inbox, dsn = pipeline_env["inbox"], pipeline_env["dsn"]
    generated_inbox(inbox, units=12, quarters=1, error_rate=0.0, seed=4, end=(2026, 1))
    nightly.start("scheduled__airflow")  # what the DAG's setup task does, then its process ends
    assert query(dsn, "select holder like '%%(Airflow)', lease_until > now() from audit.load_runs "
                      "where run_id = 'scheduled__airflow'") == [(True, True)]

    proc = _cchc("run", "--direct", "--no-docs")
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 3 and "Đang có một lần nạp khác chạy: scheduled__airflow" in err
    assert query(dsn, "select count(*) from audit.load_runs")[0][0] == 1

    # The DAG's next task goes on; its teardown ends the claim, failed or not.
    nightly.discover("scheduled__airflow")
    assert nightly.finish("scheduled__airflow")["status"] == "failed"  # stopped before its last stage
    with runlock.whole_process(access.resolve().pipeline):
        pass

    # A claim nobody renews (the scheduler died) expires: the next run goes ahead and says so.
    nightly.start("scheduled__stale")
    with psycopg2.connect(dsn.url()) as conn, conn.cursor() as cur:  # commits on leaving
        cur.execute("update audit.load_runs set lease_until = now() - interval '1 minute' where run_id = 'scheduled__stale'")
    nightly.start("scheduled__next")
    assert query(dsn, "select run_id, status from audit.load_runs where run_id like 'scheduled__%%' order by 1") == [
        ("scheduled__airflow", "failed"), ("scheduled__next", "running"), ("scheduled__stale", "interrupted")]

    # A task of a run that was replaced writes nothing, while its successor runs and after.
    with pytest.raises(runlock.RunInProgress):
        nightly.discover("scheduled__stale")
    nightly.finish("scheduled__next", failed="test")
    with pytest.raises(runlock.RunNotActive):
        nightly.discover("scheduled__stale")
    assert query(dsn, "select stage_seconds from audit.load_runs where run_id = 'scheduled__stale'") == [({},)]


def test_idle_bi_transaction_does_not_hang_the_night(pipeline_env, monkeypatch):
    """A BI session left idle inside a transaction holds locks on the marts it read; after the swap
    those are the standby's. Today the standby refresh waits for it forever and the run stays running."""
    inbox, dsn = pipeline_env["inbox"], pipeline_env["dsn"]
    generated_inbox(inbox, units=12, quarters=1, error_rate=0.0, seed=7, end=(2026, 2))
    first = nightly.run_all(docs=False)
    logins = access.resolve()

    fresh = psycopg2.connect(logins.bi.url())
    with fresh.cursor() as cur:  # what the project gives every BI session
        cur.execute("show idle_in_transaction_session_timeout")
        assert cur.fetchone()[0] == "1min"
        cur.execute("show statement_timeout")
        assert cur.fetchone()[0] == "10min"
    fresh.close()

    # The worst case: a BI user who turned the project's timeout off for the session.
    reader = psycopg2.connect(logins.bi.url(), options="-c idle_in_transaction_session_timeout=0")
    with reader.cursor() as cur:
        for table in ("dim_indicator", "dim_period", "dim_org_unit", "fct_indicator_value", "fct_dq_summary"):
            cur.execute(f"select count(*) from marts.{table}")  # and then nothing: idle in transaction

    path = next(p for p in sorted(inbox.rglob("*.xlsx")) if "_registry" not in p.parts)
    set_figure(path, "Số văn bản chỉ đạo CCHC", 55)
    monkeypatch.setattr(publish, "LOCK_WAIT", "2s")
    monkeypatch.setattr(publish, "ATTEMPTS", 2)
    monkeypatch.setattr(publish, "RETRY_PAUSE", 0.5)

    hung = threading.Event()
    done = threading.Event()

    def watchdog():  # so that the old behaviour fails this test instead of hanging it
        if not done.wait(180):
            hung.set()
            query(pipeline_env["dsn"], "select pg_terminate_backend(pid) from pg_stat_activity where usename = 'bi_reader'")

    threading.Thread(target=watchdog, daemon=True).start()
    started = time.monotonic()
    summary = nightly.run_all(docs=False)
    done.set()
    print(f"second run with an idle BI transaction: {time.monotonic() - started:.1f} s")
    assert not hung.is_set(), "the night waited for the idle BI session"
    assert summary["status"] == "success" and summary["marts_published"]
    assert summary["reports_dir"] and any((config.load_settings().reports_dir / summary["reports_dir"]).rglob("*.html"))
    assert query(dsn, "select count(*) from marts.fct_indicator_value where indicator_code = 'dir_directive_docs' "
                      "and value = 55") == [(1,)]
    reader.close()

    # Once the reader is gone, the next publication brings the standby's incremental marts up to date again.
    nightly.publish_stage(first["run_id"], force=True)
    carried = incremental_marts()
    standby = marts_fingerprint(dsn, exclude_columns=(), schema="marts_next")
    live = marts_fingerprint(dsn, exclude_columns=())
    assert carried and {t: v for t, v in standby.items() if t in carried} == {t: v for t, v in live.items() if t in carried}


def test_ingest_batches_of_one_run_share_the_lock_and_nothing_else_does(pipeline_env, monkeypatch):
    """Workers parse their batches side by side; any other stage, or another run, still waits for them."""
    generated_inbox(pipeline_env["inbox"], units=4, quarters=1, error_rate=0.0, seed=4, end=(2026, 1))
    monkeypatch.setattr(runlock, "STAGE_WAIT", 0.5)
    nightly.start("scheduled__batches")
    dsn = access.resolve().pipeline
    with runlock.stage(dsn, "scheduled__batches", shared=True):
        with runlock.stage(dsn, "scheduled__batches", shared=True):  # a second batch, on another worker
            with pytest.raises(runlock.RunInProgress):  # the run's next stage waits for both
                with runlock.stage(dsn, "scheduled__batches"):
                    pass
            with pytest.raises(runlock.RunInProgress):  # another run's batch is refused
                with runlock.stage(dsn, "scheduled__other", shared=True):
                    pass
            with pytest.raises(runlock.RunInProgress):  # and so is a whole run
                with runlock.whole_process(dsn):
                    pass
    with runlock.stage(dsn, "scheduled__batches"):  # both let go: the run goes on
        pass
    nightly.finish("scheduled__batches", failed="test")
