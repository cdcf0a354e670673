"""Airflow on this machine: a SQLite metadata database under CCHC_HOME, the project's dags/.

`cchc run` runs the cchc_nightly DAG once through Airflow (dag.test()); `cchc airflow ...`
passes any airflow command with the same settings (e.g. `cchc airflow standalone` for the UI).
"""
from __future__ import annotations

import atexit
import datetime as dt
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

from . import config, progress
from .config import Settings

DAG_ID = "cchc_nightly"
RUN_MARKER = "CCHC_RUN_ID="
REFUSED_MARKER = "CCHC_REFUSED="
ONE_BATCH = 10_000_000  # files per ingest task under dag.test(): every file of a night


def airflow_env(settings: Settings) -> dict[str, str]:
    home = settings.airflow_home
    home.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    port = env.get(config.ENV_AIRFLOW_PORT, "8080")
    # Airflow's components start each other as `airflow ...` by name: this environment's bin first.
    bin_dir = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join([bin_dir, *[p for p in env.get("PATH", "").split(os.pathsep) if p and p != bin_dir]])
    env.update({
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(config.DAGS_DIR),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DEFAULT_TIMEZONE": "Asia/Ho_Chi_Minh",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        # One person on their own machine: no login for the local UI (the compose stack has real users).
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        # The local UI, for this machine only.
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": port,
        "AIRFLOW__API__BASE_URL": f"http://localhost:{port}",
        # INFO: each task's progress and stage figures reach its log in the UI.
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        "CCHC_HOME": str(settings.home),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(config.PROJECT_DIR), env.get("PYTHONPATH", "")])),
    })
    return env


def _airflow_bin() -> str:
    return str(Path(sys.executable).with_name("airflow"))


def metadata_stamp(settings: Settings) -> Path:
    """Written once `airflow db migrate` has run for this Airflow version."""
    from importlib.metadata import version

    return settings.airflow_home / f".migrated-{version('apache-airflow')}"


def ensure_metadata_db(settings: Settings, log: Path, stamp: Path | None = None, launch=subprocess.Popen) -> None:
    """Create or upgrade the local metadata database (idempotent; a few seconds the first time).

    ``launch`` starts `airflow db migrate` (like subprocess.Popen); None from it means: not now."""
    stamp = stamp or metadata_stamp(settings)
    if stamp.exists():
        return
    progress.say("start", "tạo cơ sở dữ liệu Airflow cục bộ / creating the local Airflow metadata database (airflow db migrate)")
    with open(log, "a", encoding="utf-8") as fh:
        proc = launch([_airflow_bin(), "db", "migrate"], env=airflow_env(settings), stdout=fh, stderr=subprocess.STDOUT)
        if proc is None:
            return
        if proc.wait() != 0:
            raise subprocess.CalledProcessError(proc.returncode, proc.args)
    stamp.touch()


def run_log_path(settings: Settings) -> Path:
    """A new log file for this run (kept: one per run, never overwritten)."""
    folder = settings.home / "logs"
    folder.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = folder / f"run-{stamp}.log"
    n = 1
    while path.exists():
        n += 1
        path = folder / f"run-{stamp}-{n}.log"
    return path


def _echo(line: str, out) -> None:
    """A progress line of the run's log, shortened for the terminal: local time and the message."""
    if progress.PREFIX in line:
        message = line[line.index(progress.PREFIX):]
        message = re.sub(r"\s+\[cchc\.progress\].*$", "", message.rstrip())  # structlog's trailing fields
        print(f"{dt.datetime.now():%H:%M:%S} {message}", file=out, flush=True)
    elif re.search(r"\[(error|critical)\s*\]|^Traceback|^\S*Error: ", line):
        print(f"{dt.datetime.now():%H:%M:%S} {line.rstrip()}", file=out, flush=True)


class MetadataDb(threading.Thread):
    """ensure_metadata_db in the background: the first `airflow db migrate` (~20 s) overlaps with
    starting the warehouse and generating the demo inbox."""

    def __init__(self, settings: Settings, log: Path):
        super().__init__(daemon=True)
        self.settings, self.log, self.error = settings, log, None
        # The thread itself imports nothing: one still importing C extensions when a failed command
        # exits crashes the interpreter's finalization (SIGSEGV); one waiting on a child process does not.
        self.stamp = metadata_stamp(settings)
        self.proc: subprocess.Popen | None = None
        self.stopped = False
        self.lock = threading.Lock()

    def start(self) -> None:
        atexit.register(self.stop)  # a command that failed meanwhile leaves no migration running behind it
        super().start()

    def run(self) -> None:
        try:
            ensure_metadata_db(self.settings, self.log, self.stamp, launch=self._launch)
        except Exception as exc:  # reported by wait(), in the caller's thread
            self.error = exc

    def _launch(self, *args, **kwargs) -> subprocess.Popen | None:
        with self.lock:
            if not self.stopped:
                self.proc = subprocess.Popen(*args, **kwargs)
            return self.proc

    def stop(self) -> None:
        """End a migration still running, or keep it from starting (the next run migrates: it is idempotent)."""
        with self.lock:
            self.stopped = True
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def wait(self) -> None:
        self.join()
        if self.error is not None:
            raise self.error


def run_dag_once(settings: Settings, out=None, log: Path | None = None,
                 metadata: MetadataDb | None = None) -> tuple[str | None, bool, Path]:
    """Run cchc_nightly once with dag.test(); returns (run id, succeeded, log file).

    The whole output goes to a new log file per run; progress lines (and errors) are echoed to
    `out` (the terminal) as they come."""
    out = out or sys.stdout
    log = log or run_log_path(settings)
    log.touch()
    if metadata is not None:
        metadata.wait()
    else:
        ensure_metadata_db(settings, log)
    run_id = None
    env = airflow_env(settings) | {"CCHC_DAG_TEST": "1"}
    # dag.test() runs the mapped ingest tasks one after another in one process: there is no worker to
    # share batches with, and each batch would add its own parser start and load tail. One batch,
    # unless the data team chose a size.
    env.setdefault(config.ENV_INGEST_BATCH_FILES, str(ONE_BATCH))
    with open(log, "a", encoding="utf-8") as fh:
        proc = subprocess.Popen([sys.executable, "-m", "ingestion.airflow_local"], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, encoding="utf-8", errors="replace", bufsize=1)
        for line in proc.stdout:
            fh.write(line)
            if line.startswith(RUN_MARKER):
                run_id = line[len(RUN_MARKER):].strip()
            else:
                _echo(line, out)
        returncode = proc.wait()
    return run_id, returncode == 0, log


def _test_dag() -> int:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(config.DAGS_DIR))
    if bag.import_errors:
        for path, err in bag.import_errors.items():
            print(f"DAG import error in {path}: {err}")
        return 2
    from .pipeline import nightly, runlock
    from .warehouse import access

    # All tasks run in this process: it holds the run lock from the first to the last, so a
    # second run is refused at once and a kill -9 releases it with the connection. The lock is
    # taken as the pipeline role, which must exist before the start task would create it.
    # As in a night run without Airflow, dbt is imported (and on a first night the project parsed) in a
    # process of its own while the first tasks run, and the candidates task starts Great Expectations'
    # process for the gate task: the tasks' dbt commands and the gate's checkpoint run there.
    try:
        with runlock.whole_process(access.prepare().pipeline), nightly.night_in_one_process(config.load_settings()):
            print(f"{progress.PREFIX}airflow: dag.test() — {DAG_ID}", flush=True)
            dag_run = bag.get_dag(DAG_ID).test()
    except runlock.RunInProgress as exc:
        print(f"{REFUSED_MARKER}{exc.message}", flush=True)
        return 3
    print(f"{RUN_MARKER}{dag_run.run_id}", flush=True)
    state = str(getattr(dag_run.state, "value", dag_run.state))
    _set_note(dag_run.run_id)
    print(f"CCHC_DAG_STATE={state}", flush=True)
    return 0 if state == "success" else 1


def _set_note(run_id: str) -> None:
    """The run's summary as its DAG-run note (this process may use the metadata database)."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    from .airflow_note import note_markdown
    from .pipeline import nightly
    from .warehouse import access
    from .warehouse.connection import connect

    conn = connect(access.pipeline_dsn(config.load_settings()))
    try:
        summary = nightly.summary(conn, run_id)
    finally:
        conn.close()
    with create_session() as session:
        run = session.query(DagRun).filter(DagRun.dag_id == DAG_ID, DagRun.run_id == run_id).one()
        run.note = note_markdown(summary)


if __name__ == "__main__":
    from . import heap

    heap.one_run_process()  # this process runs the DAG once and ends
    sys.exit(_test_dag())
