"""Airflow on this machine: a SQLite metadata database under CCHC_HOME, the project's dags/.

`cchc run` runs the cchc_nightly DAG once through Airflow (dag.test()); `cchc airflow ...`
passes any airflow command with the same settings (e.g. `cchc airflow standalone` for the UI).
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from . import config
from .config import Settings

DAG_ID = "cchc_nightly"
RUN_MARKER = "CCHC_RUN_ID="
REFUSED_MARKER = "CCHC_REFUSED="


def airflow_env(settings: Settings) -> dict[str, str]:
    home = settings.airflow_home
    home.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.update({
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(config.DAGS_DIR),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DEFAULT_TIMEZONE": "Asia/Ho_Chi_Minh",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        # One person on their own machine: no login for the local UI (the compose stack has real users).
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        "CCHC_HOME": str(settings.home),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(config.PROJECT_DIR), env.get("PYTHONPATH", "")])),
    })
    return env


def _airflow_bin() -> str:
    return str(Path(sys.executable).with_name("airflow"))


def ensure_metadata_db(settings: Settings, log: Path) -> None:
    """Create or upgrade the local metadata database (idempotent; a few seconds the first time)."""
    import airflow

    stamp = settings.airflow_home / f".migrated-{airflow.__version__}"
    if stamp.exists():
        return
    with open(log, "a", encoding="utf-8") as fh:
        subprocess.run([_airflow_bin(), "db", "migrate"], env=airflow_env(settings), stdout=fh, stderr=subprocess.STDOUT,
                       check=True)
    stamp.touch()


def run_dag_once(settings: Settings) -> tuple[str | None, bool, Path]:
    """Run cchc_nightly once with dag.test(); returns (run id, succeeded, log file)."""
    log = settings.airflow_home / "logs" / "cchc_run.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("", encoding="utf-8")
    ensure_metadata_db(settings, log)
    with open(log, "a", encoding="utf-8") as fh:
        proc = subprocess.run([sys.executable, "-m", "ingestion.airflow_local"], env=airflow_env(settings),
                              stdout=fh, stderr=subprocess.STDOUT)
    run_id = None
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith(RUN_MARKER):
            run_id = line[len(RUN_MARKER):].strip()
    return run_id, proc.returncode == 0, log


def _test_dag() -> int:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(config.DAGS_DIR))
    if bag.import_errors:
        for path, err in bag.import_errors.items():
            print(f"DAG import error in {path}: {err}")
        return 2
    from .pipeline import runlock
    from .warehouse import access

    # All tasks run in this process: it holds the run lock from the first to the last, so a
    # second run is refused at once and a kill -9 releases it with the connection.
    try:
        with runlock.whole_process(access.pipeline_dsn()):
            dag_run = bag.get_dag(DAG_ID).test()
    except runlock.RunInProgress as exc:
        print(f"{REFUSED_MARKER}{exc.message}", flush=True)
        return 3
    print(f"{RUN_MARKER}{dag_run.run_id}", flush=True)
    state = str(getattr(dag_run.state, "value", dag_run.state))
    print(f"CCHC_DAG_STATE={state}", flush=True)
    return 0 if state == "success" else 1


if __name__ == "__main__":
    sys.exit(_test_dag())
