"""The distributed deployment, really run: CeleryExecutor with Redis and two Celery workers.

What docker-compose.yml describes, started from this machine's packages instead of containers:
Redis (Debian's redis-server, installed by scripts/ensure-system-deps.sh), a PostgreSQL metadata
database, Airflow's api-server, scheduler and dag-processor, and two `airflow celery worker`s with
different hostnames. cchc_nightly is triggered on a small inbox; it must succeed with its tasks
run by both workers (their hostnames in the metadata database), and publish the same marts as
`cchc run --direct` on the same inbox.
"""
from __future__ import annotations

import dataclasses
import contextlib
import math
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from ingestion import config

from conftest import REPO, generated_inbox, marts_fingerprint, query

pytestmark = [pytest.mark.e2e, pytest.mark.celery]

WORKERS = ("cchc-worker-a", "cchc-worker-b")
# Surrogate keys and timestamps that depend on load order or on when a run happened (the registry
# snapshot's validity starts when the run took it).
RUN_DEPENDENT = ("file_id", "latest_file_id", "published_file_id", "gate_seq", "dq_result_id", "last_dq_result_id", "run_id", "evaluated_at",
                 "first_evaluated_at", "last_evaluated_at", "record_valid_from", "record_valid_to")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _redis_server() -> str:
    found = shutil.which("redis-server") or ("/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None)
    if found is None:  # the test's own setup installs it (what `make test` does first anyway)
        subprocess.run(["bash", str(REPO / "scripts" / "ensure-system-deps.sh")], check=True)
        found = shutil.which("redis-server") or "/usr/bin/redis-server"
    return found


class Stack:
    """Processes started by the test, each in its own process group, all stopped at the end."""

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
            if proc.poll() is not None and (name != "direct" or proc.returncode != 0):
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


def _wait(what: str, ready, stack: Stack, timeout: float, every: float = 1.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = ready()
        if value:
            return value
        stack.check_alive()
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}\n{stack.tails()}")


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=3) as resp:
            return resp.status == 200
    except OSError:
        return False


def _create_db(cluster, name: str):
    import psycopg2

    admin = psycopg2.connect(cluster.url())
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f"create database {name}")
    admin.close()
    return dataclasses.replace(cluster, dbname=name)


def _drop_dbs(cluster, names) -> None:
    import psycopg2

    admin = psycopg2.connect(cluster.url())
    admin.autocommit = True
    with admin.cursor() as cur:
        for name in names:
            cur.execute("select pg_terminate_backend(pid) from pg_stat_activity where datname = %s", (name,))
            cur.execute(f"drop database if exists {name}")
    admin.close()


def test_nightly_runs_on_two_celery_workers(tmp_path, pg_cluster):
    timings: dict[str, float] = {}
    t0 = time.monotonic()
    redis_bin = _redis_server()
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    manifest = generated_inbox(inbox, units=10, quarters=2, error_rate=0.2, seed=11, end=(2025, 4))
    files = manifest["files"]
    suffix = secrets.token_hex(4)
    dbs = {k: f"t_{k}_{suffix}" for k in ("airflow", "celery", "direct")}
    meta = _create_db(pg_cluster, dbs["airflow"])
    celery_wh = _create_db(pg_cluster, dbs["celery"])
    direct_wh = _create_db(pg_cluster, dbs["direct"])
    logs = tmp_path / "logs"
    logs.mkdir()
    stack = Stack(logs)
    try:
        base = {k: v for k, v in os.environ.items() if not k.startswith(("CCHC_", "AIRFLOW"))}
        bin_dir = str(Path(sys.executable).parent)
        base["PATH"] = os.pathsep.join([bin_dir, base.get("PATH", "")])
        base["PYTHONPATH"] = os.pathsep.join([str(REPO), str(REPO / "tests")])
        base["GX_ANALYTICS_ENABLED"] = "false"

        # The reference: the same inbox without Airflow, in a warehouse of its own (runs meanwhile).
        direct_env = base | {config.ENV_HOME: str(tmp_path / "direct_home"), config.ENV_INBOX: str(inbox),
                             config.ENV_DATABASE_URL: direct_wh.url()}
        direct = stack.start("direct", [sys.executable, "-m", "ingestion.cli", "run", "--direct"], direct_env)

        redis_port, api_port = _free_port(), _free_port()
        stack.start("redis", [redis_bin, "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
                              "--appendonly", "no", "--dir", str(tmp_path)], base)
        meta_url = meta.sqlalchemy_url()
        env = base | {
            "AIRFLOW_HOME": str(tmp_path / "airflow"),
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__CORE__DAGS_FOLDER": str(config.DAGS_DIR),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": meta_url,
            # Airflow's async engine: psycopg 3 (in the lock) rather than asyncpg (not installed).
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": meta.url().replace("postgresql://", "postgresql+psycopg://", 1),
            "AIRFLOW__CELERY__BROKER_URL": f"redis://127.0.0.1:{redis_port}/0",
            "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + meta_url,
            # One task at a time per worker: while one worker runs a batch, the next batch goes to the other.
            "AIRFLOW__CELERY__WORKER_CONCURRENCY": "1",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(api_port),
            "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{api_port}",
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(16),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            # What the compose file gives every container: one warehouse, one inbox, one shared state volume.
            config.ENV_HOME: str(tmp_path / "shared_state"),
            config.ENV_INBOX: str(inbox),
            config.ENV_DATABASE_URL: celery_wh.url(),
            config.ENV_INGEST_BATCH_FILES: str(max(1, math.ceil(files / 3))),
        }
        airflow = str(Path(sys.executable).with_name("airflow"))
        migrate = subprocess.run([airflow, "db", "migrate"], env=env, capture_output=True, text=True)
        assert migrate.returncode == 0, migrate.stdout[-3000:] + migrate.stderr[-3000:]
        timings["setup_and_migrate"] = time.monotonic() - t0

        stack.start("api-server", [airflow, "api-server", "--port", str(api_port), "--host", "127.0.0.1"], env)
        stack.start("scheduler", [airflow, "scheduler"], env)
        stack.start("dag-processor", [airflow, "dag-processor"], env)
        for name in WORKERS:
            stack.start(name, [airflow, "celery", "worker", "--celery-hostname", f"{name}@%h", "--concurrency", "1",
                               "--skip-serve-logs"],
                        env | {"AIRFLOW__CORE__HOSTNAME_CALLABLE": "celery_worker_name.worker_name",
                               "CCHC_TEST_WORKER_NAME": name})
        _wait("the api-server", lambda: _http_ok(f"http://127.0.0.1:{api_port}/api/v2/monitor/health"), stack, 240)
        for name in WORKERS:
            _wait(f"Celery worker {name}", lambda n=name: " ready." in stack.log(n), stack, 240)
        _wait("cchc_nightly parsed by the dag-processor",
              lambda: query(meta, "select count(*) from serialized_dag where dag_id = 'cchc_nightly'")[0][0], stack, 240)
        timings["components_ready"] = time.monotonic() - t0

        run_id = f"celery__{suffix}"
        trigger = subprocess.run([airflow, "dags", "trigger", "cchc_nightly", "--run-id", run_id], env=env,
                                 capture_output=True, text=True)
        assert trigger.returncode == 0, trigger.stdout[-2000:] + trigger.stderr[-2000:]
        state = _wait("the DAG run to end", lambda: (lambda r: r and r[0][0] in ("success", "failed") and r[0][0])(
            query(meta, "select state from dag_run where run_id = %s", (run_id,))), stack, 600, every=2)
        timings["dag_run"] = time.monotonic() - t0 - timings["components_ready"]
        tasks = query(meta, """select task_id, map_index, state, hostname from task_instance
                               where run_id = %s order by start_date""", (run_id,))
        assert state == "success", f"{tasks}\n{stack.tails()}"

        # Every task ran on one of the two workers, and both of them did work.
        assert {t[2] for t in tasks} == {"success"}, tasks
        hosts = {t[3] for t in tasks}
        assert hosts == set(WORKERS), tasks
        batches = [t for t in tasks if t[0] == "ingest_batch"]
        assert len(batches) >= 2, tasks
        assert query(celery_wh, "select count(*) from raw.files")[0][0] == files

        assert direct.wait(timeout=600) == 0, stack.log("direct")[-3000:]
        celery_marts = marts_fingerprint(celery_wh, RUN_DEPENDENT)
        assert celery_marts["fct_indicator_value"][1] > 0
        assert celery_marts == marts_fingerprint(direct_wh, RUN_DEPENDENT)
        timings["total"] = time.monotonic() - t0
        print("celery scale-out timings (s): " + ", ".join(f"{k} {v:.1f}" for k, v in timings.items())
              + f"; {files} files, {len(batches)} batches, hosts {sorted(hosts)}")
    finally:
        stack.stop()
        _drop_dbs(pg_cluster, dbs.values())
