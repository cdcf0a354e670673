"""One night at a time: a second run started while one is going is refused at once.

A run holds a PostgreSQL advisory lock (session-level, one per warehouse database) while it works:
  - `cchc run --direct`, `cchc run` (Airflow's dag.test, all tasks in one process) and the benchmark
    hold it on one dedicated connection from before the start to the end (``whole_process``). A
    run killed with -9 loses its connection, and with it the lock: the next run goes ahead.
  - A run spread over Airflow tasks (the compose deployment: several workers, one process per task)
    holds it during each task (``stage``; the ingest batches share it, so workers parse side by
    side) and, between two tasks, keeps a lease in
    audit.load_runs (``lease_until``), renewed at the end of every task and ended by the DAG's
    teardown task, even when a task failed. A lease nobody renews expires after LEASE.
Refusing writes nothing: the check comes before anything of the run touches the warehouse.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import os
import socket
import time

from ..errors import CchcError
from ..warehouse.connection import Dsn, connect

LOCK_KEYS = (0x43434843, 1)  # ("CCHC", the nightly run): pg_locks shows them as classid / objid
LEASE = dt.timedelta(minutes=15)  # longer than Airflow's retry delays between two tasks (2, then 4 minutes)
STAGE_WAIT = 30.0  # seconds a task waits for another task of its run that has not let go yet

_PROCESS: dict = {}  # {"conn": ...} while this process holds the lock for a whole run


class RunInProgress(CchcError):
    """Another run is going on: this one did nothing."""
    exit_code = 3


class RunNotActive(CchcError):
    """A task of a run that has ended or was replaced: it must not write anything."""


def _lock_connection(dsn: Dsn, label: str):
    conn = connect(dsn, application_name=f"cchc {label}"[:63], options="-c statement_timeout=30000")
    conn.autocommit = True
    return conn


def _try_lock(conn, shared: bool = False) -> bool:
    with conn.cursor() as cur:
        cur.execute(f"select pg_try_advisory_lock{'_shared' if shared else ''}(%s, %s)", LOCK_KEYS)
        return bool(cur.fetchone()[0])


def _running(conn) -> list[dict]:
    """Runs marked running, and whether each still holds a lease (an older warehouse has no leases)."""
    with conn.cursor() as cur:
        cur.execute("""select count(*) from information_schema.columns
                       where table_schema = 'audit' and table_name = 'load_runs' and column_name = 'lease_until'""")
        leases = cur.fetchone()[0] == 1
        # A warehouse built before the pipeline had its own login: the schema is not yet granted to
        # it (the run's start grants it); the advisory lock alone keeps runs apart until then.
        cur.execute("""select to_regnamespace('audit') is not null and has_schema_privilege('audit', 'usage')""")
        if not cur.fetchone()[0]:
            return []
        cur.execute("select to_regclass('audit.load_runs') is not null")
        if not cur.fetchone()[0]:
            return []
        cur.execute(f"""select run_id, started_at, {'holder' if leases else 'null'},
                               {'coalesce(lease_until > now(), false)' if leases else 'false'}
                        from audit.load_runs where status = 'running' order by started_at desc""")
        return [{"run_id": r[0], "started_at": r[1], "holder": r[2], "leased": r[3]} for r in cur.fetchall()]


def _refusal(conn, runs: list[dict] | None = None) -> RunInProgress:
    runs = runs if runs is not None else _running(conn)
    if runs:
        run = runs[0]
        started = run["started_at"].astimezone().strftime("%H:%M:%S %d/%m/%Y")
        where = f", {run['holder']}" if run["holder"] else ""
        head = f"Đang có một lần nạp khác chạy: {run['run_id']} (bắt đầu lúc {started}{where})."
    else:
        with conn.cursor() as cur:
            cur.execute("""select a.application_name from pg_locks l join pg_stat_activity a using (pid)
                           where l.locktype = 'advisory' and l.classid = %s and l.objid = %s and l.granted""",
                        (LOCK_KEYS[0] & 0xFFFFFFFF, LOCK_KEYS[1]))
            row = cur.fetchone()
        name = (row[0] or "").removeprefix("cchc ") if row else ""
        head = f"Đang có một lần nạp khác chạy{f' ({name})' if name and name != 'run' else ''}."
    return RunInProgress(head + " Lần nạp này không chạy để không nạp trùng; hãy chờ lần kia kết thúc rồi chạy lại.")


def holder() -> str:
    """How the running run is named to whoever is refused."""
    return f"máy {socket.gethostname()}, tiến trình {os.getpid()}" + ("" if _PROCESS else " (Airflow)")


def lease() -> dt.timedelta | None:
    """How long a run keeps its claim between two tasks; None when this process holds the lock throughout."""
    return None if _PROCESS else LEASE


@contextlib.contextmanager
def whole_process(dsn: Dsn):
    """Hold the lock for everything this process does from here on (one whole run)."""
    if _PROCESS:
        yield
        return
    conn = _lock_connection(dsn, "run")
    try:
        if not _try_lock(conn):
            raise _refusal(conn)
        alive = [r for r in _running(conn) if r["leased"]]
        if alive:  # a run spread over Airflow tasks, between two of them
            raise _refusal(conn, alive)
        _PROCESS["conn"] = conn
        try:
            yield
        finally:
            _PROCESS.clear()
    finally:
        conn.close()  # ends the session, and with it the lock


def _check(conn, run_id: str, claim: bool) -> None:
    alive = [r for r in _running(conn) if r["leased"] and r["run_id"] != run_id]
    if alive:  # another run, between two of its Airflow tasks
        raise _refusal(conn, alive)
    if not claim:
        with conn.cursor() as cur:
            cur.execute("select status from audit.load_runs where run_id = %s", (run_id,))
            row = cur.fetchone()
        if row is not None and row[0] == "interrupted":
            raise RunNotActive(f"Lần nạp {run_id} đã bị coi là dừng và một lần nạp sau đã thay thế nó: bước này "
                               "không chạy.")


@contextlib.contextmanager
def stage(dsn: Dsn, run_id: str, *, claim: bool = False, shared: bool = False):
    """One stage of ``run_id``. ``claim``: the first stage, which takes over the warehouse for the run.

    ``shared``: a stage that runs beside others of its own run (the ingest batches, on several
    workers at once) takes the lock in shared mode; every other stage, and every other run, still
    needs it alone. Another run's task never gets in between: its lease check refuses it."""
    if _PROCESS:
        conn = connect(dsn)
        conn.autocommit = True
        try:
            _check(conn, run_id, claim)
        finally:
            conn.close()
        yield
        return
    conn = _lock_connection(dsn, run_id)
    try:
        deadline = time.monotonic() + (0 if claim else STAGE_WAIT)
        while not _try_lock(conn, shared):
            if time.monotonic() >= deadline:
                refusal = _refusal(conn)
                refusal.transient = not claim  # a task of a running run: the other task will let go
                raise refusal
            time.sleep(1)
        _check(conn, run_id, claim)
        try:
            yield
        finally:
            with conn.cursor() as cur:  # the claim lasts until the next task takes the lock
                cur.execute("""update audit.load_runs set lease_until = now() + %s
                               where run_id = %s and status = 'running' and lease_until is not null""",
                            (LEASE, run_id))
    finally:
        conn.close()
