"""Publishing the marts atomically, and the read-only role BI tools use.

dbt builds the marts into ``marts_next`` (incrementally: only unit-quarters whose
published version changed) and tests them there. Then one transaction renames
``marts`` <-> ``marts_next``: BI sees the old version or the new one, never a mix.
The previous version becomes the standby; after the swap its incremental marts are brought
up to date (``update_standby``), so the next build applies only the next run's changes (the other
marts are rebuilt whole by every build: refreshing them in the standby would only be overwritten).
The standby is not built a second time: the build writes down what it changed (see
dbt_project/macros/standby_writes.sql), and the standby takes those key groups from the live marts
(``refresh_standby``). That copy is a step of its own: the new marts are live already, so the night
runs it beside the feedback reports.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from psycopg2 import sql

from ..warehouse.connection import Dsn
from ..warehouse.roles import BI_ROLE
from .background import in_sessions
from .dbt import DbtError, DbtResult, project_digest, run_dbt

log = logging.getLogger(__name__)
LIVE, STANDBY = "marts", "marts_next"
# A BI session still reading the previous marts holds locks on what becomes the standby: building
# or refreshing it waits at most LOCK_WAIT per attempt, then tries again (bi_reader's idle
# transactions end after a minute, its statements after ten), and after the last attempt says so.
LOCK_WAIT = "30s"
ATTEMPTS = 4
RETRY_PAUSE = 5.0
# Sessions refreshing the standby's marts side by side (one mart each at a time): on a 1 % correction of a
# long history the copy was seconds of the night, one mart after another.
STANDBY_LANES = 2


@dataclass
class PublishStats:
    published: bool
    reason: str
    marts: list[str]
    seconds: float = 0.0  # until the new marts are live
    dbt_nodes: int = 0


@dataclass
class StandbyStats:
    refreshed: bool  # False: the copy failed and was undone; the next build catches up
    seconds: float = 0.0


def _schema_exists(cur, name: str) -> bool:
    cur.execute("select 1 from pg_namespace where nspname = %s", (name,))
    return cur.fetchone() is not None


def _tables(cur, schema: str) -> list[str]:
    cur.execute("select tablename from pg_tables where schemaname = %s order by tablename", (schema,))
    return [r[0] for r in cur.fetchall()]


def _grant_live(cur) -> None:
    role = sql.Identifier(BI_ROLE)
    cur.execute(sql.SQL("revoke all on schema {} from public").format(sql.Identifier(LIVE)))
    cur.execute(sql.SQL("grant usage on schema {} to {}").format(sql.Identifier(LIVE), role))
    cur.execute(sql.SQL("grant select on all tables in schema {} to {}").format(sql.Identifier(LIVE), role))


def fingerprint(conn) -> str:
    """What the marts are built from; unchanged means there is nothing to publish."""
    with conn.cursor() as cur:
        cur.execute("""select coalesce(max(gate_seq), 0) from audit.submission_gate""")
        gate = cur.fetchone()[0]
        cur.execute("select coalesce(max(dq_result_id), 0) from audit.dq_results")
        dq = cur.fetchone()[0]
        cur.execute("select coalesce(min(source_hash), '') from raw.org_units")
        registry = cur.fetchone()[0]
        # A review changes what is published without a new gate decision: a rerun with no new
        # file must still publish it.
        cur.execute("select coalesce(max(review_id), 0) from audit.submission_review")
        reviews = cur.fetchone()[0]
    # The dbt project: its models, macros, vars (report_due_days) and seeds, the indicator catalog among them.
    return json.dumps({"gate": gate, "dq": dq, "registry": registry, "reviews": reviews,
                       "models": project_digest()})


def _last_fingerprint(cur) -> str | None:
    cur.execute("select details->>'fingerprint' from audit.publish_log order by published_at desc limit 1")
    row = cur.fetchone()
    return row[0] if row else None


def build_dir(target_dir: Path) -> Path:
    """dbt's target folder for the commands that build ``marts_next``.

    Their --vars differ from the other commands', and dbt parses the whole project again (seconds)
    whenever the vars differ from those its partial-parse state was saved with: a folder of their
    own keeps that state for each set of vars.
    """
    return target_dir / "marts_next"


def build_vars(unchanged_inputs: bool) -> dict:
    """The vars of the build into ``marts_next``: its schema, and whether the project and the registry are
    those of the last publication (always so for a first one)."""
    return {"marts_schema": STANDBY, "same_project_and_registry": unchanged_inputs}


def _incremental_models(manifest: Path) -> list[dict]:
    """The incremental marts of dbt's manifest (none before dbt has written one). Incremental intermediate
    tables (int_submissions_enriched ...) are one table each, not swapped: they have no standby."""
    if not manifest.exists():
        return []
    nodes = json.loads(manifest.read_text(encoding="utf-8")).get("nodes", {})
    return [node for node in nodes.values()
            if node.get("resource_type") == "model" and node.get("config", {}).get("materialized") == "incremental"
            and node.get("original_file_path", "").startswith("models/marts/")]


def incremental_marts_out_of_sync(cur, manifest: Path, schema: str) -> list[str]:
    """Incremental marts whose table in ``schema`` lacks a column of its contract or has one too many.

    An incremental model only adds the changed rows to its table; after an upgrade that changed
    its columns it must be built again from everything (dbt refuses the incremental run).
    """
    stale = []
    for node in _incremental_models(manifest):
        if not node.get("columns"):
            continue
        existing = set(_columns(cur, schema, node["name"]))
        if existing and existing != set(node["columns"]):
            stale.append(node["name"])
    return sorted(stale)


def publish(conn, dsn: Dsn, run_id: str, target_dir: Path, *, force: bool = False) -> PublishStats:
    """Build and swap in the marts (the bi_reader role must exist: see warehouse/roles.py)."""
    started = time.perf_counter()
    current = fingerprint(conn)
    with conn.cursor() as cur:
        last = _last_fingerprint(cur)
        unchanged = _schema_exists(cur, LIVE) and last == current
    if unchanged and not force:
        with conn.cursor() as cur:
            marts = _tables(cur, LIVE)
        return PublishStats(False, "không có gì mới để công bố (marts giữ nguyên)", marts, time.perf_counter() - started)

    before, now = (json.loads(last) if last is not None else None), json.loads(current)
    same_project = before is not None and before.get("models") == now["models"]
    # Unless the project or the registry changed since the last publication, the data tests declared on
    # tonight's groups read them alone (macros/tests_on_written_groups.sql: the rows a build did not replace
    # passed them then, against the same dimensions) and the worklist mart is built incrementally (a
    # registry change moves every one of its rows). A first publication builds every mart whole; the var
    # is set then too, as dbt parses the whole project again when its vars change.
    unchanged_inputs = before is None or (same_project and before.get("registry") == now["registry"])
    args = ["build", "--selector", "publish", "--vars", json.dumps(build_vars(unchanged_inputs))]
    # dbt's unit tests check the models' SQL on fixed inputs: they passed at the last publication, built from
    # the same models, macros and seeds, and would pass again. The registry's snapshot records what changed in
    # the registry since the last publication's build ran it: with the same registry and project, nothing.
    skipped = [*(["unit_test"] if same_project else []), *(["snapshot"] if before is not None and unchanged_inputs else [])]
    if skipped:
        args += ["--exclude-resource-type", *skipped]
    with conn.cursor() as cur:
        stale = incremental_marts_out_of_sync(cur, target_dir / "manifest.json", STANDBY)
    if stale:  # an upgrade changed their columns: rebuilt from all published figures, once
        log.warning("marts rebuilt in full (columns changed by an upgrade): %s", ", ".join(stale))
        args.append("--full-refresh")
    result = _dbt_despite_readers(dsn, build_dir(target_dir), args, "build")
    marts = _swap(conn, run_id, current, _invocation(build_dir(target_dir)))
    return PublishStats(True, "đã công bố", marts, time.perf_counter() - started, result.nodes)


def update_standby(conn, run_id: str, target_dir: Path, dsn: Dsn | None = None) -> StandbyStats | None:
    """The standby (the version ``run_id`` just replaced) brought up to what it published.

    None when the run published nothing. Rerunnable: the copy is taken again from the live marts.
    After the very first publication the standby is made as a copy of the live incremental marts.
    """
    started = time.perf_counter()
    with conn.cursor() as cur:
        cur.execute("select run_id, details from audit.publish_log order by published_at desc limit 1")
        row = cur.fetchone()
    conn.commit()
    if row is None or row[0] != run_id:
        return None
    details = row[1] or {}
    incremental = _incremental_models(build_dir(target_dir) / "manifest.json")
    if details.get("first"):
        _clone_standby(conn, {node["name"] for node in incremental}, details.get("invocation"))
        refreshed = True
    else:  # no invocation (a publication by an older version): every mart is copied whole, once
        refreshed = refresh_standby(conn, incremental, details.get("invocation"), dsn)
    return StandbyStats(refreshed, time.perf_counter() - started)


def _invocation(target_dir: Path) -> str | None:
    """dbt's id for the build just run: the changes it wrote down for the standby are tagged with it."""
    results = target_dir / "run_results.json"
    if not results.exists():
        return None
    return json.loads(results.read_text(encoding="utf-8")).get("metadata", {}).get("invocation_id")


def _swap(conn, run_id: str, current: str, invocation: str | None) -> list[str]:
    """Rename marts <-> marts_next in one transaction; retried if a lock cannot be had in time."""
    import psycopg2

    for attempt in range(1, ATTEMPTS + 1):
        try:
            with conn.cursor() as cur:
                # Readers holding the old schema finish on it; the renames wait for them, then commit together.
                cur.execute("set local lock_timeout = %s", (LOCK_WAIT,))
                first = not _schema_exists(cur, LIVE)
                if first:
                    cur.execute(sql.SQL("alter schema {} rename to {}").format(sql.Identifier(STANDBY), sql.Identifier(LIVE)))
                else:
                    cur.execute(sql.SQL("alter schema {} rename to marts_swap").format(sql.Identifier(LIVE)))
                    cur.execute(sql.SQL("alter schema {} rename to {}").format(sql.Identifier(STANDBY), sql.Identifier(LIVE)))
                    cur.execute(sql.SQL("alter schema marts_swap rename to {}").format(sql.Identifier(STANDBY)))
                    cur.execute(sql.SQL("revoke all on schema {} from public, {}").format(
                        sql.Identifier(STANDBY), sql.Identifier(BI_ROLE)))
                _grant_live(cur)
                marts = _tables(cur, LIVE)
                cur.execute("select count(*) from marts.fct_tthc_processing")
                submissions = cur.fetchone()[0]
                # invocation: the build whose recorded changes the standby takes afterwards (update_standby)
                cur.execute("insert into audit.publish_log (run_id, submissions, details) values (%s, %s, %s)",
                            (run_id, submissions, json.dumps({"fingerprint": current, "marts": marts, "first": first,
                                                              "invocation": invocation})))
            conn.commit()
            return marts
        except psycopg2.errors.LockNotAvailable:
            conn.rollback()
            if attempt == ATTEMPTS:
                raise
            log.warning("swapping the marts waits for a reader (attempt %d of %d)", attempt, ATTEMPTS)
            time.sleep(RETRY_PAUSE)
    raise AssertionError("unreachable")


def _dbt_despite_readers(dsn: Dsn, target_dir: Path, args: list[str], what: str) -> DbtResult:
    """dbt with a bounded wait for each lock, tried again while a reader still holds one."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return run_dbt(dsn, target_dir, args, lock_timeout=LOCK_WAIT)
        except DbtError as exc:
            if "lock timeout" not in str(exc) or attempt == ATTEMPTS:
                raise
            log.warning("dbt %s waits for a reader holding a lock (attempt %d of %d)", what, attempt, ATTEMPTS)
            time.sleep(RETRY_PAUSE)
    raise AssertionError("unreachable")


def refresh_standby(conn, incremental: list[dict], invocation: str | None, dsn: Dsn | None = None) -> bool:
    """Bring the standby's incremental marts to what was just published; whether it was done.

    The standby (the marts published until tonight) holds the rows the build started from, or
    older ones when last night's copy failed (the build then caught up from a night earlier). An
    incremental build only replaces whole key groups (dbt's delete+insert) or appends rows, and it
    wrote down which (dbt_project/macros/standby_writes.sql): the standby takes those groups from
    the live marts (through their primary key, never reading a mart whole), drops the groups a
    post-hook removed (a withdrawn publication), and adds the appended rows. A mart tonight's build
    made whole (its first build, or after an upgrade changed its columns) has no record: it is
    copied whole, as is every mart when ``invocation`` is unknown (published by an older version).

    Each mart is copied in a transaction of its own, the largest first, by ``STANDBY_LANES`` sessions
    side by side when ``dsn`` is given (the second one's connection). A mart depends only on itself
    here: every incremental model starts from its own table's watermark, so a mart whose copy failed
    is a night behind on its own and the next build catches it up. Tonight's recorded changes are
    kept until every mart has taken them.

    Off the readers' path: the marts are live already. If it fails, nothing is lost: the next
    build's incremental models start from the standby's own watermarks, so they redo (and record
    again) the changes it missed. Rerunnable: tonight's changes are kept until the next refresh.
    """
    pending = _largest_first(conn, incremental)
    copied: list[str] = []
    failed: list[tuple[str, Exception]] = []
    take = threading.Lock()

    def lane(session) -> None:
        import psycopg2

        while True:
            with take:
                if not pending:
                    return
                node = pending.pop(0)
            try:
                with session.cursor() as cur:
                    cur.execute("set local lock_timeout = %s", (LOCK_WAIT,))
                    whole = _refresh_standby_table(cur, node, invocation)
                session.commit()
            except psycopg2.Error as exc:
                session.rollback()
                failed.append((node["name"], exc))
                continue
            if whole:
                copied.append(node["name"])

    in_sessions(lane, conn, dsn, STANDBY_LANES if len(pending) > 1 else 1, name="cchc-standby-lane")
    if failed:
        log.warning("standby marts not refreshed (%s); the next publication catches up: %s",
                    ", ".join(name for name, _ in failed), failed[0][1])
        return False
    with conn.cursor() as cur:
        _forget_changes(cur, invocation)
        cur.execute(sql.SQL("revoke all on schema {} from public").format(sql.Identifier(STANDBY)))
    conn.commit()
    _analyze(conn, copied)
    return True


def _largest_first(conn, incremental: list[dict]) -> list[dict]:
    """The marts by their live size, largest first: the lanes then end about together."""
    with conn.cursor() as cur:
        cur.execute("""select c.relname, pg_relation_size(c.oid) from pg_class c
                       join pg_namespace n on n.oid = c.relnamespace where n.nspname = %s and c.relkind = 'r'""",
                    (LIVE,))
        sizes = dict(cur.fetchall())
    conn.commit()
    return sorted(incremental, key=lambda node: -sizes.get(node["name"], 0))


def _columns(cur, schema: str, table: str) -> list[str]:
    cur.execute("""select column_name from information_schema.columns
                   where table_schema = %s and table_name = %s order by ordinal_position""", (schema, table))
    return [r[0] for r in cur.fetchall()]


def _refresh_standby_table(cur, node: dict, invocation: str | None) -> bool:
    """One mart brought up to date in the standby; whether it had to be copied whole."""
    table = node["name"]
    live, standby = sql.Identifier(LIVE, table), sql.Identifier(STANDBY, table)
    columns = _columns(cur, LIVE, table)
    if not columns:
        return False  # not published (a model the selector leaves out)
    config = node.get("config", {})
    keys = config.get("unique_key")
    keys = [keys] if isinstance(keys, str) else list(keys or [])
    strategy = config.get("incremental_strategy")
    cur.execute("select changes from work.standby_writes where invocation_id = %s and model = %s", (invocation, table))
    mark = cur.fetchone()
    if (mark is None or _columns(cur, STANDBY, table) != columns
            or not (strategy == "append" or (strategy == "delete+insert" and keys))):
        _copy_whole(cur, table)
        return True
    changes = sql.Identifier("work", mark[0])
    if strategy == "append":
        # A failed copy may have left some of these rows in already (the table's key says which).
        names = sql.SQL(", ").join(map(sql.Identifier, columns))
        cur.execute(sql.SQL("insert into {} ({}) select {} from {} where invocation_id = %s on conflict do nothing")
                    .format(standby, names, names, changes), (invocation,))
    else:
        key_list = sql.SQL(", ").join(map(sql.Identifier, keys))
        cur.execute("drop table if exists pg_temp.standby_groups")
        cur.execute(sql.SQL("create temporary table standby_groups on commit drop as "
                            "select distinct {} from {} where invocation_id = %s")
                    .format(key_list, changes), (invocation,))
        cur.execute("analyze standby_groups")
        cur.execute(sql.SQL("delete from {} as kept using standby_groups as changed where {}")
                    .format(standby, _same_keys(keys, "kept", "changed")))
        cur.execute(sql.SQL("insert into {} select kept.* from {} as kept where exists "
                            "(select 1 from standby_groups as changed where {})")
                    .format(standby, live, _same_keys(keys, "kept", "changed")))
    # Statistics by the rule the build's post-hook applies, counting this copy's changes.
    cur.execute("select audit.analyze_if_stale(%s::regclass)", (f"{STANDBY}.{table}",))
    return False


def _forget_changes(cur, invocation: str | None) -> None:
    """Both versions have every recorded change now: tonight's are kept (a rerun of this step takes them
    again), earlier ones are deleted, and a table of changes nothing refers to any more is dropped."""
    cur.execute("delete from work.standby_writes where invocation_id is distinct from %s", (invocation,))
    cur.execute("select changes from work.standby_writes")
    kept = {row[0] for row in cur.fetchall()}
    cur.execute("select tablename from pg_tables where schemaname = 'work' and tablename like 'standby\\_\\_%%'")
    for (name,) in cur.fetchall():
        if name in kept:
            cur.execute(sql.SQL("delete from {} where invocation_id is distinct from %s")
                        .format(sql.Identifier("work", name)), (invocation,))
        else:
            cur.execute(sql.SQL("drop table {}").format(sql.Identifier("work", name)))


def _same_keys(keys: list[str], a: str, b: str) -> sql.Composable:
    """``a.k = b.k and ...`` over the key columns: NULL matches nothing, as in dbt's delete+insert."""
    return sql.SQL(" and ").join(sql.SQL("{}.{} = {}.{}").format(sql.Identifier(a), sql.Identifier(k), sql.Identifier(b),
                                                                 sql.Identifier(k)) for k in keys)


def _copy_whole(cur, table: str) -> None:
    # Cascade: the BI views of the standby (bi_indicator_value ...) read its marts; the next build makes
    # them again, as it does every view. Without it, marts rebuilt whole (an upgrade that changed their
    # columns) never reached the standby, and the next night rebuilt every mart whole a second time.
    cur.execute(sql.SQL("drop table if exists {} cascade").format(sql.Identifier(STANDBY, table)))
    _copy_table(cur, table)


def _clone_standby(conn, incremental: set[str], invocation: str | None) -> None:
    """After the very first publication, give the next incremental build a standby to update.

    Only the incremental marts are copied: every other mart is rebuilt whole by the next build.
    """
    with conn.cursor() as cur:
        cur.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(STANDBY)))
        for table in _tables(cur, LIVE):
            if table in incremental:
                _copy_whole(cur, table)  # a rerun of the step replaces its own earlier copy
        _forget_changes(cur, invocation)
        cur.execute(sql.SQL("revoke all on schema {} from public").format(sql.Identifier(STANDBY)))
    conn.commit()
    # Not analyzed here (0.9 s on a national quarter): autovacuum does it within minutes, and the
    # next build's post-hook (audit.analyze_if_stale) analyzes a table that never was.


def _analyze(conn, tables: list[str]) -> None:
    """Statistics for tables copied whole by a standby refresh, for the next build to plan on. After
    the commit: the statistics collector counts the copy's rows at commit, and would count them as
    changed since an ANALYZE run in the same transaction (the next build would analyze again)."""
    with conn.cursor() as cur:
        for table in tables:
            cur.execute(sql.SQL("analyze {}").format(sql.Identifier(STANDBY, table)))
    conn.commit()


def _copy_table(cur, table: str) -> None:
    """A live mart copied to the standby with its keys and indexes, under the same names.

    The keys and indexes are made after the rows are in (one index build is several times quicker
    than an index grown row by row: 3.3 -> 1.9 s for the figures of a national quarter).
    """
    live, standby = (sql.Identifier(LIVE, table), sql.Identifier(STANDBY, table))
    cur.execute(sql.SQL("create table {} (like {} including all excluding indexes)").format(standby, live))
    cur.execute(sql.SQL("insert into {} select * from {}").format(standby, live))
    cur.execute("""select c.conname, pg_get_constraintdef(c.oid) from pg_constraint c
                   where c.conrelid = %s::regclass and c.contype in ('p', 'u')""", (f"{LIVE}.{table}",))
    for name, definition in cur.fetchall():
        cur.execute(sql.SQL("alter table {} add constraint {} ").format(standby, sql.Identifier(name))
                    + sql.SQL(definition))
    cur.execute("""select ic.relname, i.indisunique, pg_get_indexdef(i.indexrelid) from pg_index i
                   join pg_class ic on ic.oid = i.indexrelid
                   where i.indrelid = %s::regclass
                     and not exists (select 1 from pg_constraint c where c.conindid = i.indexrelid)""",
                (f"{LIVE}.{table}",))
    for name, unique, definition in cur.fetchall():
        method = definition.split(" USING ", 1)[1]  # e.g. "btree (gate_seq)"
        cur.execute(sql.SQL("create unique index {} on {} using " if unique else "create index {} on {} using ")
                    .format(sql.Identifier(name), standby) + sql.SQL(method))
