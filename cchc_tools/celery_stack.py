"""The distributed deployment on one machine: Redis, Airflow's components and N Celery workers.

What docker-compose.yml describes, started from this machine's packages instead of containers:
Redis (Debian's redis-server, installed by scripts/ensure-system-deps.sh), a PostgreSQL metadata
database, Airflow's api-server, scheduler and dag-processor, and `airflow celery worker`s with
distinct hostnames. Used by the scale-out test (tests/test_celery_scaleout.py) and by the
benchmark's 1-worker / 2-worker comparison (cchc_tools/bench.py).
"""
from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from ingestion import config

# `[core] hostname_callable`: each worker reports the name it was given, as two machines would
# report two hostnames.
WORKER_NAME_VAR = "CCHC_CELERY_WORKER_NAME"


def worker_name() -> str:
    return os.environ[WORKER_NAME_VAR]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def redis_server() -> str:
    found = shutil.which("redis-server") or ("/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None)
    if found is None:  # what `make test` installs first anyway
        subprocess.run(["bash", str(config.PROJECT_DIR / "scripts" / "ensure-system-deps.sh")], check=True)
        found = shutil.which("redis-server") or "/usr/bin/redis-server"
    return found


class Stack:
    """Processes, each in its own process group, all stopped by stop()."""

    def __init__(self, logs: Path):
        self.logs = logs
        self.procs: dict[str, subprocess.Popen] = {}

    def start(self, name: str, argv: list[str], env: dict) -> subprocess.Popen:
        log = open(self.logs / f"{name}.log", "w", encoding="utf-8")
        proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        self.procs[name] = proc
        return proc

    def log(self, name: str) -> str:
        path = self.logs / f"{name}.log"
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""

    def check_alive(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                raise AssertionError(f"{name} exited with {proc.returncode}:\n{self.log(name)[-3000:]}")

    def tails(self) -> str:
        return "\n".join(f"--- {name} ---\n{self.log(name)[-2500:]}" for name in self.procs)

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for proc in self.procs.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        for proc in self.procs.values():  # the group too: pool children, uvicorn workers, task runners
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)


def wait(what: str, ready, stack: Stack, timeout: float, every: float = 1.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = ready()
        if value:
            return value
        stack.check_alive()
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}\n{stack.tails()}")


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=3) as resp:
            return resp.status == 200
    except OSError:
        return False


def _query(dsn, sql: str, params=()) -> list[tuple]:
    import psycopg2

    conn = psycopg2.connect(dsn.url())
    try:
        with conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall()
    finally:
        conn.close()


def base_env() -> dict:
    """This interpreter's environment without the project's or Airflow's own settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CCHC_", "AIRFLOW"))}
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["PYTHONPATH"] = str(config.PROJECT_DIR)
    env["GX_ANALYTICS_ENABLED"] = "false"
    return env


@dataclass
class CeleryDeployment:
    stack: Stack
    env: dict
    meta: object  # the metadata database's DSN
    workers: tuple[str, ...]

    @property
    def airflow(self) -> str:
        return str(Path(sys.executable).with_name("airflow"))

    def run_nightly(self, run_id: str, timeout: float = 1800) -> dict:
        """Trigger cchc_nightly, wait for its end; its state, seconds (the run's own span) and tasks."""
        trigger = subprocess.run([self.airflow, "dags", "trigger", "cchc_nightly", "--run-id", run_id],
                                 env=self.env, capture_output=True, text=True)
        if trigger.returncode != 0:
            raise AssertionError(trigger.stdout[-2000:] + trigger.stderr[-2000:])
        state = wait("the DAG run to end", lambda: (lambda r: r and r[0][0] in ("success", "failed") and r[0][0])(
            _query(self.meta, "select state from dag_run where run_id = %s", (run_id,))), self.stack, timeout, every=2)
        seconds = _query(self.meta, """select extract(epoch from end_date - start_date) from dag_run
                                       where run_id = %s""", (run_id,))[0][0]
        tasks = _query(self.meta, """select task_id, map_index, state, hostname from task_instance
                                     where run_id = %s order by start_date""", (run_id,))
        return {"state": state, "seconds": round(float(seconds), 1), "tasks": tasks}


def start(work: Path, meta, warehouse, inbox: Path, workers: tuple[str, ...], shared_state: Path,
          batch_files: int | None = None, timeout: float = 240) -> CeleryDeployment:
    """Redis, the metadata database migrated, api-server, scheduler, dag-processor and the workers,
    all ready and cchc_nightly parsed. The caller stops it with deployment.stack.stop()."""
    logs = work / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    stack = Stack(logs)
    base = base_env()
    redis_port, api_port = free_port(), free_port()
    stack.start("redis", [redis_server(), "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
                          "--appendonly", "no", "--dir", str(work)], base)
    meta_url = meta.sqlalchemy_url()
    env = base | {
        "AIRFLOW_HOME": str(work / "airflow"),
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CORE__DAGS_FOLDER": str(config.DAGS_DIR),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": meta_url,
        # Airflow's async engine: psycopg 3 (in the lock) rather than asyncpg (not installed).
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": meta.url().replace("postgresql://", "postgresql+psycopg://", 1),
        "AIRFLOW__CELERY__BROKER_URL": f"redis://127.0.0.1:{redis_port}/0",
        "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + meta_url,
        # One task at a time per worker: while one worker runs a batch, the next batch goes to another.
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": "1",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(api_port),
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{api_port}",
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(16),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        # Only the runs this harness triggers: a scheduler started at 01:39 (Vietnam time) also launched that
        # night's 01:00 run, which loaded the inbox before the triggered run could.
        "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        # What the compose file gives every container: one warehouse, one inbox, one shared state volume.
        config.ENV_HOME: str(shared_state),
        config.ENV_INBOX: str(inbox),
        config.ENV_DATABASE_URL: warehouse.url(),
    }
    if batch_files is not None:  # else the product's default
        env[config.ENV_INGEST_BATCH_FILES] = str(batch_files)
    deployment = CeleryDeployment(stack, env, meta, workers)
    try:
        migrate = subprocess.run([deployment.airflow, "db", "migrate"], env=env, capture_output=True, text=True)
        if migrate.returncode != 0:
            raise AssertionError(migrate.stdout[-3000:] + migrate.stderr[-3000:])
        airflow = deployment.airflow
        stack.start("api-server", [airflow, "api-server", "--port", str(api_port), "--host", "127.0.0.1"], env)
        stack.start("scheduler", [airflow, "scheduler"], env)
        stack.start("dag-processor", [airflow, "dag-processor"], env)
        for name in workers:
            stack.start(name, [airflow, "celery", "worker", "--celery-hostname", f"{name}@%h", "--concurrency", "1",
                               "--skip-serve-logs"],
                        env | {"AIRFLOW__CORE__HOSTNAME_CALLABLE": "cchc_tools.celery_stack.worker_name",
                               WORKER_NAME_VAR: name})
        wait("the api-server", lambda: http_ok(f"http://127.0.0.1:{api_port}/api/v2/monitor/health"), stack, timeout)
        for name in workers:
            wait(f"Celery worker {name}", lambda n=name: " ready." in stack.log(n), stack, timeout)
        wait("cchc_nightly parsed by the dag-processor",
             lambda: _query(meta, "select count(*) from serialized_dag where dag_id = 'cchc_nightly'")[0][0],
             stack, timeout)
    except BaseException:
        stack.stop()
        raise
    return deployment
