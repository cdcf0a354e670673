"""A locked-down warehouse: passwords for every role on the embedded server (an older data folder
is locked in place), a pipeline role that cannot rewrite the DQ history, a BI login that cannot
give itself more than reading the marts."""
from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import psycopg2
import pytest
from conftest import generated_inbox, query

from ingestion import config
from ingestion.errors import SetupError
from ingestion.pipeline import nightly
from ingestion.warehouse import access
from ingestion.warehouse.connection import connect, parse_url, stop_embedded
from ingestion.warehouse.roles import verify_access
from ingestion.warehouse.schema import schema_sql

pytestmark = pytest.mark.e2e
DENIED = "42501"  # insufficient_privilege


def _cchc(*args: str, home: Path) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CCHC_")} | {config.ENV_HOME: str(home)}
    proc = subprocess.run([sys.executable, "-m", "ingestion.cli", *args], env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip().splitlines()[-1]


def _refused(url: str) -> str:
    with pytest.raises(psycopg2.OperationalError) as info:
        psycopg2.connect(url).close()
    return str(info.value)


@pytest.fixture
def home():
    # Outside pytest's temporary tree: as root the server runs as its own user (see conftest.pg_cluster).
    root = Path(tempfile.mkdtemp(prefix="cchc-test-home-"))
    yield root
    stop_embedded(root / "pgdata")
    shutil.rmtree(root, ignore_errors=True)


def test_embedded_server_is_locked_in_place(home):
    import pgserver

    # An embedded warehouse as earlier versions left it: anyone on the machine is its superuser.
    old = pgserver.get_server(home / "pgdata", cleanup_mode=None)
    trusted = parse_url(old.get_uri())
    conn = psycopg2.connect(trusted.url())
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("create database cchc")
        cur.execute("create role bi_reader login password 'bi_reader'")
    conn.close()
    conn = psycopg2.connect(replace(trusted, dbname="cchc").url())
    with conn, conn.cursor() as cur:
        cur.execute(schema_sql())
        cur.execute("create schema marts; create table marts.fct_old (a int); insert into marts.fct_old values (1)")
    conn.close()
    assert psycopg2.connect(trusted.with_user("bi_reader", "anything").url())  # today: any password will do

    pipeline_url = _cchc("db", "url", home=home)
    bi_url = _cchc("db", "url", "--bi", home=home)

    assert "trust" not in (home / "pgdata" / "pg_hba.conf").read_text()
    secrets_dir = home / "secrets"
    assert stat.S_IMODE(secrets_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE((secrets_dir / "postgres").stat().st_mode) == 0o600
    admin = trusted.with_user("postgres", (secrets_dir / "postgres").read_text().strip())
    for url in (trusted.url(), trusted.with_user("postgres", "wrong").url(),
                trusted.with_user("bi_reader", "bi_reader").url(), trusted.with_user("bi_reader", "anything").url(),
                trusted.with_user("cchc_pipeline", "").url()):
        assert "password authentication failed" in _refused(url) or "no password supplied" in _refused(url)
    with psycopg2.connect(admin.url()) as conn, conn.cursor() as cur:
        cur.execute("show listen_addresses")
        assert cur.fetchone()[0] == ""  # the socket only: nothing listens on a network interface
    conn.close()
    for url, user in ((pipeline_url, "cchc_pipeline"), (bi_url, "bi_reader")):
        conn = psycopg2.connect(url)
        with conn.cursor() as cur:
            cur.execute("select current_user, rolsuper from pg_roles where rolname = current_user")
            assert cur.fetchone() == (user, False)
        conn.close()

    # `cchc db setup` hands what the administrator built over to the roles that own it now.
    _cchc("db", "setup", home=home)
    owners = dict(query(replace(admin, dbname="cchc"), """select schemaname || '.' || tablename, tableowner from pg_tables
                                                   where schemaname in ('marts', 'audit', 'raw')"""))
    assert owners["marts.fct_old"] == owners["raw.files"] == "cchc_pipeline"
    assert owners["audit.dq_results"] == owners["audit.load_runs"] == "cchc_history"


def _statement_fails(dsn, statement: str, before: tuple[str, ...] = ()) -> str:
    """The error code of ``statement`` (the statements ``before`` it must succeed)."""
    conn = psycopg2.connect(dsn.url())
    conn.autocommit = True
    try:
        for part in before:
            with conn.cursor() as cur:
                cur.execute(part)
        with conn.cursor() as cur, pytest.raises(psycopg2.Error) as info:
            cur.execute(statement)
        return info.value.pgcode or str(info.value)
    finally:
        conn.close()


def test_pipeline_and_bi_roles_cannot_overreach(pipeline_env):
    """One warehouse, both logins checked (a nightly run takes half a minute)."""
    _pipeline_cannot_rewrite_history(pipeline_env)
    _bi_reader_cannot_alter_itself(pipeline_env["dsn"])


def _pipeline_cannot_rewrite_history(pipeline_env):
    inbox, dsn = pipeline_env["inbox"], pipeline_env["dsn"]
    generated_inbox(inbox, units=12, quarters=1, error_rate=0.3, seed=8, end=(2026, 1))
    nightly.run_all(docs=False)
    pipeline = access.resolve().pipeline
    assert pipeline.user == "cchc_pipeline" and dsn.user != pipeline.user

    # The night ran as the pipeline (dbt too): it owns what it built, not the history.
    owners = set(query(dsn, """select case when schemaname = 'audit' then 'audit' else 'built' end, tableowner
                               from pg_tables where schemaname in ('audit', 'raw', 'staging', 'intermediate',
                                                                   'reference', 'snapshots', 'marts', 'marts_next')"""))
    assert owners == {("audit", "cchc_history"), ("built", "cchc_pipeline")}

    for statement in ("set session_replication_role = replica",
                      "alter table audit.dq_results disable trigger all",
                      "drop trigger dq_results_append_only on audit.dq_results",
                      "update audit.dq_results set status = 'pass'",
                      "delete from audit.submission_gate",
                      "truncate audit.dq_results",
                      "alter table audit.dq_results owner to cchc_pipeline",
                      "set role cchc_history",
                      "grant cchc_history to cchc_pipeline",
                      "alter role cchc_pipeline superuser",
                      "create or replace function audit.forbid_rewrite() returns trigger language plpgsql "
                      "as $$ begin return null; end $$",
                      "drop schema audit cascade",
                      "create table audit.shadow (a int)"):
        assert _statement_fails(pipeline, statement) == DENIED, statement
    conn = psycopg2.connect(pipeline.url())
    with conn.cursor() as cur:  # reading and appending is all it may do
        cur.execute("select count(*) from audit.dq_results")
        cur.execute("insert into audit.publish_log (run_id, submissions) values ('probe', 0)")
    conn.rollback()
    conn.close()

    # Not even a superuser turning triggers off for replication gets past the guards.
    admin = psycopg2.connect(dsn.url())
    with admin.cursor() as cur, pytest.raises(psycopg2.Error, match="append-only"):
        cur.execute("set session_replication_role = replica")
        cur.execute("update audit.dq_results set status = 'pass'")
    admin.rollback()

    # A guard removed or disabled by an administrator: a pipeline-only login refuses to run,
    # and the next run with an administrator puts every guard back.
    with admin.cursor() as cur:
        cur.execute("drop trigger dq_results_append_only on audit.dq_results")
        cur.execute("drop trigger publish_log_no_truncate on audit.publish_log")
        cur.execute("alter table audit.submission_gate disable trigger submission_gate_append_only")
    admin.commit()
    conn = connect(pipeline)
    with pytest.raises(SetupError, match="thiếu trigger chỉ-ghi-thêm trên") as info:
        verify_access(conn)
    conn.close()
    assert all(table in info.value.message for table in ("dq_results", "publish_log", "submission_gate"))
    nightly.run_all(docs=False)
    guards = query(dsn, """select tgname, tgenabled from pg_trigger
                           where tgrelid::regclass::text like 'audit.%%' and not tgisinternal""")
    assert len(guards) == 12 and {state for _, state in guards} == {"A"}  # 2 on each of 6 append-only tables
    with admin.cursor() as cur, pytest.raises(psycopg2.Error, match="append-only"):
        cur.execute("delete from audit.submission_gate")
    admin.close()


def _bi_reader_cannot_alter_itself(dsn):
    bi = access.resolve().bi
    assert query(dsn, """select rolinherit, rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls
                         from pg_roles where rolname = 'bi_reader'""") == [(False,) * 6]
    assert query(dsn, """select count(*) from pg_auth_members m join pg_roles r on r.oid = m.member
                         where r.rolname = 'bi_reader'""") == [(0,)]
    assert "password authentication failed" in _refused(bi.with_user("bi_reader", "bi_reader").url())

    # Read-only by default, and without it no privilege to write anywhere either.
    for statement in ("create temporary table scratch (a int)", "create table marts.scratch (a int)",
                      "create table public.scratch (a int)", "delete from marts.fct_staffing",
                      "set role cchc_pipeline"):
        assert _statement_fails(bi, statement, before=("set default_transaction_read_only = off",)) == DENIED, statement

    # PostgreSQL lets any login change its own password and defaults; the project's next run
    # (or `cchc db start`) puts back its own, so they only ever hold until then.
    conn = psycopg2.connect(bi.url())
    conn.autocommit = True
    with conn.cursor() as cur:
        for statement in ("set default_transaction_read_only = off",
                          "alter role bi_reader set default_transaction_read_only = off",
                          "alter role bi_reader set statement_timeout = 0",
                          "alter role bi_reader password 'chosen-by-bi'"):
            cur.execute(statement)
    conn.close()
    assert psycopg2.connect(bi.with_user("bi_reader", "chosen-by-bi").url())  # until the project's next start
    access.prepare()
    assert "password authentication failed" in _refused(bi.with_user("bi_reader", "chosen-by-bi").url())
    conn = psycopg2.connect(bi.url())
    with conn.cursor() as cur:
        cur.execute("select current_setting('default_transaction_read_only'), current_setting('statement_timeout'), "
                    "current_setting('idle_in_transaction_session_timeout')")
        assert cur.fetchone() == ("on", "10min", "1min")
        cur.execute("select count(*) from marts.fct_tthc_processing")
        assert cur.fetchone()[0] > 0
    conn.close()
