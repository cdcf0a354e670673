"""The nightly job, stage by stage. Each stage takes the run id, opens its own connection
and can be rerun: the Airflow DAG (dags/cchc_nightly.py) wires these functions as tasks,
and `cchc run --direct` or the benchmark call them in the same order.

    start -> discover -> ingest -> build_candidates (dbt) -> validate (GX gate) -> publish -> standby + report
    -> finish   (the standby copy and the reports run side by side)
"""
from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from .. import diskspace, heap, progress
from ..config import DBT_PROJECT_DIR, Settings, ingest_batch_files, load_settings
from ..errors import CchcError, SetupError
from ..rules.gx_process import GxProcess
from ..warehouse import access
from ..warehouse.connection import connect
from ..warehouse.roles import secure_schema, verify_access
from . import runlock
from .background import Background
from .dbt import imported_ahead as dbt_imported_ahead
from .dbt import parse_ahead, project_digest, run_dbt, runs_in_own_process, seeds_with_new_columns
from .inbox import has_files
from .load import FilePlan, analyze_raw, ingest, ingest_batch, plan_files, split_plan, start_listing
from .publish import build_dir, build_vars, fingerprint, publish, update_standby
from .registry_sync import sync_registry
from .validate import validate

if TYPE_CHECKING:
    from ..registry import Registry

log = logging.getLogger(__name__)


def new_run_id() -> str:
    return "manual__" + dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S") + "_" + uuid.uuid4().hex[:6]


def inbox_path(settings: Settings) -> Path:
    """The configured inbox, or the demo inbox (generated on first use)."""
    if settings.inbox is not None:
        if not settings.inbox.exists():
            raise SetupError(f"Thư mục nhận báo cáo CCHC_INBOX={settings.inbox} không tồn tại: sửa CCHC_INBOX hoặc "
                             "gắn ổ chia sẻ.")
        if not settings.inbox.is_dir():
            raise SetupError(f"CCHC_INBOX={settings.inbox} là một tệp, không phải thư mục: trỏ CCHC_INBOX tới thư mục "
                             "chứa các thư mục đơn vị.")
        if not has_files(settings.inbox):
            # A share that did not mount looks like this: loading nothing would change nothing,
            # but taking its (absent) registry for the truth would.
            raise SetupError(f"Thư mục nhận báo cáo {settings.inbox} đang trống (ổ chia sẻ chưa được gắn?): không chạy, "
                             "kho dữ liệu và danh mục đơn vị giữ nguyên.")
        return settings.inbox
    inbox = settings.demo_inbox
    if not (inbox / ".complete").exists():
        from cchc_tools.demo.generator import write_demo_inbox

        t0 = time.perf_counter()
        progress.say("demo", f"tạo thư mục báo cáo mẫu / generating the demo inbox: {inbox}")
        manifest = write_demo_inbox(inbox)
        progress.figures("demo", time.perf_counter() - t0, **{"tệp / files": manifest["files"],
                                                              "lỗi cài sẵn / injected faults": len(manifest["injected"])})
    return inbox


@contextlib.contextmanager
def _connection(settings: Settings, run_id: str, shared: bool = False):
    """A stage of the run: under the run lock (runlock.py), connected as the pipeline role."""
    dsn = access.pipeline_dsn(settings)
    with runlock.stage(dsn, run_id, shared=shared):
        conn = connect(dsn)
        try:
            yield dsn, conn
        finally:
            conn.close()


def _record(conn, run_id: str, stage: str, seconds: float, **columns) -> None:
    sets = ", ".join(f"{k} = %s" for k in columns)
    with conn.cursor() as cur:
        cur.execute(f"""update audit.load_runs
                        set stage_seconds = stage_seconds || jsonb_build_object(%s::text, round(%s::numeric, 3))
                        {(", " + sets) if sets else ""}
                        where run_id = %s""", (stage, seconds, *columns.values(), run_id))
    conn.commit()


def start(run_id: str, settings: Settings | None = None) -> dict:
    return _start(run_id, settings or load_settings())[0]


@heap.stage
def _start(run_id: str, settings: Settings) -> tuple[dict, Registry]:
    """The run's start, and the registry it checked (the night in one process names tonight's units from it)."""
    # Everything that can be wrong with the set-up is found before anything is written.
    inbox = inbox_path(settings)
    units_csv, mapping_csv = settings.resolved_registry(inbox), settings.resolved_unit_mapping(inbox)
    from ..registry import read_registry

    registry = read_registry(units_csv, mapping_csv)
    logins = access.prepare(settings)
    with runlock.stage(logins.pipeline, run_id, claim=True):
        if logins.admin is not None:
            admin = connect(logins.admin)
            try:
                secure_schema(admin)  # tables, owners, grants; re-creates a missing append-only guard
            finally:
                admin.close()
        conn = connect(logins.pipeline)
        try:
            verify_access(conn)
            registry, changed = sync_registry(conn, units_csv, mapping_csv, registry)
            lease = runlock.lease()
            with conn.cursor() as cur:
                # Any other run still marked running is dead: the run lock was free and it held no lease.
                cur.execute("""update audit.load_runs set status = 'interrupted', finished_at = now(), lease_until = null
                               where status = 'running' and run_id <> %s""", (run_id,))
                cur.execute("""insert into audit.load_runs (run_id, inbox, parser, status, holder, lease_until)
                               values (%s, %s, %s, 'running', %s, now() + %s::interval)
                               on conflict (run_id) do update set status = 'running', error = null, finished_at = null,
                                   stage_seconds = '{}'::jsonb, holder = excluded.holder,
                                   lease_until = excluded.lease_until""",
                            (run_id, str(inbox), settings.parser, runlock.holder(), lease))
            conn.commit()
        finally:
            conn.close()
    progress.say("start", f"lần chạy / run {run_id}; {progress.number(len(registry.units))} đơn vị trong danh mục / "
                          f"units in the registry{' (danh mục đã đổi / changed)' if changed else ''}; thư mục / inbox {inbox}")
    return ({"run_id": run_id, "inbox": str(inbox), "units_in_registry": len(registry.units), "registry_changed": changed},
            registry)


@heap.stage
def discover(run_id: str, settings: Settings | None = None, *, batches: bool = False) -> dict:
    """New and changed files; with batches=True also the plan split into batches for ingest tasks."""
    out, plan = _discover(run_id, settings or load_settings())
    if batches:
        # Never no batch: a mapped task over nothing is skipped, and a skip would end the night before
        # the stages that still have work with no new file (reviews to publish, reports to bring up to date).
        out["batches"] = split_plan(plan, ingest_batch_files()) or [[]]
    return out


def _discover(run_id: str, settings: Settings, listing: Background | None = None):
    t0 = time.perf_counter()
    with _connection(settings, run_id) as (dsn, conn):
        plan = plan_files(conn, inbox_path(settings), listing)
        out = {"found": plan.found, "new": len(plan.new), "unchanged": plan.unchanged}
        _record(conn, run_id, "discover", time.perf_counter() - t0, files_found=plan.found,
                files_new=len(plan.new), files_unchanged=plan.unchanged)
    progress.figures("discover", time.perf_counter() - t0, **{"tệp / files": plan.found, "mới hoặc đã sửa / new": len(plan.new),
                                                               "không đổi / unchanged": plan.unchanged})
    return out, plan


@heap.stage
def ingest_stage(run_id: str, settings: Settings | None = None, workers: int | None = None,
                 plan: FilePlan | None = None, registry: Registry | None = None) -> dict:
    """Parse and stage the new files (plan: discover's, registry: start's, when the same process has them)."""
    settings = settings or load_settings()
    t0 = time.perf_counter()
    inbox = inbox_path(settings)
    with _connection(settings, run_id, shared=True) as (dsn, conn):  # batches run side by side
        from ..registry import read_registry

        # The registry names the units of the files read; a night that found none reads none (tens of
        # thousands of units take a quarter of a second to read, between the listing and the parse).
        if plan is not None and not plan.new:
            registry = None
        elif registry is None:
            registry = read_registry(settings.resolved_registry(inbox), settings.resolved_unit_mapping(inbox))
        stats = ingest(conn, run_id, inbox, parser=settings.parser, registry=registry, workers=workers, plan=plan)
        # Discovery counts files whose size or date changed; reading tells which really did.
        _record(conn, run_id, "ingest", time.perf_counter() - t0, files_loaded=stats.loaded,
                files_rejected=stats.rejected, facts_staged=stats.facts, files_found=stats.found,
                files_new=stats.new, files_unchanged=stats.unchanged)
        _record(conn, run_id, "parse", stats.parse_seconds)
        _record(conn, run_id, "load", stats.load_seconds)
    rate = (stats.loaded + stats.rejected) / stats.parse_seconds if stats.parse_seconds else 0
    progress.figures("ingest", time.perf_counter() - t0, **{
        "nạp / loaded": stats.loaded, "từ chối / rejected": stats.rejected, "số liệu / figures": stats.facts,
        "đọc / parse": f"{progress.number(stats.parse_seconds, 1)} s ({progress.number(rate, 1)} tệp/s)",
        "ghi / load": f"{progress.number(stats.load_seconds, 1)} s"})
    return stats.as_dict()


@heap.stage
def ingest_batch_stage(run_id: str, batch: list[dict], settings: Settings | None = None,
                       workers: int | None = None) -> dict:
    """One batch of discover(batches=True): parse and stage its files (a mapped task of the DAG)."""
    if not batch:
        return {"files": 0, "loaded": 0, "rejected": 0, "facts": 0}
    settings = settings or load_settings()
    t0 = time.perf_counter()
    inbox = inbox_path(settings)
    with _connection(settings, run_id, shared=True) as (dsn, conn):  # batches run side by side
        from ..registry import read_registry

        registry = read_registry(settings.resolved_registry(inbox), settings.resolved_unit_mapping(inbox))
        stats = ingest_batch(conn, run_id, inbox, batch, parser=settings.parser, registry=registry, workers=workers)
        _add_seconds(conn, run_id, parse=stats.parse_seconds, load=stats.load_seconds)
    progress.figures("ingest", time.perf_counter() - t0, **{
        "lô / batch": f"{progress.number(len(batch))} tệp / files", "nạp / loaded": stats.loaded,
        "từ chối / rejected": stats.rejected, "số liệu / figures": stats.facts})
    return {"files": len(batch), "loaded": stats.loaded, "rejected": stats.rejected, "facts": stats.facts}


@heap.stage
def ingest_summary_stage(run_id: str, settings: Settings | None = None) -> dict:
    """After every batch: the run's ingest figures from the warehouse, fresh statistics for dbt and the gate."""
    settings = settings or load_settings()
    t0 = time.perf_counter()
    with _connection(settings, run_id) as (dsn, conn):
        with conn.cursor() as cur:
            cur.execute("""select count(*) filter (where status = 'loaded'), count(*) filter (where status = 'rejected'),
                                  coalesce(sum(n_facts) filter (where status = 'loaded'), 0)
                           from raw.files where run_id = %s""", (run_id,))
            loaded, rejected, facts = cur.fetchone()
            cur.execute("select stage_seconds from audit.load_runs where run_id = %s", (run_id,))
            stages = (cur.fetchone() or [{}])[0] or {}
        if loaded or rejected:
            analyze_raw(conn, loaded + rejected, int(facts))
        _record(conn, run_id, "ingest", float(stages.get("parse", 0)) + float(stages.get("load", 0))
                + time.perf_counter() - t0, files_loaded=loaded, files_rejected=rejected, facts_staged=facts)
    progress.figures("ingest", time.perf_counter() - t0, **{
        "nạp / loaded": loaded, "từ chối / rejected": rejected, "số liệu / figures": facts})
    return {"loaded": loaded, "rejected": rejected, "facts": int(facts)}


def _add_seconds(conn, run_id: str, **seconds: float) -> None:
    """Add to stage figures that several tasks share (batches of one run, maybe at the same time)."""
    with conn.cursor() as cur:
        for stage, value in seconds.items():
            cur.execute("""update audit.load_runs
                           set stage_seconds = stage_seconds || jsonb_build_object(%s::text,
                               round(coalesce((stage_seconds ->> %s)::numeric, 0) + %s::numeric, 3))
                           where run_id = %s""", (stage, stage, value, run_id))
    conn.commit()


@heap.stage
def build_candidates(run_id: str, settings: Settings | None = None) -> dict:
    settings = settings or load_settings()
    t0 = time.perf_counter()
    with _connection(settings, run_id) as (dsn, conn):
        _start_gx_ahead(conn, run_id)
        changed = seeds_with_new_columns(conn, DBT_PROJECT_DIR / "seeds")
        if not changed and candidates_fingerprint(conn) == _last_build(conn):
            progress.say("dbt", "không có gì mới từ lần dựng trước: bỏ qua dbt / nothing new since the last build: "
                                "dbt skipped")
            _record(conn, run_id, "dbt_candidates", time.perf_counter() - t0)
            _parse_publication_ahead(dsn, settings)
            return {"dbt_nodes": 0, "skipped": True}
        if changed:
            progress.say("dbt", "dbt seed --full-refresh: danh mục có cột mới / catalog columns changed: " + ", ".join(changed))
            run_dbt(dsn, settings.dbt_target_dir, ["seed", "--full-refresh", "--select", *changed])
        progress.say("dbt", "dbt build --selector pre_gate: staging, intermediate, dữ liệu chờ kiểm tra / pending figures")
        args = ["build", "--selector", "pre_gate"]
        last = _last_build(conn)
        if not changed and seeds_in_place(conn, last):
            args += ["--exclude-resource-type", "seed"]  # the catalogs as this project has them: not loaded again
        elif last is not None and json.loads(last).get("models") != project_digest():
            # An upgraded project: its incremental models (int_submissions_enriched ...) are made again whole,
            # whatever columns or logic changed, and every view with them.
            args.append("--full-refresh")
        result = run_dbt(dsn, settings.dbt_target_dir, args)
        _parse_publication_ahead(dsn, settings)
        with conn.cursor() as cur:
            cur.execute("insert into audit.build_log (run_id, selector, fingerprint) values (%s, 'pre_gate', %s)",
                        (run_id, candidates_fingerprint(conn)))  # after the build: the table exists now
        conn.commit()
        _record(conn, run_id, "dbt_candidates", time.perf_counter() - t0)
    progress.figures("dbt", time.perf_counter() - t0, **{"nút / nodes": result.nodes})
    return {"dbt_nodes": result.nodes}


def candidates_fingerprint(conn) -> str:
    """What the candidates are built from: the files (their latest id), the registry, the catalog, the models
    and whether the candidates table is there at all. Gate decisions are left out: they only ever take files
    out of the candidates, and the gate reads the candidates without the decided ones."""
    with conn.cursor() as cur:
        cur.execute("select coalesce(max(file_id), 0), to_regclass('intermediate.int_facts_candidates') is not null "
                    "from raw.files")
        last_file, built = cur.fetchone()
    inputs = {k: v for k, v in json.loads(fingerprint(conn)).items() if k not in ("gate", "dq")}
    return json.dumps(inputs | {"last_file": last_file, "candidates_table": built}, sort_keys=True)


def seeds_in_place(conn, last_build: str | None) -> bool:
    """The seeds (indicator catalog, levels ...) were loaded by a build of this very project and are all there.

    Reloading them is a second of a night's build; their CSVs are part of the project's digest, so a
    changed catalog is a changed project and is loaded again.
    """
    if last_build is None or json.loads(last_build).get("models") != project_digest():
        return False
    with conn.cursor() as cur:
        for path in sorted((DBT_PROJECT_DIR / "seeds").glob("*.csv")):
            cur.execute("select to_regclass(%s) is not null", (f"reference.{path.stem}",))
            if not cur.fetchone()[0]:
                return False
    return True


def _last_build(conn) -> str | None:
    with conn.cursor() as cur:
        cur.execute("select fingerprint from audit.build_log where selector = 'pre_gate' order by built_at desc limit 1")
        row = cur.fetchone()
    return row[0] if row else None


def write_gate_sql(target_dir: Path) -> None:
    """The SQL the gate ran, one file per rule kind, beside dbt's compiled SQL (`cchc rules sql`)."""
    from ..indicators import load_catalog
    from ..rules.export import FOLDER, write_rule_sql
    from ..rules.ruleset import load_rules
    from ..rules.sql import SqlEngine

    rules = load_rules()
    write_rule_sql(target_dir / FOLDER, rules, SqlEngine(rules, load_catalog()))


def _files_loaded(conn, run_id: str) -> int:
    """Files tonight's ingest loaded (what decides whether Great Expectations' process is started)."""
    with conn.cursor() as cur:
        cur.execute("select coalesce(files_loaded, 0) from audit.load_runs where run_id = %s", (run_id,))
        row = cur.fetchone()
    conn.commit()
    return row[0] if row else 0


@heap.stage
def validate_stage(run_id: str, settings: Settings | None = None) -> dict:
    """The gate. Great Expectations runs in a process of its own: the one the candidates build started
    where the whole night runs in this process (``night_in_one_process``), else one the gate starts as it
    begins when tonight loaded files (GX is imported on the other core while the batch is materialised).
    Either way its checkpoint never shares this interpreter, and the process ends with the stage."""
    settings = settings or load_settings()
    with _connection(settings, run_id) as (dsn, conn):
        gx_process = _gx_ahead[-1].take() if _gx_ahead else None
        if gx_process is None and _files_loaded(conn, run_id):
            gx_process = GxProcess()
        try:
            stats = validate(conn, dsn, run_id, settings.gx_dir, gx_process=gx_process)
        finally:
            if gx_process is not None:
                gx_process.close()
        write_gate_sql(settings.dbt_target_dir)
        _record(conn, run_id, "gx_validate", stats.seconds, submissions_checked=stats.submissions,
                submissions_accepted=stats.accepted, submissions_held=stats.held,
                rules_passed=stats.passed, rules_failed=stats.failed)
        if stats.submissions:  # inside the gate: what the benchmark breaks it down by
            _record(conn, run_id, "gate_rules", stats.rules_seconds)
            _record(conn, run_id, "gate_ledger", stats.ledger_seconds)
            _record(conn, run_id, "gate_gx", stats.gx_seconds)
    progress.figures("gate", stats.seconds, **{
        "báo cáo / submissions": stats.submissions, "chấp nhận / accepted": stats.accepted, "tạm giữ / held": stats.held,
        "quy tắc đạt / rules passed": stats.passed, "không đạt / failed": stats.failed,
        "kỳ vọng GX không đạt / GX expectations failed": f"{stats.gx_failed_expectations}/{stats.gx_expectations}"})
    return stats.__dict__


@heap.stage
def publish_stage(run_id: str, settings: Settings | None = None, *, force: bool = False,
                  standby: bool = True) -> dict:
    """Build and swap in the marts. ``standby=False``: the standby is left to ``standby_stage`` (the night
    runs it beside the reports); a lone publication brings it up to date itself."""
    settings = settings or load_settings()
    with _connection(settings, run_id) as (dsn, conn):
        stats = publish(conn, dsn, run_id, settings.dbt_target_dir, force=force)
        _record(conn, run_id, "publish", stats.seconds, marts_published=stats.published)
    progress.figures("publish", stats.seconds, **{"kết quả / outcome": stats.reason, "bảng / tables": len(stats.marts)})
    if standby and stats.published:
        standby_stage(run_id, settings)
    return stats.__dict__


@heap.stage
def standby_stage(run_id: str, settings: Settings | None = None) -> dict:
    """After the swap: the previous marts, now the standby, take what was just published (publish.py)."""
    settings = settings or load_settings()
    with _connection(settings, run_id, shared=True) as (dsn, conn):  # beside the report stage
        stats = update_standby(conn, run_id, settings.dbt_target_dir, dsn)
        if stats is not None:
            _record(conn, run_id, "standby", stats.seconds)
    if stats is None:
        return {"refreshed": False, "seconds": 0.0}
    progress.figures("standby", stats.seconds, **({} if stats.refreshed else {
        "kết quả / outcome": "chưa cập nhật (lần công bố sau sẽ bắt kịp) / not refreshed, the next publication catches up"}))
    return stats.__dict__


@heap.stage
def report_stage(run_id: str, settings: Settings | None = None, *, docs: bool = True) -> dict:
    settings = settings or load_settings()
    t0 = time.perf_counter()
    from ..feedback.report import ReportWriter, unreported_runs, write_current_reports, write_run_reports
    from ..unmatched import write_run_list

    with _connection(settings, run_id, shared=True) as (dsn, conn):  # beside the standby stage
        # The dbt docs page first: where dbt runs in a process of its own, it is generated there while
        # the reports are written here.
        docs_job, docs_index = _start_docs(settings, run_id, conn, dsn) if docs else (None, None)
        try:
            # Files read by a run that was killed or failed before its reports get them now.
            earlier = unreported_runs(conn, run_id)
            writer = ReportWriter()  # a unit-quarter's report in the run's folder and in current/ is rendered once
            collected: dict = {}  # ... and read from the warehouse once
            out_dir = write_run_reports(conn, run_id, settings.reports_dir, earlier, writer, collected)
            write_run_list(conn, run_id, out_dir)  # labels the catalog does not know yet, for the data team
            if earlier:
                with conn.cursor() as cur:
                    cur.execute("update audit.load_runs set reports_dir = %s where run_id = any(%s)",
                                (str(out_dir), earlier))
                conn.commit()
            current = write_current_reports(conn, run_id, settings.reports_dir, writer, collected)
            progress.figures("report", time.perf_counter() - t0, **{"thư mục / folder": str(out_dir),
                                                                     "phản hồi hiện hành / current": current})
        except BaseException:
            if isinstance(docs_job, Background):
                docs_job.wait()  # dbt's process is the night's: never left working behind a failed stage
            raise
        if docs_job is not None:  # after the reports, which a failed docs page must not cost the units
            key = docs_job.join() if isinstance(docs_job, Background) else docs_job()
            docs_key_path(settings).write_text(key, encoding="utf-8")
        _record(conn, run_id, "report", time.perf_counter() - t0, reports_dir=str(out_dir))
    return {"reports_dir": str(out_dir), "current_reports": current, "dbt_docs": docs_index}


def _start_docs(settings: Settings, run_id: str, conn,
                dsn) -> tuple[Background | Callable[[], str] | None, str | None]:
    """The dbt docs page brought up to date when the night published (or there is none yet): started in
    the background where dbt runs in a process of its own, else a call to make after the reports. Returns
    that job (its result is the page's key, written once the page is) and the page's path (None: no page
    for this night)."""
    with conn.cursor() as cur:
        cur.execute("select marts_published from audit.load_runs where run_id = %s", (run_id,))
        published = bool((cur.fetchone() or [False])[0])
    conn.commit()
    if not published and dbt_docs_page(settings).exists():
        return None, None
    key = docs_fingerprint(conn, dsn)
    if docs_key_path(settings).exists() and docs_key_path(settings).read_text(encoding="utf-8") == key \
            and dbt_docs_page(settings).exists():
        progress.say("docs", "tài liệu dbt không đổi (dự án dbt như lần trước) / dbt docs unchanged")
        return None, str(dbt_docs_page(settings))
    progress.say("docs", "dbt docs generate --static")

    def generate() -> str:
        # --static: one page with the manifest and catalog inside, so it opens from disk
        run_dbt(dsn, settings.dbt_target_dir, ["docs", "generate", "--static"])
        return key

    job = Background(generate, name="cchc-docs") if runs_in_own_process() else generate
    return job, str(dbt_docs_page(settings))


def dbt_docs_page(settings: Settings) -> Path:
    return settings.dbt_target_dir / "static_index.html"


def docs_key_path(settings: Settings) -> Path:
    return settings.dbt_target_dir / "static_index.key"


def docs_fingerprint(conn, dsn) -> str:
    """What the dbt docs page is made of: the dbt project's files, dbt's version, the warehouse and
    its relations' columns (the catalog).

    The page describes models, columns and tests, not the figures in them, so a night that only
    loads data leaves it as it was (generating it took seconds of every published night). Left out:
    the standby marts (not on the page), the scratch schema ``work`` (the gate's batch, the marts'
    changes the standby copy takes and drops) and temporary tables (the standby copy, running beside
    the reports, makes some).
    """
    import hashlib
    from importlib.metadata import version

    from .publish import STANDBY

    with conn.cursor() as cur:
        cur.execute("""select coalesce(md5(string_agg(concat_ws('.', table_schema, table_name, column_name, data_type),
                                                   ',' order by table_schema, table_name, ordinal_position)), '')
                       from information_schema.columns
                       where table_schema not in ('pg_catalog', 'information_schema', 'work', %s)
                         and table_schema not like 'pg\\_temp\\_%%' and table_schema not like 'pg\\_toast%%'""",
                    (STANDBY,))
        columns = cur.fetchone()[0]
    conn.commit()
    return hashlib.sha256(f"{version('dbt-core')} {version('dbt-postgres')}\n{dsn.host}\n{dsn.port}\n"
                          f"{dsn.dbname}\n{columns}\n{project_digest()}\n".encode()).hexdigest()


@heap.stage
def finish(run_id: str, settings: Settings | None = None, *, failed: str | None = None) -> dict:
    """End the run (and its claim on the warehouse): success only if every stage was done."""
    settings = settings or load_settings()
    dsn = access.pipeline_dsn(settings)
    conn = connect(dsn)
    try:
        with conn.cursor() as cur:
            cur.execute("select status, stage_seconds ? 'report' from audit.load_runs where run_id = %s", (run_id,))
            row = cur.fetchone()
            if row is not None and row[0] == "running":
                if failed is None and not row[1]:  # the DAG's teardown after a failed task
                    failed = "dừng trước khi xong mọi bước (xem nhật ký Airflow)"
                cur.execute("""update audit.load_runs set finished_at = now(), status = %s, error = %s, lease_until = null
                               where run_id = %s""", ("failed" if failed else "success", failed, run_id))
        conn.commit()
        out = summary(conn, run_id)
    finally:
        conn.close()
    progress.say("finish", f"{out.get('status')}: {out.get('files_loaded')} tệp nạp / loaded, {out.get('files_rejected')} "
                           f"từ chối / rejected, {out.get('submissions_held')} tạm giữ / held; giây / seconds "
                           + ", ".join(f"{k} {v}" for k, v in (out.get("stage_seconds") or {}).items()))
    return out


def summary(conn, run_id: str) -> dict:
    from psycopg2.extras import RealDictCursor

    with conn.cursor(cursor_factory=RealDictCursor) as cur:
        cur.execute("select * from audit.load_runs where run_id = %s", (run_id,))
        run = dict(cur.fetchone() or {})
        cur.execute("select count(*) as n from pg_tables where schemaname = 'marts'")
        run["marts_tables"] = cur.fetchone()["n"]
        cur.execute("""select path, reason_code, message from audit.rejected_files where run_id = %s
                       order by rejection_id limit 20""", (run_id,))
        run["rejected"] = [dict(r) for r in cur.fetchall()]
        cur.execute("""select f.unit_code, f.year, f.quarter, g.errors, g.warnings
                       from audit.submission_gate g join raw.files f using (file_id)
                       where g.run_id = %s and g.decision = 'held' order by f.unit_code, f.year, f.quarter""", (run_id,))
        run["held"] = [dict(r) for r in cur.fetchall()]
        # What is still open, whatever run decided it: held and rejected units stay on the list
        # until they are fixed or reviewed (the worklist, fct_submission_status).
        run["open_items"] = []
        cur.execute("select to_regclass('marts.fct_submission_status') is not null as ready")
        if cur.fetchone()["ready"]:
            cur.execute("""select period_key, state, count(*) as units from marts.fct_submission_status
                           where is_expected and state in ('held', 'rejected', 'review_rejected', 'missing', 'pending')
                           group by year, quarter, period_key, state order by year desc, quarter desc, state""")
            run["open_items"] = [dict(r) for r in cur.fetchall()]
        cur.execute("""select count(*) as n from raw.facts x join raw.files f using (file_id)
                       where f.run_id = %s and f.status = 'loaded' and x.indicator is null""", (run_id,))
        run["facts_unmatched"] = cur.fetchone()["n"]
    listed = Path(run["reports_dir"]) / "unmatched_labels.json" if run.get("reports_dir") else None
    run["unmatched_list"] = str(listed) if listed is not None and listed.exists() else None
    return json.loads(json.dumps(run, default=str))


def run_all(settings: Settings | None = None, run_id: str | None = None, *, workers: int | None = None,
            docs: bool = True) -> dict:
    """The whole nightly job in this process (what the DAG does, without Airflow)."""
    settings = settings or load_settings()
    run_id = run_id or new_run_id()
    inbox = inbox_path(settings)  # a wrong inbox is said before the warehouse is even started
    # dbt's process is started first (night_in_one_process), as `cchc run` starts it before the DAG's first
    # task: its import (about 1.3 s of a core) runs on the core the listing leaves idle, not beside the
    # parsing workers, which keep both busy (a 1 % night of a 55,559-file history: parse 1.7 -> 1.2 s).
    with runlock.whole_process(access.prepare(settings).pipeline), night_in_one_process(settings):
        # The inbox is listed while the run starts (the registry, the warehouse's checks): a cold listing
        # of a long history is seconds of disk reads, and only discover needs it.
        with start_listing(inbox) as listing:
            _, registry = _start(run_id, settings)
        try:
            # One look at the inbox: ingest loads what discover found, naming units from the registry start read.
            _, plan = _discover(run_id, settings, listing)
            ingest_stage(run_id, settings, workers=workers, plan=plan, registry=registry)
            build_candidates(run_id, settings)
            validate_stage(run_id, settings)
            publish_stage(run_id, settings, standby=False)
            # side by side, as the DAG's parallel tasks run: the standby copy works in the database while
            # the reports are written in Python
            with Background(standby_stage, run_id, settings, name="cchc-standby") as standby:
                report_stage(run_id, settings, docs=docs)
            standby.join()
        except Exception as exc:
            cause = explain_failure(exc, settings)
            reason = cause if cause is not exc else None
            try:
                finish(run_id, settings, failed=failure_text(cause))
            except Exception:
                if reason is None:
                    raise
                log.warning("the run could not be marked failed on a full disk", exc_info=True)
            if reason is not None:
                raise reason from exc
            raise
        return finish(run_id, settings)


@contextlib.contextmanager
def night_in_one_process(settings: Settings):
    """Within the block every stage of a night runs in this process (run_all; `cchc run`'s dag.test()),
    so each helper process is started as soon as its work is known: dbt's now, to be imported while the
    run starts and the inbox is listed (``dbt_started_ahead``), and Great Expectations' by the candidates
    build, to be imported while dbt builds (``gx_started_ahead``) rather than in the gate's own time."""
    with dbt_started_ahead(settings), gx_started_ahead():
        yield


class _GxAhead:
    """Great Expectations' process, started by a candidates build for the gate that follows it."""

    def __init__(self):
        self.process: GxProcess | None = None

    def take(self) -> GxProcess | None:
        process, self.process = self.process, None
        return process


_gx_ahead: list[_GxAhead] = []


@contextlib.contextmanager
def gx_started_ahead():
    """Within the block, ``build_candidates`` starts Great Expectations' process when tonight loaded files,
    and ``validate_stage`` runs its checkpoint there. Where each stage is a process of its own (the DAG's
    tasks on a worker), the gate starts GX itself: a process cannot outlive the task that started it."""
    slot = _GxAhead()
    _gx_ahead.append(slot)
    try:
        yield
    finally:
        _gx_ahead.remove(slot)
        left = slot.take()  # the candidates build failed, or the gate never ran
        if left is not None:
            left.close()


def _start_gx_ahead(conn, run_id: str) -> None:
    """A night with nothing new loaded rarely has anything to check: GX is not started for it."""
    if _gx_ahead and _gx_ahead[-1].process is None and _files_loaded(conn, run_id):
        _gx_ahead[-1].process = GxProcess()


@contextlib.contextmanager
def dbt_started_ahead(settings: Settings):
    """Within the block, the night's dbt commands run in a process started now (dbt.imported_ahead). On a
    first night that process also parses the project for the pre-gate build while the inbox is read
    (dbt.parse_ahead); the candidates build has it parse it for the publication next."""
    with dbt_imported_ahead():
        parse_ahead(access.pipeline_dsn(settings), settings.dbt_target_dir)
        yield


def _parse_publication_ahead(dsn, settings: Settings) -> None:
    """On a first night, dbt parses the project for the publication while the gate checks the figures: the
    gate keeps about 1.3 of two cores busy, where the inbox's reading left none to spare (the parse took
    seconds of a core from the parsing workers). A first publication's vars say the inputs are unchanged."""
    parse_ahead(dsn, build_dir(settings.dbt_target_dir), build_vars(unchanged_inputs=True))


def failure_text(exc: BaseException) -> str:
    """One line for the run's record and the task log: a CchcError's own message, else the error's type and text."""
    return exc.message if isinstance(exc, CchcError) else f"{type(exc).__name__}: {exc}"


def explain_failure(exc: BaseException, settings: Settings | None = None) -> BaseException:
    """A full disk said as such (the embedded server's crash looks like a lost connection); else ``exc``."""
    settings = settings or load_settings()
    return diskspace.explain(exc, settings.embedded_pgdata) or exc


def is_transient(exc: BaseException) -> bool:
    """Worth retrying: the database or the disk hiccuped. A wrong setting or password fails the same way again."""
    import psycopg2

    if isinstance(exc, CchcError):
        return exc.transient
    if diskspace.is_disk_full(exc):
        return False  # minutes of retrying do not free a disk
    if isinstance(exc, psycopg2.OperationalError) and getattr(exc, "pgcode", None) is None:
        from ..warehouse.connection import Dsn, connect_error

        return connect_error(exc, Dsn("?", 0, "?", "", "?")).transient
    if isinstance(exc, (psycopg2.OperationalError, psycopg2.InterfaceError, TimeoutError, ConnectionError)):
        return True
    return isinstance(exc, psycopg2.errors.SerializationFailure) or (
        isinstance(exc, OSError) and not isinstance(exc, FileNotFoundError | PermissionError))
