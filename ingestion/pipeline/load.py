"""Discover new and changed reports (workbooks and Word documents), parse them, stage every figure
in raw.* with provenance.

A file is identified by its content hash: an unchanged file is skipped, a
changed one is loaded as a new row that supersedes the earlier version of its
unit-quarter (which stays in raw history). Each batch of files commits in one
transaction, so a run killed half-way leaves whole files or nothing.
"""
from __future__ import annotations

import datetime as dt
import functools
import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import psycopg2
from psycopg2.extras import execute_values

from .. import progress
from ..indicators import load_catalog
from ..isolation import Failure, IsolatedPool, report_progress
from ..registry import Registry, title_names_unit
from ..warehouse.copy import copy_line, copy_lines, copy_rows
from ..workbook.ooxml import UnreadableFile
from ..workbook.read import FAILURE_MESSAGES, failure_error, read_report_bytes
from .inbox import InboxFile, content_hash, read_regular_file, scan_inbox
from .versions import folder_listing, load_order

log = logging.getLogger(__name__)

# Rejections caused by something outside the file; the same bytes are tried again next night.
RETRYABLE_REJECTIONS = {"unknown_unit", "read_timeout", "read_error", "no_permission", "vanished", "unreadable_folder"}
BATCH_SIZE = 250
NOTHING_READ = content_hash(b"")  # the hash recorded for an entry that was refused without reading it

FACT_COLUMNS = ("file_id", "sheet", "row_number", "col_number", "form", "stt", "label", "unit_text", "raw_value",
                "value", "numerator", "denominator", "kind", "indicator", "match", "note", "legend", "scope")
ISSUE_COLUMNS = ("file_id", "sheet", "row_number", "severity", "code", "message")
NARRATIVE_COLUMNS = ("file_id", "paragraph_number", "position", "sentence", "indicator", "scope", "value", "raw_value",
                     "kind", "comparable", "levels", "pattern")


@dataclass
class Candidate:
    """A file to read tonight: new, or changed in size or modification time, or worth retrying."""
    file: InboxFile
    previous_hash: str | None  # the hash last recorded for its path: the same bytes are not loaded again
    retry: bool = False
    folder_files: tuple[str, ...] = ()  # every file present in its unit-quarter folder (versions.py)


@dataclass
class FilePlan:
    found: int
    new: list[Candidate]
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
    # FACT_COLUMNS without file_id, already in COPY text format: workers format, the loader only copies
    facts: list[str] = field(default_factory=list)
    issues: list[tuple] = field(default_factory=list)  # ISSUE_COLUMNS without file_id
    narrative: list[tuple] = field(default_factory=list)  # NARRATIVE_COLUMNS without file_id
    source_format: str | None = None
    title: str | None = None
    title_year: int | None = None
    title_quarter: int | None = None
    title_unit: str | None = None
    title_unit_matches: bool | None = None
    reject_code: str | None = None
    reject_message: str | None = None
    errors: list[str] = field(default_factory=list)
    reject_detail: str | None = None  # the technical cause, for audit.rejected_files.details
    unchanged: bool = False  # read, and byte for byte the version already recorded
    folder_files: tuple[str, ...] = ()

    def reject(self, code: str, message: str, detail: str | None = None) -> "Parsed":
        self.reject_code, self.reject_message, self.reject_detail = code, message, detail
        self.errors = [message]
        self.facts, self.issues, self.narrative = [], [], []
        return self


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
    reader_crashes: int = 0
    rejected_files: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "rejected_files"} | {
            "rejected_files": self.rejected_files[:50]}


def plan_files(conn, inbox: Path) -> FilePlan:
    """What to read tonight, from the inbox listing and what raw.files recorded (nothing is read here)."""
    files = scan_inbox(inbox)
    with conn.cursor() as cur:
        cur.execute("""select distinct on (path) path, content_hash, status, reject_code, size_bytes,
                              extract(epoch from modified_at)
                       from raw.files order by path, file_id desc""")
        latest = {row[0]: row[1:] for row in cur.fetchall()}
    folders = folder_listing(files)
    new, unchanged = [], 0
    for f in load_order(files):
        prev = latest.get(f.rel)
        retry = prev is not None and prev[1] == "rejected" and prev[2] in RETRYABLE_REJECTIONS
        if prev and not retry and prev[3] == f.size and prev[4] is not None and abs(float(prev[4]) - f.mtime) < 1e-3:
            unchanged += 1  # same size and modification time as the recorded version: not re-read
            continue
        folder = tuple(folders.get((f.unit_code, f.year, f.quarter), ())) if f.problem_code is None else ()
        new.append(Candidate(f, prev[0] if prev else None, retry, folder))
    return FilePlan(found=len(files), new=new, unchanged=unchanged)


def _base(c: Candidate, parser: str) -> Parsed:
    f = c.file
    return Parsed(f.rel, NOTHING_READ, f.size, f.mtime, f.unit_code, f.year, f.quarter, parser,
                  folder_files=c.folder_files)


def parse_file(c: Candidate, parser: str, unit_names: dict[str, str] | None) -> Parsed:
    """Read one file once (its hash is of exactly these bytes) and parse it; never raises."""
    started = time.perf_counter()
    f = c.file
    p = _base(c, parser)
    if f.problem_code in ("not_a_file", "unreadable_folder"):
        return p.reject(f.problem_code, f.problem, f.problem_detail)
    try:
        data, st = read_regular_file(f.path)
    except UnreadableFile as exc:
        return p.reject(exc.code, exc.message, exc.detail)
    p.content_hash, p.size, p.mtime = content_hash(data), len(data), st.st_mtime
    report_progress((p.content_hash, p.size, p.mtime))  # should the reader crash, the file is still named by its bytes
    if p.content_hash == c.previous_hash and not c.retry:
        p.unchanged = True
        return p
    try:
        if f.problem:
            raise UnreadableFile(f.problem_code or "bad_path", f.problem, f.problem_detail)
        if unit_names is not None and f.unit_code not in unit_names:
            raise UnreadableFile("unknown_unit", f"mã đơn vị “{f.unit_code}” không có trong danh mục đơn vị; "
                                                 "bổ sung vào danh mục rồi tệp sẽ được nạp lại")
        ex = read_report_bytes(data, parser, load_catalog(), f.path.name)
    except UnreadableFile as exc:
        p.reject(exc.code, exc.message, exc.detail)
    except MemoryError:
        p.reject(*FAILURE_MESSAGES["memory"], "MemoryError")
    except Exception as exc:  # a reader bug must not stop the batch: reject the file, say why
        log.exception("unexpected error reading %s", f.rel)
        p.reject(*FAILURE_MESSAGES["error"], f"{type(exc).__name__}: {exc}")
    else:
        p.title, p.title_unit, p.source_format = ex.title, ex.title_unit, ex.source_format
        p.title_unit_matches = title_names_unit(ex.title_unit, (unit_names or {}).get(f.unit_code))
        if ex.title_period:
            p.title_year, p.title_quarter = ex.title_period
        if ex.errors:
            p.reject_code = ex.errors[0].code
            p.errors = [i.message for i in ex.errors]
            p.reject_message = "; ".join(p.errors[:20]) + (f" (và {len(p.errors) - 20} lỗi khác)" if len(p.errors) > 20 else "")
        else:
            p.facts = [copy_line((fa.sheet, fa.row, fa.column + 1, fa.form, fa.stt, fa.label, fa.unit, fa.raw,
                                  fa.value, fa.numerator, fa.denominator, fa.kind, fa.indicator, fa.match, fa.note,
                                  fa.legend, fa.scope)) for fa in ex.facts]
            p.issues = [(i.sheet, i.row, i.severity, i.code, i.message) for i in ex.issues]
            p.narrative = [(n.paragraph, n.position, n.sentence, n.indicator, n.scope, n.value, n.raw, n.kind,
                            n.compare, n.levels, n.pattern) for n in ex.narrative]
    p.seconds = time.perf_counter() - started
    return p


def failed_read(c: Candidate, parser: str, failure: Failure) -> Parsed:
    """The rejection of a file whose reader died, hung or ran out of memory in its worker."""
    p = _base(c, parser)
    if failure.progress:  # the worker had read and hashed the bytes before it failed
        p.content_hash, p.size, p.mtime = failure.progress
    error = failure_error(failure)
    log.error("reading %s failed in its worker (%s): %s", c.file.rel, failure.reason, failure.detail)
    return p.reject(error.code, error.message, error.detail)


def parse_isolated(pool: IsolatedPool, batch: list[Candidate], parser: str,
                   counter: progress.Counter | None = None) -> list[Parsed]:
    """Parse a batch in the pool's workers; a file whose worker failed comes back rejected."""
    out = []
    for c, result in zip(batch, pool.map(batch, counter.add if counter is not None else None)):
        out.append(failed_read(c, parser, result) if isinstance(result, Failure) else result)
    return out


REJECTION_COLUMNS = ("run_id", "file_id", "path", "content_hash", "unit_code", "year", "quarter", "reason_code",
                     "message", "details")
DB_REFUSED = ("db_refused", "một số nội dung trong tệp không lưu được vào kho dữ liệu (ký tự lạ, con số quá dài "
                            "hoặc tên trang tính bất thường); hãy kiểm tra các ô đó, lưu lại rồi gửi lại")


def _store(conn, run_id: str, parsed: list[Parsed]) -> tuple[int, int, int, list[dict]]:
    """One transaction for the batch: files, their facts and issues, and rejections."""
    loaded = rejected = facts = 0
    rejections = []
    with conn.cursor() as cur:
        rows = [(p.rel, p.content_hash, p.size, dt.datetime.fromtimestamp(p.mtime, dt.UTC), p.unit_code,
                 p.year, p.quarter, "rejected" if p.reject_code else "loaded", run_id, p.parser, len(p.facts),
                 p.title, p.title_year, p.title_quarter, p.title_unit, p.title_unit_matches, p.reject_code,
                 p.reject_message, list(p.folder_files), p.source_format) for p in parsed]
        ids = execute_values(cur, """
            insert into raw.files (path, content_hash, size_bytes, modified_at, unit_code, year, quarter, status,
                                   run_id, parser, n_facts, title, title_year, title_quarter, title_unit,
                                   title_unit_matches, reject_code, reject_message, folder_files, source_format)
            values %s returning file_id""", rows, template="(" + ", ".join(["%s"] * 18) + ", %s::text[], %s)",
                             page_size=len(rows), fetch=True)
        fact_rows, issue_rows, reject_rows, narrative_rows = [], [], [], []
        for (file_id,), p in zip(ids, parsed):
            if p.reject_code:
                rejected += 1
                details = {"errors": p.errors} | ({"detail": p.reject_detail} if p.reject_detail else {})
                reject_rows.append((run_id, file_id, p.rel, p.content_hash, p.unit_code, p.year, p.quarter,
                                    p.reject_code, p.reject_message, details))
                rejections.append({"path": p.rel, "reason": p.reject_code, "message": p.reject_message})
                log.info("rejected %s: %s%s", p.rel, p.reject_code, f" ({p.reject_detail})" if p.reject_detail else "")
            else:
                loaded += 1
                facts += len(p.facts)
                prefix = f"{file_id}\t"
                fact_rows.extend(prefix + line for line in p.facts)
                issue_rows.extend((file_id, *i) for i in p.issues)
                narrative_rows.extend((file_id, *n) for n in p.narrative)
        copy_lines(cur, "raw.facts", FACT_COLUMNS, fact_rows)
        copy_rows(cur, "raw.narrative_figures", NARRATIVE_COLUMNS, narrative_rows)
        copy_rows(cur, "raw.parse_issues", ISSUE_COLUMNS, issue_rows)
        copy_rows(cur, "audit.rejected_files", REJECTION_COLUMNS, reject_rows)
    conn.commit()
    return loaded, rejected, facts, rejections


def _refused_by_database(exc: Exception) -> bool:
    """An error the file's content caused (bad data, duplicate key, a value past a limit), not the server."""
    if isinstance(exc, (ValueError, UnicodeError)):  # psycopg2 refuses NUL characters before sending
        return True
    code = getattr(exc, "pgcode", None) or ""
    return isinstance(exc, psycopg2.Error) and code[:2] in ("22", "23", "54")


def _store_each(conn, run_id: str, parsed: list[Parsed]) -> tuple[int, int, int, list[dict]]:
    """After a batch failed on content: each file on its own, the one the database refuses rejected."""
    totals = [0, 0, 0, []]
    for p in parsed:
        try:
            result = _store(conn, run_id, [p])
        except Exception as exc:
            conn.rollback()
            if not _refused_by_database(exc):
                raise
            log.error("the database refused the content of %s: %s", p.rel, exc)
            p.reject(*DB_REFUSED, f"{type(exc).__name__}: {str(exc).strip()}"[:2000])
            p.title = p.title_unit = None
            result = _store(conn, run_id, [p])
        for i in range(3):
            totals[i] += result[i]
        totals[3].extend(result[3])
    return totals[0], totals[1], totals[2], totals[3]


def store(conn, run_id: str, parsed: list[Parsed]) -> tuple[int, int, int, list[dict]]:
    """Store a batch in one transaction; no file's content can make the batch fail."""
    try:
        return _store(conn, run_id, parsed)
    except Exception as exc:
        conn.rollback()
        if not _refused_by_database(exc):
            raise
        return _store_each(conn, run_id, parsed)


def ingest(conn, run_id: str, inbox: Path, *, parser: str = "calamine", registry: Registry | None = None,
           workers: int | None = None, batch_size: int = BATCH_SIZE, plan: FilePlan | None = None,
           analyze: bool = True) -> IngestStats:
    plan = plan if plan is not None else plan_files(conn, inbox)
    stats = IngestStats(found=plan.found, unchanged=plan.unchanged)
    names = {code: unit.name for code, unit in registry.units.items()} if registry is not None else None
    workers = max(1, min(workers if workers is not None else (os.cpu_count() or 1), len(plan.new)))
    read = functools.partial(parse_file, parser=parser, unit_names=names)

    def tally(result) -> None:
        loaded, rejected, facts, rejections = result
        stats.loaded += loaded
        stats.rejected += rejected
        stats.facts += facts
        stats.rejected_files.extend(rejections)
        progress.say("load", f"{progress.number(stats.loaded + stats.rejected)}/{progress.number(stats.new)} "
                             f"tệp trong kho / files stored, {progress.number(stats.facts)} số liệu / figures")

    # While one batch is stored (by the one thread that uses the connection), the workers parse
    # the next: "load" counts only the time spent waiting for a store, so parse + load is the wall time.
    progress.say("parse", f"{progress.number(len(plan.new))} tệp mới hoặc đã sửa / new or changed, "
                          f"{progress.number(plan.unchanged)} không đổi / unchanged; "
                          f"{workers} tiến trình / processes, {parser}")
    counter = progress.Counter("parse", len(plan.new), "tệp / files")
    with IsolatedPool(read, workers) as pool, ThreadPoolExecutor(1, thread_name_prefix="store") as storer:
        storing = None
        for start in range(0, len(plan.new), batch_size):
            batch = plan.new[start:start + batch_size]
            t0 = time.perf_counter()
            parsed = parse_isolated(pool, batch, parser, counter)
            t1 = time.perf_counter()
            stats.parse_seconds += t1 - t0
            changed = [p for p in parsed if not p.unchanged]
            stats.unchanged += len(parsed) - len(changed)
            stats.new += len(changed)
            if storing is not None:
                tally(storing.result())
                stats.load_seconds += time.perf_counter() - t1
            storing = storer.submit(store, conn, run_id, changed) if changed else None
        if storing is not None:
            t1 = time.perf_counter()
            tally(storing.result())
            stats.load_seconds += time.perf_counter() - t1
        stats.reader_crashes = pool.crashes
    if analyze and (stats.loaded or stats.rejected):
        analyze_raw(conn)
    return stats


def analyze_raw(conn) -> None:
    with conn.cursor() as cur:  # fresh statistics for the plans of tonight's dbt and rule queries
        cur.execute("analyze raw.files")
        cur.execute("analyze raw.facts")
    conn.commit()


def split_plan(plan: FilePlan, files_per_batch: int) -> list[list[dict]]:
    """The new files as batches of plain records (Candidate fields) for tasks that may run on several machines.

    Every version of one unit's files stays in one batch, in plan order: a batch commits its files in
    order, so a newer version of a unit-quarter still gets the higher file_id whichever batch commits first."""
    groups: dict[str | None, list[dict]] = {}
    for c in plan.new:
        groups.setdefault(c.file.unit_code or c.file.rel, []).append(_record(c))
    batches: list[list[dict]] = []
    current: list[dict] = []
    for group in groups.values():
        if current and len(current) + len(group) > files_per_batch:
            batches.append(current)
            current = []
        current.extend(group)
    if current:
        batches.append(current)
    return batches


def _record(c: Candidate) -> dict:
    f = c.file
    # The path below the inbox as it is on disk (a name that is not UTF-8 keeps its bytes; rel is for display).
    below = Path(*f.path.parts[-len(f.rel.split("/")):]).as_posix()
    return {"below": below, "rel": f.rel, "size": f.size, "mtime": f.mtime, "unit_code": f.unit_code, "year": f.year,
            "quarter": f.quarter, "problem": f.problem, "problem_code": f.problem_code,
            "problem_detail": f.problem_detail, "previous_hash": c.previous_hash, "retry": c.retry,
            "folder_files": list(c.folder_files)}


def _candidate(inbox: Path, r: dict) -> Candidate:
    """A record of split_plan back as the Candidate it was, under this worker's view of the shared inbox."""
    f = InboxFile(inbox / r["below"], r["rel"], r["size"], r["mtime"], r["unit_code"], r["year"], r["quarter"],
                  r["problem"], r["problem_code"], r["problem_detail"])
    return Candidate(f, r["previous_hash"], r["retry"], tuple(r["folder_files"]))


def ingest_batch(conn, run_id: str, inbox: Path, items: list[dict], *, parser: str = "calamine",
                 registry: Registry | None = None, workers: int | None = None) -> IngestStats:
    """One batch of tonight's plan (split_plan), on whichever worker takes it.

    Reads only the shared inbox and the warehouse. Rerunning a batch is safe: files this run
    already stored (the batch commits whole groups of files) are not stored twice. A file gone
    since discovery is rejected as vanished by its reader and tried again the next night."""
    with conn.cursor() as cur:  # a run stores each path once
        cur.execute("select path from raw.files where run_id = %s and path = any(%s)",
                    (run_id, [r["rel"] for r in items]))
        done = {path for (path,) in cur.fetchall()}
    new = [_candidate(inbox, r) for r in items if r["rel"] not in done]
    plan = FilePlan(found=len(items), new=new, unchanged=len(items) - len(new))
    return ingest(conn, run_id, inbox, parser=parser, registry=registry, workers=workers, plan=plan, analyze=False)
