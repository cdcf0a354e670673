"""One path from a report file to a submission, for `cchc check` and the nightly load alike.

A file (a workbook or a Word report) is read once, its bytes hashed, and parsed in an isolated
reader process (isolation.py): a reader that crashes, hangs or runs out of memory costs only its
own file, which comes back as a submission that could not be read. What the caller knew before
reading (the unit and quarter its folder names, a reason to refuse it) travels with the file as a
``SubmissionSource``; what the file says comes back as a ``FileSubmission``: its identity, the
figures of its forms with their provenance, a Word report's narrative figures, its title and the
problems met while parsing.
"""
from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Callable, Sequence

from .document.narrative import NarrativeFigure
from .indicators import Catalog, load_catalog
from .isolation import Failure, IsolatedPool, report_progress, run_isolated
from .pipeline.inbox import read_regular_file, unit_and_period_from_path
from .workbook.extract import Fact, Issue
from .workbook.ooxml import UnreadableFile
from .workbook.read import failure_error, read_report_bytes

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Period:
    year: int
    quarter: int

    def __str__(self) -> str:
        return f"{self.year}-Q{self.quarter}"


@dataclass(frozen=True)
class FileIdentity:
    """Which bytes a submission is: ``content_hash`` is the SHA-256 of exactly the bytes parsed
    (None when nothing could be read); size and modification time as read, else as listed."""
    path: str
    content_hash: str | None = None
    size: int | None = None
    mtime: float | None = None


@dataclass(frozen=True)
class SubmissionSource:
    """A file to read, and what is known of it before it is read."""
    path: str  # where to open it
    name: str  # how to name it to people: its place under the inbox, or the path as given
    unit_code: str | None = None  # from the folder convention <unit>/<year>-Q<quarter>/
    period: Period | None = None
    size: int | None = None  # as listed, for a file refused without being read
    mtime: float | None = None
    follow_symlinks: bool = False  # a path someone names on the command line may be a link; the inbox's never is
    unchanged_hash: str | None = None  # bytes with this hash were loaded already: hash them, do not parse again
    refusal: UnreadableFile | None = None  # refuse the file (after hashing its bytes, unless refuse_unread)
    refuse_unread: bool = False  # refuse without opening it at all (not a regular file)

    @classmethod
    def given(cls, path: str | Path) -> "SubmissionSource":
        """A path given to a command: unit and quarter from its folders when they follow the convention."""
        unit, year, quarter = unit_and_period_from_path(path)
        return cls(str(path), str(path), unit, Period(year, quarter) if year else None, follow_symlinks=True)


@dataclass
class FileSubmission:
    """A report file as read: who sent it for when (from its folder), what it says, what went wrong."""
    file: FileIdentity
    unit_code: str | None
    period: Period | None  # from the folder; None off the inbox convention
    facts: list[Fact] = field(default_factory=list)  # every figure of the forms, with sheet/table, row, column
    narrative: list[NarrativeFigure] = field(default_factory=list)  # figures a Word report's text states
    issues: list[Issue] = field(default_factory=list)  # parse problems on rows and cells (errors, warnings, notes)
    title: str | None = None
    title_period: Period | None = None  # the quarter the report's title names
    title_unit: str | None = None  # the unit the report's title or letterhead names
    level_hint: str | None = None  # the organisation level its title suggests
    source_format: str | None = None  # xlsx | docx
    unreadable: UnreadableFile | None = None  # the whole file could not be read: why
    unchanged: bool = False  # read, and byte for byte the version already loaded (not parsed)
    seconds: float = 0.0

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "error"]

    @property
    def read(self) -> bool:
        """Parsed into figures (possibly with errors on some cells)."""
        return self.unreadable is None and not self.unchanged


def read_submission(source: SubmissionSource, engine: str = "calamine", catalog: Catalog | None = None) -> FileSubmission:
    """Read one file once and parse it; never raises (a file that cannot be read says why)."""
    started = time.perf_counter()
    sub = FileSubmission(FileIdentity(source.name, None, source.size, source.mtime), source.unit_code, source.period)
    if source.refuse_unread:
        sub.unreadable = source.refusal
        return sub
    try:
        data, st = read_regular_file(source.path, follow_symlinks=source.follow_symlinks)
    except UnreadableFile as exc:
        sub.unreadable = exc
        return sub
    sub.file = FileIdentity(source.name, hashlib.sha256(data).hexdigest(), len(data), st.st_mtime)
    report_progress(sub.file)  # should the reader crash, the file is still named by its bytes
    if sub.file.content_hash == source.unchanged_hash:
        sub.unchanged = True
        return sub
    try:
        if source.refusal is not None:
            raise source.refusal
        ex = read_report_bytes(data, engine, catalog or load_catalog(), Path(source.path).name)
    except UnreadableFile as exc:
        sub.unreadable = exc
    except MemoryError:
        sub.unreadable = failure_error(Failure("memory", "MemoryError"), source.name)
    except Exception as exc:  # a reader bug: this file is unreadable, the batch goes on
        log.exception("unexpected error reading %s", source.name)
        sub.unreadable = failure_error(Failure("error", f"{type(exc).__name__}: {exc}"), source.name)
    else:
        sub.facts, sub.narrative, sub.issues = ex.facts, ex.narrative, ex.issues
        sub.title, sub.title_unit, sub.level_hint, sub.source_format = ex.title, ex.title_unit, ex.level_hint, ex.source_format
        sub.title_period = Period(*ex.title_period) if ex.title_period else None
    sub.seconds = time.perf_counter() - started
    return sub


def failed_submission(source: SubmissionSource, failure: Failure) -> FileSubmission:
    """The submission of a file whose reader died, hung or ran out of memory in its worker."""
    identity = failure.progress if isinstance(failure.progress, FileIdentity) else \
        FileIdentity(source.name, None, source.size, source.mtime)
    return FileSubmission(identity, source.unit_code, source.period, unreadable=failure_error(failure, source.name))


def _read_and_finish(source: SubmissionSource, engine: str, catalog: Catalog | None,
                     finish: Callable[[FileSubmission], Any] | None) -> Any:
    sub = read_submission(source, engine, catalog)
    return finish(sub) if finish is not None else sub


def reader(engine: str = "calamine", catalog: Catalog | None = None,
           finish: Callable[[FileSubmission], Any] | None = None) -> Callable[[SubmissionSource], Any]:
    """The work of an isolated reader process. ``finish`` turns each submission into what the caller
    keeps, in the worker (the nightly load formats its figures for COPY there). The catalog reaches
    the workers when they start, never once per file."""
    return partial(_read_and_finish, engine=engine, catalog=catalog, finish=finish)


def settle(sources: Sequence[SubmissionSource], results: Sequence[Any],
           finish: Callable[[FileSubmission], Any] | None = None, logger: logging.Logger | None = None) -> list[Any]:
    """Results of ``reader`` work in a pool: a ``Failure`` becomes the unreadable submission of its file."""
    out = []
    for source, result in zip(sources, results):
        if isinstance(result, Failure):
            if logger is not None:
                logger.error("reading %s failed in its worker (%s): %s", source.name, result.reason, result.detail)
            sub = failed_submission(source, result)
            result = finish(sub) if finish is not None else sub
        out.append(result)
    return out


def read_submissions(sources: Sequence[SubmissionSource], engine: str = "calamine", catalog: Catalog | None = None,
                     *, pool: IsolatedPool | None = None, finish: Callable[[FileSubmission], Any] | None = None,
                     on_settled: Callable[[], None] | None = None, logger: logging.Logger | None = None,
                     **pool_options) -> list[Any]:
    """Every source read in isolated reader processes, in order. With ``pool`` (made with ``reader``,
    the same ``finish``) its workers are reused; otherwise workers are started for these files."""
    if not sources:
        return []
    if pool is not None:
        results = pool.map(sources, on_settled)
    else:
        results = run_isolated(reader(engine, catalog or load_catalog(), finish), sources, **pool_options)
    return settle(sources, results, finish, logger)
