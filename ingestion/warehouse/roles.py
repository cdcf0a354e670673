"""Who may do what in the warehouse. Applied by an administrator's connection, checked by the pipeline's.

    cchc_history   no login; owns the audit schema: the DQ history and its append-only guards
    cchc_pipeline  the nightly job and dbt: owns raw, work and what dbt builds; may only read and
                   append to the audit tables (update only audit.load_runs); not a superuser, not a
                   member of cchc_history, so it cannot drop, disable or bypass the guards
    bi_reader      read-only login for BI tools: the published marts and nothing else

Every password and role setting is the project's: applying this again resets whatever a role
changed for itself (PostgreSQL lets a login change its own password and session defaults).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re

from psycopg2 import sql

from ..errors import SetupError
from .schema import schema_digest, schema_sql

log = logging.getLogger(__name__)
HISTORY_ROLE = "cchc_history"
PIPELINE_ROLE = "cchc_pipeline"
BI_ROLE = "bi_reader"
# Schemas the pipeline owns; dbt creates the ones that do not exist yet (it may create schemas).
PIPELINE_SCHEMAS = ("raw", "work", "staging", "intermediate", "reference", "snapshots", "marts", "marts_next",
                    "marts_swap")
PRIVATE_SCHEMAS = ("raw", "audit", "work", "staging", "intermediate", "reference", "snapshots", "marts_next")
MUTABLE_AUDIT_TABLES = ("load_runs",)  # the runs' own progress; everything else in audit only grows
# A BI session cannot hold the night up for long: an idle open transaction is ended after a minute
# (it would block the refresh of the standby marts), and a runaway query after ten.
BI_SETTINGS = {"default_transaction_read_only": "on", "idle_in_transaction_session_timeout": "1min",
               "statement_timeout": "10min"}
# No statement of the nightly job waits forever on a lock someone else holds.
PIPELINE_SETTINGS = {"lock_timeout": "5min"}


def _scram_matches(verifier: str | None, password: str) -> bool:
    """Is ``password`` the one behind a stored SCRAM-SHA-256 verifier (RFC 5803 format)?"""
    m = re.fullmatch(r"SCRAM-SHA-256\$(\d+):([^$]+)\$([^:]+):(.+)", verifier or "")
    if not m:
        return False
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(m[2]), int(m[1]))
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    return hmac.compare_digest(hashlib.sha256(client_key).digest(), base64.b64decode(m[3]))


def _role(cur, name: str, *, login: bool, inherit: bool, password: str | None, notes: list[str]) -> None:
    ident = sql.Identifier(name)
    cur.execute("select rolpassword from pg_authid where rolname = %s", (name,))
    row = cur.fetchone()
    if row is None:
        cur.execute(sql.SQL("create role {}").format(ident))
    attrs = ("LOGIN" if login else "NOLOGIN") + (" INHERIT" if inherit else " NOINHERIT")
    cur.execute(sql.SQL("alter role {} with NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS "
                        + attrs + " CONNECTION LIMIT -1 VALID UNTIL 'infinity'").format(ident))
    if not login:
        cur.execute(sql.SQL("alter role {} password null").format(ident))
    elif password and not _scram_matches(row[0] if row else None, password):
        if row is not None and row[0]:
            notes.append(f"password of {name} reset to the project's")
        cur.execute("set local password_encryption = 'scram-sha-256'")
        cur.execute(sql.SQL("alter role {} password %s").format(ident), (password,))
    # Member of nothing: a login acts only with its own privileges.
    cur.execute("""select r.rolname from pg_auth_members m join pg_roles r on r.oid = m.roleid
                   join pg_roles u on u.oid = m.member where u.rolname = %s""", (name,))
    for (granted,) in cur.fetchall():
        notes.append(f"{name} removed from role {granted}")
        cur.execute(sql.SQL("revoke {} from {}").format(sql.Identifier(granted), ident))


def _role_settings(cur, name: str, wanted: dict[str, str], notes: list[str]) -> None:
    ident = sql.Identifier(name)
    cur.execute("""select s.setdatabase, d.datname, s.setconfig from pg_db_role_setting s
                   join pg_roles r on r.oid = s.setrole left join pg_database d on d.oid = s.setdatabase
                   where r.rolname = %s""", (name,))
    current = None
    for database, datname, config in cur.fetchall():
        if database == 0:
            current = sorted(config or [])
        elif datname is not None:
            notes.append(f"settings of {name} in database {datname} removed")
            cur.execute(sql.SQL("alter role {} in database {} reset all").format(ident, sql.Identifier(datname)))
    if current != sorted(f"{k}={v}" for k, v in wanted.items()):
        if current:
            notes.append(f"settings of {name} reset to the project's")
        cur.execute(sql.SQL("alter role {} reset all").format(ident))
        for key, value in wanted.items():
            cur.execute(sql.SQL("alter role {} set {} = %s").format(ident, sql.Identifier(key)), (value,))


def ensure_roles(conn, *, pipeline_password: str, bi_password: str, own_cluster: bool) -> list[str]:
    """Create or reset the three roles and their rights on the current database (administrator only).

    Returns what had to be put back (a role had changed its password or settings, say).
    """
    notes: list[str] = []
    with conn.cursor() as cur:
        cur.execute("select pg_advisory_xact_lock(hashtext('cchc.roles'))")
        _role(cur, HISTORY_ROLE, login=False, inherit=False, password=None, notes=notes)
        _role(cur, PIPELINE_ROLE, login=True, inherit=True, password=pipeline_password, notes=notes)
        _role(cur, BI_ROLE, login=True, inherit=False, password=bi_password, notes=notes)
        _role_settings(cur, BI_ROLE, BI_SETTINGS, notes)
        _role_settings(cur, PIPELINE_ROLE, PIPELINE_SETTINGS, notes)
        cur.execute("select current_database()")
        db = sql.Identifier(cur.fetchone()[0])
        # Nobody connects or creates temporary tables by default; each login gets what it needs.
        cur.execute(sql.SQL("revoke all on database {} from public, {}").format(db, sql.Identifier(BI_ROLE)))
        cur.execute(sql.SQL("grant connect, temporary, create on database {} to {}").format(
            db, sql.Identifier(PIPELINE_ROLE)))
        cur.execute(sql.SQL("grant connect on database {} to {}").format(db, sql.Identifier(BI_ROLE)))
        if own_cluster:  # the embedded server is ours alone: its maintenance database is closed too
            cur.execute("revoke connect, temporary on database postgres from public")
    conn.commit()
    for note in notes:
        log.warning("warehouse roles: %s", note)
    return notes


def _own(cur, schema: str, role: str) -> None:
    """Give ``role`` a schema and everything in it (an older warehouse was built by the administrator)."""
    ident = sql.Identifier(role)
    cur.execute("""select pg_get_userbyid(nspowner) from pg_namespace where nspname = %s""", (schema,))
    row = cur.fetchone()
    if row is None:
        return
    if row[0] != role:
        cur.execute(sql.SQL("alter schema {} owner to {}").format(sql.Identifier(schema), ident))
    cur.execute("""select c.relname, c.relkind from pg_class c join pg_namespace n on n.oid = c.relnamespace
                   where n.nspname = %s and c.relkind in ('r', 'p', 'v', 'm', 'f', 'S')
                     and pg_get_userbyid(c.relowner) <> %s
                     and not exists (select 1 from pg_depend d where d.classid = 'pg_class'::regclass
                                     and d.objid = c.oid and d.deptype in ('a', 'i'))""", (schema, role))
    kinds = {"r": "table", "p": "table", "f": "foreign table", "v": "view", "m": "materialized view", "S": "sequence"}
    for name, kind in cur.fetchall():
        cur.execute(sql.SQL("alter " + kinds[kind] + " {}.{} owner to {}").format(
            sql.Identifier(schema), sql.Identifier(name), ident))
    cur.execute("""select p.oid::regprocedure::text from pg_proc p join pg_namespace n on n.oid = p.pronamespace
                   where n.nspname = %s and pg_get_userbyid(p.proowner) <> %s""", (schema, role))
    for (signature,) in cur.fetchall():
        cur.execute(sql.SQL("alter routine {} owner to {}").format(sql.SQL(signature), ident))


def secure_schema(conn) -> None:
    """Tables, owners, grants and append-only guards (administrator only; idempotent)."""
    pipeline, bi = sql.Identifier(PIPELINE_ROLE), sql.Identifier(BI_ROLE)
    with conn.cursor() as cur:
        # Serialise concurrent first runs: CREATE ... IF NOT EXISTS is not race-free.
        cur.execute("select pg_advisory_xact_lock(hashtext('cchc.schema'))")
        cur.execute(schema_sql())  # also re-creates any missing or disabled guard
        _own(cur, "audit", HISTORY_ROLE)
        for schema in PIPELINE_SCHEMAS:
            _own(cur, schema, PIPELINE_ROLE)
        cur.execute(sql.SQL("grant usage on schema audit to {}").format(pipeline))
        cur.execute(sql.SQL("revoke all on all tables in schema audit from {}").format(pipeline))
        cur.execute(sql.SQL("grant select, insert on all tables in schema audit to {}").format(pipeline))
        for table in MUTABLE_AUDIT_TABLES:
            cur.execute(sql.SQL("grant update on audit.{} to {}").format(sql.Identifier(table), pipeline))
        cur.execute(sql.SQL("grant usage, select on all sequences in schema audit to {}").format(pipeline))
        cur.execute("revoke all on all functions in schema audit from public")
        for function in ("refresh_statistics(text)", "append_only_tables()", "analyze_if_stale(regclass, bigint)"):
            cur.execute(sql.SQL("grant execute on function audit." + function + " to {}").format(pipeline))
        cur.execute("revoke create on schema public from public")
        for schema in PRIVATE_SCHEMAS:
            cur.execute("select 1 from pg_namespace where nspname = %s", (schema,))
            if cur.fetchone():
                cur.execute(sql.SQL("revoke all on schema {} from public, {}").format(sql.Identifier(schema), bi))
        cur.execute(sql.SQL("comment on schema audit is {}").format(sql.Literal(f"cchc schema {schema_digest()}")))
    conn.commit()


def verify_access(conn) -> None:
    """Run as the pipeline: refuse to start unless the history is out of its reach and guarded."""
    problems = []
    with conn.cursor() as cur:
        cur.execute("select current_user, rolsuper, rolbypassrls from pg_roles where rolname = current_user")
        user, superuser, bypass = cur.fetchone()
        if superuser or bypass:
            problems.append(f"vai trò {user} là siêu người dùng")
        cur.execute("select obj_description(to_regnamespace('audit'), 'pg_namespace')")
        if (cur.fetchone()[0] or "") != f"cchc schema {schema_digest()}":
            problems.append("cấu trúc kho chưa được tạo hoặc chưa cập nhật theo phiên bản này")
            conn.rollback()
            raise SetupError(_unlocked(problems))
        cur.execute("""select c.relname from pg_class c where c.relnamespace = 'audit'::regnamespace
                       and c.relkind in ('r', 'p') and pg_has_role(current_user, c.relowner, 'MEMBER')""")
        owned = [r[0] for r in cur.fetchall()]
        if owned:
            problems.append(f"vai trò {user} làm chủ các bảng lịch sử ({', '.join(sorted(owned)[:3])}…)")
        cur.execute("""select t.name from unnest(audit.append_only_tables()) as t(name)
                       where (select count(*) from pg_trigger g
                              where g.tgrelid = to_regclass('audit.' || quote_ident(t.name))
                                and g.tgname in (t.name || '_append_only', t.name || '_no_truncate')
                                and g.tgenabled = 'A') < 2""")
        unguarded = [r[0] for r in cur.fetchall()]
        if unguarded:
            problems.append(f"thiếu trigger chỉ-ghi-thêm trên {', '.join(unguarded)}")
    conn.rollback()
    if problems:
        raise SetupError(_unlocked(problems))


def _unlocked(problems: list[str]) -> str:
    return ("Kho dữ liệu chưa được khóa đúng cách (" + "; ".join(problems) + "): chạy “cchc db setup” với "
            "CCHC_DATABASE_URL của người quản trị rồi chạy lại.")
