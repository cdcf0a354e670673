"""The distributed deployment, really run: CeleryExecutor with Redis and two Celery workers.

What docker-compose.yml describes, started from this machine's packages instead of containers
(cchc_tools/celery_stack.py): Redis, a PostgreSQL metadata database, Airflow's api-server,
scheduler and dag-processor, and two `airflow celery worker`s with different hostnames.
cchc_nightly is triggered on a small inbox; it must succeed with its tasks run by both workers
(their hostnames in the metadata database), and publish the same marts as `cchc run --direct` on
the same inbox.
"""
from __future__ import annotations

import dataclasses
import math
import secrets
import sys
import time

import pytest

from cchc_tools import celery_stack
from ingestion import config

from conftest import generated_inbox, marts_fingerprint, query

pytestmark = [pytest.mark.e2e, pytest.mark.celery]

WORKERS = ("cchc-worker-a", "cchc-worker-b")
# Surrogate keys and timestamps that depend on load order or on when a run happened (the registry
# snapshot's validity starts when the run took it).
RUN_DEPENDENT = ("file_id", "latest_file_id", "published_file_id", "gate_seq", "decision_seq", "dq_result_id", "last_dq_result_id", "run_id", "evaluated_at",
                 "first_evaluated_at", "last_evaluated_at", "record_valid_from", "record_valid_to")


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
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    manifest = generated_inbox(inbox, units=10, quarters=2, error_rate=0.2, seed=11, end=(2025, 4))
    files = manifest["files"]
    suffix = secrets.token_hex(4)
    dbs = {k: f"t_{k}_{suffix}" for k in ("airflow", "celery", "direct")}
    meta = _create_db(pg_cluster, dbs["airflow"])
    celery_wh = _create_db(pg_cluster, dbs["celery"])
    direct_wh = _create_db(pg_cluster, dbs["direct"])
    deployment = None
    direct_logs = tmp_path / "direct_logs"
    direct_logs.mkdir()
    direct_stack = celery_stack.Stack(direct_logs)
    try:
        # The reference: the same inbox without Airflow, in a warehouse of its own (runs meanwhile).
        direct_env = celery_stack.base_env() | {config.ENV_HOME: str(tmp_path / "direct_home"),
                                                config.ENV_INBOX: str(inbox), config.ENV_DATABASE_URL: direct_wh.url()}
        direct = direct_stack.start("direct", [sys.executable, "-m", "ingestion.cli", "run", "--direct"], direct_env)
        deployment = celery_stack.start(tmp_path / "celery", meta, celery_wh, inbox, WORKERS,
                                        batch_files=max(1, math.ceil(files / 3)),
                                        shared_state=tmp_path / "shared_state")
        timings["components_ready"] = time.monotonic() - t0

        run = deployment.run_nightly(f"celery__{suffix}", timeout=600)
        timings["dag_run"] = run["seconds"]
        tasks = run["tasks"]
        assert run["state"] == "success", f"{tasks}\n{deployment.stack.tails()}"

        # Every task ran on one of the two workers, and both of them did work.
        assert {t[2] for t in tasks} == {"success"}, tasks
        hosts = {t[3] for t in tasks}
        assert hosts == set(WORKERS), tasks
        batches = [t for t in tasks if t[0] == "ingest_batch"]
        assert len(batches) >= 2, tasks
        assert query(celery_wh, "select count(*) from raw.files")[0][0] == files

        assert direct.wait(timeout=600) == 0, direct_stack.log("direct")[-3000:]
        celery_marts = marts_fingerprint(celery_wh, RUN_DEPENDENT)
        assert celery_marts["fct_indicator_value"][1] > 0
        assert celery_marts == marts_fingerprint(direct_wh, RUN_DEPENDENT)
        timings["total"] = time.monotonic() - t0
        print("celery scale-out timings (s): " + ", ".join(f"{k} {v:.1f}" for k, v in timings.items())
              + f"; {files} files, {len(batches)} batches, hosts {sorted(hosts)}")
    finally:
        if deployment is not None:
            deployment.stack.stop()
        direct_stack.stop()
        _drop_dbs(pg_cluster, dbs.values())
