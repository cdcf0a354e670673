"""Discover lists the inbox beside its query of raw.files: on a cold disk each waits on its own reads."""
from __future__ import annotations

import os
import threading
import time

import pytest

from ingestion.pipeline import load

WAIT = 10  # seconds: far more than either side needs here; a side that never comes fails the test


def _put(root, rel: str) -> os.stat_result:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * len(rel))
    return path.stat()


class _Raw:
    """A connection whose only query is discover's, answered with ``rows`` once ``before`` lets it."""

    def __init__(self, rows, before):
        self.rows, self.before, self.queried = rows, before, threading.Event()

    def cursor(self):
        return self

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def execute(self, sql, *args):
        assert "from raw.files" in sql
        self.queried.set()
        self.before()

    def fetchall(self):
        return self.rows


def test_the_listing_and_the_query_of_raw_files_run_side_by_side(tmp_path, monkeypatch):
    st = _put(tmp_path, "T01X0001/2026-Q3/bao_cao.xlsx")
    _put(tmp_path, "T01X0002/2026-Q3/bao_cao.xlsx")
    listed = threading.Event()
    real_scan = load.scan_inbox

    def scan(inbox):
        # The listing waits until the query has started: listed after the query, or the query after the
        # listing, and one of the two waits in vain.
        assert conn.queried.wait(WAIT), "the listing ran before the query, not beside it"
        try:
            return real_scan(inbox)
        finally:
            listed.set()

    def query_waits_for_listing():
        assert listed.wait(WAIT), "the query ran before the listing, not beside it"

    recorded = [("T01X0001/2026-Q3/bao_cao.xlsx", "h1", "loaded", None, st.st_size, st.st_mtime)]
    conn = _Raw(recorded, query_waits_for_listing)
    monkeypatch.setattr(load, "scan_inbox", scan)
    plan = load.plan_files(conn, tmp_path)
    assert (plan.found, plan.unchanged) == (2, 1)
    assert [c.file.rel for c in plan.new] == ["T01X0002/2026-Q3/bao_cao.xlsx"]


def test_a_listing_started_by_the_caller_is_the_one_used(tmp_path, monkeypatch):
    _put(tmp_path, "T01X0001/2026-Q3/bao_cao.xlsx")
    listing = load.start_listing(tmp_path)
    listing.join()
    _put(tmp_path, "T01X0002/2026-Q3/bao_cao.xlsx")  # after that listing: not in tonight's plan
    monkeypatch.setattr(load, "scan_inbox", lambda inbox: pytest.fail("listed a second time"))
    plan = load.plan_files(_Raw([], lambda: None), tmp_path, listing)
    assert [c.file.rel for c in plan.new] == ["T01X0001/2026-Q3/bao_cao.xlsx"]


def test_a_failed_query_waits_for_the_listing_and_is_raised(tmp_path, monkeypatch):
    _put(tmp_path, "T01X0001/2026-Q3/bao_cao.xlsx")
    real_scan, ended = load.scan_inbox, threading.Event()

    def slow_scan(inbox):
        time.sleep(0.3)  # still listing when the query fails
        try:
            return real_scan(inbox)
        finally:
            ended.set()

    def fails():
        raise RuntimeError("the server went away")

    monkeypatch.setattr(load, "scan_inbox", slow_scan)
    with pytest.raises(RuntimeError, match="went away"):
        load.plan_files(_Raw([], fails), tmp_path)
    assert ended.is_set()  # not left listing behind the error
