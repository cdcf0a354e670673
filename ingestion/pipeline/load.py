"""Discover new and changed workbooks, parse them, stage every figure in raw.* with provenance.

A file is identified by its content hash: an unchanged file is skipped, a
changed one is loaded as a new row that supersedes the earlier version of its
unit-quarter (which stays in raw history). Each batch of files commits in one
transaction, so a run killed half-way leaves whole files or nothing.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from psycopg2.extras import execute_values

from .. import progress
from ..catalog import load_catalog
from ..registry import Registry, title_names_unit
from ..warehouse.copy import copy_rows
from ..workbook.package import WorkbookError
from ..workbook.read import read_workbook_bytes
from .inbox import InboxFile, content_hash, inbox_file, scan_inbox

log = logging.getLogger(__name__)

# Rejections caused by something outside the file; the same bytes are tried again next night.
RETRYABLE_REJECTIONS = {"unknown_unit"}
BATCH_SIZE = 250
PARALLEL_FROM = 64  # files; below this a worker pool costs more than it saves

FACT_COLUMNS = ("file_id", "sheet", "row_number", "col_number", "form", "stt", "label", "unit_text", "raw_value",
                "value", "numerator", "denominator", "kind", "indicator", "match", "note", "legend")
ISSUE_COLUMNS = ("file_id", "sheet", "row_number", "severity", "code", "message")


@dataclass
class FilePlan:
    found: int
    new: list[tuple[InboxFile, str]]  # (file, content hash)
    unchanged: int


@dataclass
class Parsed:
    """A parsed file, picklable so worker processes can return it."""
    rel: str
    content_hash: str
    size: int
    mtime: float
    unit_code: str | None
    year: int | None
    quarter: int | None
    parser: str
    seconds: float = 0.0
    facts: list[tuple] = field(default_factory=list)  # FACT_COLUMNS without file_id
    issues: list[tuple] = field(default_factory=list)  # ISSUE_COLUMNS without file_id
    title: str | None = None
    title_year: int | None = None
    title_quarter: int | None = None
    title_unit: str | None = None
    title_unit_matches: bool | None = None
    reject_code: str | None = None
    reject_message: str | None = None
    errors: list[str] = field(default_factory=list)


@dataclass
class IngestStats:
    found: int = 0
    new: int = 0
    unchanged: int = 0
    loaded: int = 0
    rejected: int = 0
    facts: int = 0
    parse_seconds: float = 0.0
    load_seconds: float = 0.0
    rejected_files: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "rejected_files"} | {
            "rejected_files": self.rejected_files[:50]}


def plan_files(conn, inbox: Path) -> FilePlan:
    files = scan_inbox(inbox)
    with conn.cursor() as cur:
        cur.execute("""select distinct on (path) path, content_hash, status, reject_code, size_bytes,
                              extract(epoch from modified_at)
                       from raw.files order by path, file_id desc""")
        latest = {row[0]: row[1:] for row in cur.fetchall()}
    new, unchanged = [], 0
    for f in files:
        prev = latest.get(f.rel)
        retry = prev is not None and prev[1] == "rejected" and prev[2] in RETRYABLE_REJECTIONS
        if prev and not retry and prev[3] == f.size and prev[4] is not None and abs(float(prev[4]) - f.mtime) < 1e-3:
            unchanged += 1  # same size and modification time as the recorded version: not re-read
            continue
        digest = content_hash(f.path.read_bytes())
        if prev and prev[0] == digest and not retry:
            unchanged += 1
        else:
            new.append((f, digest))
    # Older versions first, so the newest version of a unit-quarter gets the highest file_id.
    new.sort(key=lambda fh: (fh[0].mtime, fh[0].rel))
    return FilePlan(found=len(files), new=new, unchanged=unchanged)


def parse_file(f: InboxFile, digest: str, parser: str, unit_names: dict[str, str] | None) -> Parsed:
    started = time.perf_counter()
    p = Parsed(f.rel, digest, f.size, f.mtime, f.unit_code, f.year, f.quarter, parser)
    try:
        if f.problem:
            raise WorkbookError("bad_path", f.problem)
        if unit_names is not None and f.unit_code not in unit_names:
            raise WorkbookError("unknown_unit", f"mã đơn vị “{f.unit_code}” không có trong danh mục đơn vị; "
                                                "bổ sung vào danh mục rồi tệp sẽ được nạp lại")
        ex = read_workbook_bytes(f.path.read_bytes(), parser, load_catalog())
    except WorkbookError as exc:
        p.reject_code, p.reject_message = exc.code, exc.message
        p.errors = [exc.message]
    except Exception as exc:  # a reader bug must not stop the batch: reject the file, say why
        log.exception("unexpected error reading %s", f.rel)
        p.reject_code, p.reject_message = "unreadable", f"không đọc được tệp ({type(exc).__name__}: {exc})"
        p.errors = [p.reject_message]
    else:
        p.title, p.title_unit = ex.title, ex.title_unit
        p.title_unit_matches = title_names_unit(ex.title_unit, (unit_names or {}).get(f.unit_code))
        if ex.title_period:
            p.title_year, p.title_quarter = ex.title_period
        if ex.errors:
            p.reject_code = ex.errors[0].code
            p.errors = [i.message for i in ex.errors]
            p.reject_message = "; ".join(p.errors[:20]) + (f" (và {len(p.errors) - 20} lỗi khác)" if len(p.errors) > 20 else "")
        else:
            p.facts = [(fa.sheet, fa.row, fa.column + 1, fa.form, fa.stt, fa.label, fa.unit, fa.raw, fa.value,
                        fa.numerator, fa.denominator, fa.kind, fa.indicator, fa.match, fa.note, fa.legend)
                       for fa in ex.facts]
            p.issues = [(i.sheet, i.row, i.severity, i.code, i.message) for i in ex.issues]
    p.seconds = time.perf_counter() - started
    return p


_WORKER: dict = {}  # set once per worker process: the parser and the registry's unit names


def _init_worker(parser: str, unit_names: dict[str, str] | None) -> None:
    _WORKER.update(parser=parser, unit_names=unit_names)


def _parse_task(item: tuple[InboxFile, str]) -> Parsed:
    return parse_file(item[0], item[1], _WORKER["parser"], _WORKER["unit_names"])


def _parse_all(batch: list[tuple[InboxFile, str]], pool, counter: progress.Counter) -> list[Parsed]:
    parsed = []
    for p in (map(_parse_task, batch) if pool is None else pool.map(_parse_task, batch, chunksize=4)):
        parsed.append(p)
        counter.add()
    return parsed


def _store(conn, run_id: str, parsed: list[Parsed]) -> tuple[int, int, int, list[dict]]:
    """One transaction for the batch: files, their facts and issues, and rejections."""
    loaded = rejected = facts = 0
    rejections = []
    with conn.cursor() as cur:
        rows = [(p.rel, p.content_hash, p.size, dt.datetime.fromtimestamp(p.mtime, dt.UTC), p.unit_code,
                 p.year, p.quarter, "rejected" if p.reject_code else "loaded", run_id, p.parser, len(p.facts),
                 p.title, p.title_year, p.title_quarter, p.title_unit, p.title_unit_matches, p.reject_code,
                 p.reject_message) for p in parsed]
        ids = execute_values(cur, """
            insert into raw.files (path, content_hash, size_bytes, modified_at, unit_code, year, quarter, status,
                                   run_id, parser, n_facts, title, title_year, title_quarter, title_unit,
                                   title_unit_matches, reject_code, reject_message)
            values %s returning file_id""", rows, page_size=len(rows), fetch=True)
        fact_rows, issue_rows, reject_rows = [], [], []
        for (file_id,), p in zip(ids, parsed):
            if p.reject_code:
                rejected += 1
                reject_rows.append((run_id, file_id, p.rel, p.content_hash, p.unit_code, p.year, p.quarter,
                                    p.reject_code, p.reject_message, {"errors": p.errors}))
                rejections.append({"path": p.rel, "reason": p.reject_code, "message": p.reject_message})
            else:
                loaded += 1
                facts += len(p.facts)
                fact_rows.extend((file_id, *f) for f in p.facts)
                issue_rows.extend((file_id, *i) for i in p.issues)
        copy_rows(cur, "raw.facts", FACT_COLUMNS, fact_rows)
        copy_rows(cur, "raw.parse_issues", ISSUE_COLUMNS, issue_rows)
        copy_rows(cur, "audit.rejected_files", ("run_id", "file_id", "path", "content_hash", "unit_code", "year",
                                                "quarter", "reason_code", "message", "details"), reject_rows)
    conn.commit()
    return loaded, rejected, facts, rejections


def ingest(conn, run_id: str, inbox: Path, *, parser: str = "calamine", registry: Registry | None = None,
           workers: int | None = None, batch_size: int = BATCH_SIZE, plan: FilePlan | None = None,
           analyze: bool = True) -> IngestStats:
    plan = plan if plan is not None else plan_files(conn, inbox)
    stats = IngestStats(found=plan.found, new=len(plan.new), unchanged=plan.unchanged)
    names = {code: unit.name for code, unit in registry.units.items()} if registry is not None else None
    workers = workers if workers is not None else (os.cpu_count() or 1)
    _init_worker(parser, names)
    pool = ProcessPoolExecutor(max_workers=workers, initializer=_init_worker, initargs=(parser, names)) \
        if workers > 1 and len(plan.new) >= PARALLEL_FROM else None
    progress.say("parse", f"{progress.number(len(plan.new))} tệp mới hoặc đã sửa / new or changed, "
                          f"{progress.number(plan.unchanged)} không đổi / unchanged; "
                          f"{workers if pool else 1} tiến trình / processes, {parser}")
    counter = progress.Counter("parse", len(plan.new), "tệp / files")
    try:
        for start in range(0, len(plan.new), batch_size):
            batch = plan.new[start:start + batch_size]
            t0 = time.perf_counter()
            parsed = _parse_all(batch, pool, counter)
            t1 = time.perf_counter()
            loaded, rejected, facts, rejections = _store(conn, run_id, parsed)
            stats.parse_seconds += t1 - t0
            stats.load_seconds += time.perf_counter() - t1
            stats.loaded += loaded
            stats.rejected += rejected
            stats.facts += facts
            stats.rejected_files.extend(rejections)
            progress.say("load", f"{progress.number(stats.loaded + stats.rejected)}/{progress.number(len(plan.new))} "
                                 f"tệp trong kho / files stored, {progress.number(stats.facts)} số liệu / figures")
    finally:
        if pool is not None:
            pool.shutdown()
    if analyze and (stats.loaded or stats.rejected):
        analyze_raw(conn)
    return stats


def analyze_raw(conn) -> None:
    with conn.cursor() as cur:  # fresh statistics for the plans of tonight's dbt and rule queries
        cur.execute("analyze raw.files")
        cur.execute("analyze raw.facts")
    conn.commit()


def split_plan(plan: FilePlan, files_per_batch: int) -> list[list[list[str]]]:
    """The new files as batches of [relative path, content hash] for tasks that may run on several machines.

    Every version of one unit's files stays in one batch, in plan order: a batch commits its files in
    order, so a newer version of a unit-quarter still gets the higher file_id whichever batch commits first."""
    groups: dict[str | None, list[list[str]]] = {}
    for f, digest in plan.new:
        groups.setdefault(f.unit_code or f.rel, []).append([f.rel, digest])
    batches: list[list[list[str]]] = []
    current: list[list[str]] = []
    for group in groups.values():
        if current and len(current) + len(group) > files_per_batch:
            batches.append(current)
            current = []
        current.extend(group)
    if current:
        batches.append(current)
    return batches


def ingest_batch(conn, run_id: str, inbox: Path, items: list[list[str]], *, parser: str = "calamine",
                 registry: Registry | None = None, workers: int | None = None) -> IngestStats:
    """One batch of tonight's plan (split_plan), on whichever worker takes it.

    Reads only the shared inbox and the warehouse. Rerunning a batch is safe: files this run
    already stored (the batch commits whole groups of files) are not stored twice."""
    with conn.cursor() as cur:  # a run stores each path once
        cur.execute("select path from raw.files where run_id = %s and path = any(%s)",
                    (run_id, [rel for rel, _ in items]))
        done = {path for (path,) in cur.fetchall()}
    new = []
    for rel, digest in items:
        if rel in done:
            continue
        try:
            new.append((inbox_file(inbox, rel), digest))
        except FileNotFoundError:  # removed since discovery: nothing to load, next night will not see it
            log.warning("%s disappeared from the inbox after discovery", rel)
    plan = FilePlan(found=len(items), new=new, unchanged=len(items) - len(new))
    return ingest(conn, run_id, inbox, parser=parser, registry=registry, workers=workers, plan=plan, analyze=False)
