"""A full disk is said as such — which folder, how much is free — and is not retried as a passing outage:
not the "cannot connect" a crashed embedded server leaves behind, not a traceback."""
from __future__ import annotations

import errno
import importlib.util

import psycopg2
import pytest
from conftest import generated_inbox, query

from ingestion import config, diskspace
from ingestion.errors import DiskFull
from ingestion.pipeline import nightly
from ingestion.warehouse.connection import embedded_dsn

MIB = 2**20


def _no_space(path) -> OSError:
    return OSError(errno.ENOSPC, "No space left on device", str(path))


def test_the_embedded_server_is_not_started_into_a_full_disk(tmp_path, monkeypatch):
    pgdata = tmp_path / "home" / "pgdata"
    monkeypatch.setattr(diskspace, "free_bytes", lambda path: 40 * MIB)
    with pytest.raises(DiskFull) as info:
        embedded_dsn(pgdata)
    assert f"Ổ đĩa chứa {pgdata} không đủ chỗ trống: còn 40 MB, kho dữ liệu cần ít nhất 256 MB." in info.value.message
    assert not (pgdata / "postmaster.pid").exists() and not (pgdata / "PG_VERSION").exists()


def test_a_server_gone_on_a_full_disk_is_named_as_a_full_disk(tmp_path, monkeypatch):
    """After PostgreSQL stopped on a full disk, a stage sees only a lost connection; the disk tells which it was."""
    lost = psycopg2.OperationalError("server closed the connection unexpectedly")
    pgdata = tmp_path / "pgdata"
    assert diskspace.explain(lost, pgdata) is None  # this machine's disk has room: a lost connection stays one
    monkeypatch.setattr(diskspace, "free_bytes", lambda path: 3 * MIB)
    said = diskspace.explain(lost, pgdata)
    assert isinstance(said, DiskFull) and f"Ổ đĩa chứa {pgdata} đã đầy: còn 3 MB trống" in said.message
    assert diskspace.explain(lost, None) is None  # a remote server's disk is not this machine's


def test_what_a_full_disk_looks_like_from_each_side(tmp_path):
    class ServerDiskFull(psycopg2.OperationalError):  # what psycopg2 raises for SQLSTATE 53100
        pgcode = "53100"

    server = diskspace.explain(ServerDiskFull("could not extend file"), None)
    assert isinstance(server, DiskFull) and "máy chủ kho dữ liệu đã đầy" in server.message
    wrapped = RuntimeError("report failed")
    wrapped.__cause__ = _no_space(tmp_path / "reports" / "79001.html")
    local = diskspace.explain(wrapped, None)
    assert isinstance(local, DiskFull) and f"Ổ đĩa chứa {tmp_path / 'reports'} đã đầy" in local.message
    for exc in (ServerDiskFull("x"), wrapped, _no_space(tmp_path)):
        assert diskspace.is_disk_full(exc) and not nightly.is_transient(exc)
    assert not diskspace.is_disk_full(OSError(errno.EIO, "I/O error")) and nightly.is_transient(OSError(errno.EIO, "x"))


def test_a_night_that_fills_the_disk_ends_with_the_cause_on_record(pipeline_env, monkeypatch):
    generated_inbox(pipeline_env["inbox"], units=4, quarters=1, error_rate=0.0, seed=5, end=(2026, 1))
    reports = pipeline_env["home"] / "reports"

    def fills_the_disk(*args, **kwargs):
        raise _no_space(reports / "batch.tmp")

    monkeypatch.setattr(nightly, "ingest_stage", fills_the_disk)
    with pytest.raises(DiskFull) as info:
        nightly.run_all(config.load_settings(), run_id="manual__disk_full")
    assert f"Ổ đĩa chứa {reports} đã đầy" in info.value.message
    status, error = query(pipeline_env["dsn"], "select status, error from audit.load_runs where run_id = %s",
                            ("manual__disk_full",))[0]
    assert status == "failed" and error == info.value.message


def test_the_dag_fails_a_full_disk_at_once(pipeline_env, monkeypatch):
    """Under Airflow a full disk fails the task with its cause, without the retries meant for outages."""
    from airflow.sdk.exceptions import AirflowFailException

    spec = importlib.util.spec_from_file_location("cchc_nightly_dag", config.DAGS_DIR / "cchc_nightly.py")
    dag_module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(dag_module)

    def fills_the_disk(*args, **kwargs):
        raise _no_space(pipeline_env["home"] / "gx" / "result.json")

    monkeypatch.setattr(nightly, "validate_stage", fills_the_disk)
    with pytest.raises(AirflowFailException, match="đã đầy"):
        dag_module._run("validate_stage", "manual__disk_full")
