"""One path from a report file to a submission: `cchc check` and the nightly load see the same file alike."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from ingestion import submission
from ingestion.check import check_files
from ingestion.indicators import load_catalog
from ingestion.isolation import IsolatedPool
from ingestion.pipeline import load
from ingestion.pipeline.inbox import scan_inbox
from ingestion.submission import FileIdentity, Period, SubmissionSource, read_submission, read_submissions
from seed_documents import build_document
from seed_workbooks import build

CRASH_MARKER = b"CRASH-THE-READER"


@pytest.fixture(scope="module")
def inbox(tmp_path_factory) -> Path:
    """A unit's folder with a workbook, a Word report, a typed workbook with figures as text, and a PDF."""
    root = tmp_path_factory.mktemp("inbox")
    build("000", root / "79001" / "2024-Q1" / "phu_luc.xlsx")
    build_document("002", root / "79002" / "2024-Q2" / "bao_cao.docx")
    build("003", root / "79003" / "2024-Q3" / "phu_luc.xlsx", typed=True)
    (root / "79004" / "2024-Q1").mkdir(parents=True)
    (root / "79004" / "2024-Q1" / "bao_cao.xlsx").write_bytes(b"%PDF-1.4 not a workbook")
    return root


def _load_view(inbox: Path) -> dict[str, load.Parsed]:
    """Every file of the inbox as the nightly load parses it (its pool, its sources, its staging)."""
    plan_files = [load.Candidate(f, None) for f in scan_inbox(inbox)]
    finish = lambda sub: load.staged(sub, "calamine", None)  # noqa: E731 - forked, never pickled
    with IsolatedPool(submission.reader("calamine", load_catalog(), finish), 2) as pool:
        parsed = load.parse_isolated(pool, plan_files, finish, None)
    return {p.rel: p for p in parsed}


def test_check_and_the_load_read_the_same_figures_from_the_same_file(inbox):
    files = sorted(p for p in inbox.rglob("*") if p.is_file())
    checked = {Path(r.path).relative_to(inbox).as_posix(): r for r in check_files(files).files}
    staged = _load_view(inbox)
    assert set(checked) == set(staged) and len(staged) == 4
    for rel, result in checked.items():
        p = staged[rel]
        if result.submission is None:  # unreadable for check: rejected by the load, for the same reason
            assert p.rejection is not None and p.rejection.code == "not_xlsx", rel
            assert result.errors == [{"message": f"{inbox / rel}: {p.rejection.message}"}]
            continue
        sub = result.submission
        assert sub.unit_code == p.submission.unit_code and sub.period == p.submission.period, rel
        assert sub.file.content_hash == p.submission.file.content_hash, rel
        assert sub.title_period == p.submission.title_period and sub.title_unit == p.submission.title_unit, rel
        # The figures check evaluates are the ones the load stages, row for row.
        copied = [line.split("\t") for line in p.fact_lines]
        assert len(copied) == len(sub.facts) == result.facts > 0, rel
        assert [(c[0], int(c[1]), int(c[2]), c[12] if c[12] != r"\N" else None) for c in copied] == \
            [(f.sheet, f.row, f.column + 1, f.indicator) for f in sub.facts], rel
    assert checked["79002/2024-Q2/bao_cao.docx"].submission.source_format == "docx"
    assert checked["79002/2024-Q2/bao_cao.docx"].submission.narrative


def test_a_submission_has_named_fields_from_the_folder_and_the_title(inbox):
    path = inbox / "79001" / "2024-Q1" / "phu_luc.xlsx"
    sub = read_submission(SubmissionSource.given(path))
    assert (sub.unit_code, sub.period, str(sub.period)) == ("79001", Period(2024, 1), "2024-Q1")
    assert sub.file == FileIdentity(str(path), sub.file.content_hash, path.stat().st_size, path.stat().st_mtime)
    assert len(sub.file.content_hash) == 64 and sub.read and sub.unreadable is None
    assert sub.title_period == Period(2024, 1) and sub.source_format == "xlsx"
    assert all(f.sheet and f.row for f in sub.facts)


def test_the_same_bytes_are_hashed_not_parsed_again_and_a_refusal_comes_after_the_hash(inbox):
    path = inbox / "79001" / "2024-Q1" / "phu_luc.xlsx"
    first = read_submission(SubmissionSource.given(path))
    again = read_submission(SubmissionSource(str(path), "x", unchanged_hash=first.file.content_hash))
    assert again.unchanged and not again.facts and again.file.content_hash == first.file.content_hash
    refused = read_submission(SubmissionSource(str(path), "x", refusal=submission.UnreadableFile("unknown_unit", "m")))
    assert refused.unreadable.code == "unknown_unit" and refused.file.content_hash == first.file.content_hash
    unread = read_submission(SubmissionSource(str(path), "x", size=7, mtime=1.0, refuse_unread=True,
                                              refusal=submission.UnreadableFile("not_a_file", "m")))
    assert unread.unreadable.code == "not_a_file" and unread.file == FileIdentity("x", None, 7, 1.0)


def test_a_reader_that_dies_costs_its_file_only_and_the_file_keeps_its_hash(inbox, tmp_path, monkeypatch):
    good = inbox / "79001" / "2024-Q1" / "phu_luc.xlsx"
    bad = tmp_path / "79009" / "2024-Q1" / "phu_luc.xlsx"
    bad.parent.mkdir(parents=True)
    shutil.copy(good, bad)
    with open(bad, "ab") as fh:
        fh.write(CRASH_MARKER)
    real = submission.read_report_bytes

    def aborting(data, *args, **kw):
        if CRASH_MARKER in data:
            os.abort()  # as a native reader's panic would
        return real(data, *args, **kw)

    monkeypatch.setattr(submission, "read_report_bytes", aborting)
    subs = read_submissions([SubmissionSource.given(p) for p in (good, bad, good)], workers=2)
    assert [s.unreadable is None for s in subs] == [True, False, True]
    assert subs[1].unreadable.code == "reader_crashed" and subs[1].unit_code == "79009"
    assert subs[1].file.content_hash is not None and subs[1].file.size == bad.stat().st_size
    assert subs[0].facts and [f.value for f in subs[0].facts] == [f.value for f in subs[2].facts]


@pytest.mark.parametrize("name, says, never", [("bao_cao_q3.docx", "Word", "Excel"), ("phu_luc.xlsx", "Excel", "Word")])
@pytest.mark.parametrize("reason", ["crashed", "memory", "error"])
def test_a_failed_reader_tells_the_unit_to_resave_in_the_program_that_made_the_file(name, says, never, reason):
    from ingestion.isolation import Failure
    from ingestion.workbook.read import failure_error

    message = failure_error(Failure(reason, "SIGSEGV"), name).message
    assert says in message and never not in message, message
