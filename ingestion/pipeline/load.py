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
from typing import Callable

import psycopg2
from psycopg2.extras import execute_values

from .. import progress
from ..indicators import load_catalog
from ..isolation import IsolatedPool
from ..registry import Registry, title_names_unit
from ..submission import FileSubmission, Period, SubmissionSource, read_submissions, reader
from ..warehouse.copy import NULL, copy_field, copy_line, copy_lines, copy_rows, needs_escape
from ..workbook.extract import Fact
from ..workbook.ooxml import UnreadableFile
from .background import Background
from .inbox import InboxFile, content_hash, scan_inbox
from .versions import folder_listing, load_order

log = logging.getLogger(__name__)

# Rejections caused by something outside the file; the same bytes are tried again next night.
RETRYABLE_REJECTIONS = {"unknown_unit", "read_timeout", "read_error", "no_permission", "vanished", "unreadable_folder"}
BATCH_SIZE = 250
NOTHING_READ = content_hash(b"")  # the hash recorded for an entry that was refused without reading it

FACT_COLUMNS = ("file_id", "sheet", "row_number", "col_number", "form", "stt", "label", "unit_text", "raw_value",
                "value", "numerator", "denominator", "kind", "indicator", "match", "note", "legend", "scope")
ISSUE_COLUMNS = ("file_id", "sheet", "row_number", "severity", "code", "message")
ISSUE_FIELDS = ("sheet", "row", "severity", "code", "message")  # of Issue, for ISSUE_COLUMNS after file_id
NARRATIVE_COLUMNS = ("file_id", "paragraph_number", "position", "sentence", "indicator", "scope", "value", "raw_value",
                     "kind", "comparable", "levels", "pattern")
# Of NarrativeFigure, for NARRATIVE_COLUMNS after file_id.
NARRATIVE_FIELDS = ("paragraph", "position", "sentence", "indicator", "scope", "value", "raw", "kind", "compare",
                    "levels", "pattern")


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
class Rejection:
    code: str
    message: str  # for the unit (Vietnamese)
    detail: str | None = None  # the technical cause, for audit.rejected_files.details
    errors: list[str] = field(default_factory=list)  # every error found in the file


@dataclass
class Parsed:
    """A file's submission as the load stores it; picklable, so worker processes return it."""
    submission: FileSubmission  # its figures travel as fact_text, formatted in the worker
    parser: str
    folder_files: tuple[str, ...] = ()
    fact_text: str = ""  # its figures in COPY text format, FACT_COLUMNS without file_id, a line each (fact_copy_text)
    n_facts: int = 0
    title_unit_matches: bool | None = None
    rejection: Rejection | None = None

    @property
    def rel(self) -> str:
        return self.submission.file.path

    @property
    def unchanged(self) -> bool:
        return self.submission.unchanged

    @property
    def fact_lines(self) -> list[str]:
        return self.fact_text.split("\n") if self.n_facts else []

    def reject(self, code: str, message: str, detail: str | None = None) -> "Parsed":
        self.rejection = Rejection(code, message, detail, [message])
        self.fact_text, self.n_facts = "", 0
        self.submission.issues, self.submission.narrative = [], []
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


def plan_files(conn, inbox: Path, listing: Background | None = None) -> FilePlan:
    """What to read tonight, from the inbox listing and what raw.files recorded (nothing is read here).

    ``listing``: ``scan_inbox(inbox)`` already started by the caller (``start_listing``). Either way the
    listing runs beside the query: on a night whose disk cache is cold, each waits on its own disk reads
    (the folders here, raw.files in the database's process)."""
    listing = listing if listing is not None else start_listing(inbox)
    with listing, conn.cursor() as cur:
        cur.execute("""select distinct on (path) path, content_hash, status, reject_code, size_bytes,
                              extract(epoch from modified_at)::float8  -- a float, not a Decimal per file
                       from raw.files order by path, file_id desc""")
        latest = {row[0]: row[1:] for row in cur.fetchall()}
    files = listing.join()
    changed, unchanged = [], 0
    for f in files:  # every file of the history, nearly all unchanged: the least work each
        prev = latest.get(f.rel)
        if prev is not None and prev[3] == f.size and prev[4] is not None and abs(prev[4] - f.mtime) < 1e-3 \
                and not _retryable(prev):
            unchanged += 1  # same size and modification time as the recorded version: not re-read
        else:
            changed.append(f)
    # Only the folders that hold a file read tonight are listed for it.
    wanted = {(f.unit_code, f.year, f.quarter) for f in changed if f.problem_code is None}
    folders = folder_listing(f for f in files if (f.unit_code, f.year, f.quarter) in wanted) if wanted else {}
    new = []
    for f in load_order(changed):
        prev = latest.get(f.rel)
        retry = prev is not None and _retryable(prev)
        folder = tuple(folders.get((f.unit_code, f.year, f.quarter), ())) if f.problem_code is None else ()
        new.append(Candidate(f, prev[0] if prev else None, retry, folder))
    return FilePlan(found=len(files), new=new, unchanged=unchanged)


def start_listing(inbox: Path) -> Background:
    """``scan_inbox(inbox)`` in a thread, for ``plan_files``: a history of tens of thousands of files is
    listed every night, and cold that takes seconds of disk reads the night can spend on something else."""
    return Background(scan_inbox, inbox, name="cchc-inbox-listing")


def _retryable(recorded: tuple) -> bool:
    """A recorded version rejected for a cause outside the file (a unit not yet in the registry, a disk
    error): read again whether or not the file changed."""
    return recorded[1] == "rejected" and recorded[2] in RETRYABLE_REJECTIONS


def source_of(c: Candidate, unit_names: dict[str, str] | None) -> SubmissionSource:
    """What the night knows of a file before reading it: its folder's unit and quarter, the hash
    already loaded, and whether it is refused whatever it holds."""
    f = c.file
    refusal = None
    if f.problem:
        refusal = UnreadableFile(f.problem_code or "bad_path", f.problem, f.problem_detail)
    elif unit_names is not None and f.unit_code not in unit_names:
        refusal = UnreadableFile("unknown_unit", f"mã đơn vị “{f.unit_code}” không có trong danh mục đơn vị; "
                                                 "bổ sung vào danh mục rồi tệp sẽ được nạp lại")
    return SubmissionSource(f.location, f.rel, f.unit_code, Period(f.year, f.quarter) if f.year else None,
                            size=f.size, mtime=f.mtime, unchanged_hash=None if c.retry else c.previous_hash,
                            refusal=refusal, refuse_unread=f.problem_code in ("not_a_file", "unreadable_folder"))


def staged(sub: FileSubmission, parser: str, unit_names: dict[str, str] | None) -> Parsed:
    """A submission as the load stores it, in the worker that read it: figures formatted for COPY."""
    p = Parsed(sub, parser)
    if sub.unreadable is not None:
        error = sub.unreadable
        return p.reject(error.code, error.message, error.detail)
    if sub.unchanged:
        return p
    p.title_unit_matches = title_names_unit(sub.title_unit, (unit_names or {}).get(sub.unit_code))
    if sub.errors:
        errors = [i.message for i in sub.errors]
        message = "; ".join(errors[:20]) + (f" (và {len(errors) - 20} lỗi khác)" if len(errors) > 20 else "")
        p.rejection = Rejection(sub.errors[0].code, message, None, errors)
        sub.issues, sub.narrative = [], []
    else:
        p.fact_text, p.n_facts = fact_copy_text(sub.facts), len(sub.facts)
    sub.facts = []  # they travel as fact_text
    return p


def _fact_row(fa: Fact) -> tuple:
    """A figure's FACT_COLUMNS after file_id."""
    return (fa.sheet, fa.row, fa.column + 1, fa.form, fa.stt, fa.label, fa.unit, fa.raw, fa.value, fa.numerator,
            fa.denominator, fa.kind, fa.indicator, fa.match, fa.note, fa.legend, fa.scope)


def fact_copy_text(facts: list[Fact]) -> str:
    """The figures as ``copy_line`` writes them, a line each, joined by line feeds: one string a file
    crosses from the worker and is given its file_id in one ``replace`` (a line never holds a raw line
    feed). Written out column by column for the usual figure, whose texts need no escape: the general
    formatting, run for each of the 17 columns of every figure, cost a worker 0.45-0.55 ms of a file's
    3.7 ms; written out, 0.3 ms."""
    lines = []
    for fa in facts:
        stt, unit, raw, indicator, note, legend, form = fa.stt, fa.unit, fa.raw, fa.indicator, fa.note, fa.legend, fa.form
        if needs_escape(f"{fa.sheet}{stt or ''}{fa.label}{unit or ''}{raw or ''}{indicator or ''}{note or ''}{legend or ''}"
                        f"{fa.kind}{fa.match}{fa.scope}"):
            lines.append(copy_line(_fact_row(fa)))
            continue
        lines.append(f"{fa.sheet}\t{fa.row}\t{fa.column + 1}\t{NULL if form is None else form}\t"
                     f"{NULL if stt is None else stt}\t{fa.label}\t{NULL if unit is None else unit}\t"
                     f"{NULL if raw is None else raw}\t{copy_field(fa.value)}\t{copy_field(fa.numerator)}\t"
                     f"{copy_field(fa.denominator)}\t{fa.kind}\t{NULL if indicator is None else indicator}\t{fa.match}\t"
                     f"{NULL if note is None else note}\t{NULL if legend is None else legend}\t{fa.scope}")
    return "\n".join(lines)


def parse_isolated(pool: IsolatedPool, batch: list[Candidate], finish: Callable[[FileSubmission], Parsed],
                   unit_names: dict[str, str] | None, counter: progress.Counter | None = None) -> list[Parsed]:
    """Parse a batch in the pool's workers (made with ``submission.reader(..., finish)``); a file whose
    worker failed comes back rejected."""
    parsed = read_submissions([source_of(c, unit_names) for c in batch], pool=pool, finish=finish, logger=log,
                              on_settled=counter.add if counter is not None else None)
    for c, p in zip(batch, parsed):
        p.folder_files = c.folder_files
    return parsed


REJECTION_COLUMNS = ("run_id", "file_id", "path", "content_hash", "unit_code", "year", "quarter", "reason_code",
                     "message", "details")
DB_REFUSED = ("db_refused", "một số nội dung trong tệp không lưu được vào kho dữ liệu (ký tự lạ, con số quá dài "
                            "hoặc tên trang tính bất thường); hãy kiểm tra các ô đó, lưu lại rồi gửi lại")


@dataclass
class Stored:
    """What storing a batch did."""
    loaded: int = 0
    rejected: int = 0
    facts: int = 0
    rejections: list[dict] = field(default_factory=list)  # path, reason, message of each rejected file

    def add(self, other: "Stored") -> None:
        self.loaded, self.rejected, self.facts = self.loaded + other.loaded, self.rejected + other.rejected, \
            self.facts + other.facts
        self.rejections.extend(other.rejections)


def _file_row(p: Parsed, run_id: str) -> tuple:
    sub, rejection = p.submission, p.rejection
    title_period = sub.title_period
    return (p.rel, sub.file.content_hash or NOTHING_READ, sub.file.size,
            dt.datetime.fromtimestamp(sub.file.mtime, dt.UTC), sub.unit_code,
            sub.period.year if sub.period else None, sub.period.quarter if sub.period else None,
            "rejected" if rejection else "loaded", run_id, p.parser, p.n_facts,
            sub.title, title_period.year if title_period else None, title_period.quarter if title_period else None,
            sub.title_unit, p.title_unit_matches, rejection.code if rejection else None,
            rejection.message if rejection else None, list(p.folder_files), sub.source_format)


def _store(conn, run_id: str, parsed: list[Parsed]) -> Stored:
    """One transaction for the batch: files, their facts and issues, and rejections."""
    out = Stored()
    with conn.cursor() as cur:
        rows = [_file_row(p, run_id) for p in parsed]
        ids = execute_values(cur, """
            insert into raw.files (path, content_hash, size_bytes, modified_at, unit_code, year, quarter, status,
                                   run_id, parser, n_facts, title, title_year, title_quarter, title_unit,
                                   title_unit_matches, reject_code, reject_message, folder_files, source_format)
            values %s returning file_id""", rows, template="(" + ", ".join(["%s"] * 18) + ", %s::text[], %s)",
                             page_size=len(rows), fetch=True)
        fact_rows, issue_rows, reject_rows, narrative_rows = [], [], [], []
        for (file_id,), p in zip(ids, parsed):
            sub, rejection = p.submission, p.rejection
            if rejection:
                out.rejected += 1
                details = {"errors": rejection.errors} | ({"detail": rejection.detail} if rejection.detail else {})
                reject_rows.append((run_id, file_id, p.rel, sub.file.content_hash or NOTHING_READ, sub.unit_code,
                                    sub.period.year if sub.period else None, sub.period.quarter if sub.period else None,
                                    rejection.code, rejection.message, details))
                out.rejections.append({"path": p.rel, "reason": rejection.code, "message": rejection.message})
                log.info("rejected %s: %s%s", p.rel, rejection.code, f" ({rejection.detail})" if rejection.detail else "")
            else:
                out.loaded += 1
                out.facts += p.n_facts
                if p.n_facts:
                    prefix = f"{file_id}\t"
                    fact_rows.append(prefix + p.fact_text.replace("\n", "\n" + prefix))
                issue_rows.extend((file_id, *(getattr(i, name) for name in ISSUE_FIELDS)) for i in sub.issues)
                narrative_rows.extend((file_id, *(getattr(n, name) for name in NARRATIVE_FIELDS)) for n in sub.narrative)
        copy_lines(cur, "raw.facts", FACT_COLUMNS, fact_rows)
        copy_rows(cur, "raw.narrative_figures", NARRATIVE_COLUMNS, narrative_rows)
        copy_rows(cur, "raw.parse_issues", ISSUE_COLUMNS, issue_rows)
        copy_rows(cur, "audit.rejected_files", REJECTION_COLUMNS, reject_rows)
    conn.commit()
    return out


def _refused_by_database(exc: Exception) -> bool:
    """An error the file's content caused (bad data, duplicate key, a value past a limit), not the server."""
    if isinstance(exc, (ValueError, UnicodeError)):  # psycopg2 refuses NUL characters before sending
        return True
    code = getattr(exc, "pgcode", None) or ""
    return isinstance(exc, psycopg2.Error) and code[:2] in ("22", "23", "54")


def _store_each(conn, run_id: str, parsed: list[Parsed]) -> Stored:
    """After a batch failed on content: each file on its own, the one the database refuses rejected."""
    totals = Stored()
    for p in parsed:
        try:
            result = _store(conn, run_id, [p])
        except Exception as exc:
            conn.rollback()
            if not _refused_by_database(exc):
                raise
            log.error("the database refused the content of %s: %s", p.rel, exc)
            p.reject(*DB_REFUSED, f"{type(exc).__name__}: {str(exc).strip()}"[:2000])
            p.submission.title = p.submission.title_unit = None
            result = _store(conn, run_id, [p])
        totals.add(result)
    return totals


def store(conn, run_id: str, parsed: list[Parsed]) -> Stored:
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
    finish = functools.partial(staged, parser=parser, unit_names=names)

    def tally(result: Stored) -> None:
        stats.loaded += result.loaded
        stats.rejected += result.rejected
        stats.facts += result.facts
        stats.rejected_files.extend(result.rejections)
        progress.say("load", f"{progress.number(stats.loaded + stats.rejected)}/{progress.number(stats.new)} "
                             f"tệp trong kho / files stored, {progress.number(stats.facts)} số liệu / figures")

    # While one batch is stored (by the one thread that uses the connection), the workers parse
    # the next: "load" counts only the time spent waiting for a store, so parse + load is the wall time.
    progress.say("parse", f"{progress.number(len(plan.new))} tệp mới hoặc đã sửa / new or changed, "
                          f"{progress.number(plan.unchanged)} không đổi / unchanged; "
                          f"{workers} tiến trình / processes, {parser}")
    counter = progress.Counter("parse", len(plan.new), "tệp / files")
    with IsolatedPool(reader(parser, load_catalog(), finish), workers) as pool, ThreadPoolExecutor(1, thread_name_prefix="store") as storer:
        storing = None
        for start in range(0, len(plan.new), batch_size):
            batch = plan.new[start:start + batch_size]
            t0 = time.perf_counter()
            parsed = parse_isolated(pool, batch, finish, names, counter)
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
        analyze_raw(conn, stats.loaded + stats.rejected, stats.facts)
    return stats


def analyze_raw(conn, files: int, facts: int) -> None:
    """Fresh statistics for the plans of tonight's dbt and rule queries, when tonight's ``files`` and
    ``facts`` are enough of the tables to move them (audit.analyze_if_stale): a 1 % correction of a long
    history is not, and ANALYZE of the figures alone cost a second there."""
    with conn.cursor() as cur:
        cur.execute("select audit.analyze_if_stale('raw.files'::regclass, %s), "
                    "audit.analyze_if_stale('raw.facts'::regclass, %s)", (files, facts))
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
    f = InboxFile(os.fspath(inbox / r["below"]), r["rel"], r["size"], r["mtime"], r["unit_code"], r["year"], r["quarter"],
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
