"""The inbox listing: which unit and quarter each file is filed under, and what is off the convention.

scan_inbox builds the usual file's entry itself (one folder's unit and quarter read once); every
other entry goes through the general path. Both must say the same of the same file.
"""
from __future__ import annotations

import os
from pathlib import Path

from ingestion.pipeline.inbox import read_regular_file, scan_inbox


def _put(root: Path, rel: bytes, body: bytes = b"x") -> None:
    path = os.path.join(os.fsencode(root), rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(body)


def test_each_file_is_filed_under_its_folders_unit_and_quarter(tmp_path):
    for rel in (b"T01X0001/2026-Q3/bao_cao.xlsx", b"T01X0001/2026-Q2/bao_cao.xlsx", b"T01X0002/2026-q4/a.docx",
                b"T01X0002/2026-Q3/.an.xlsx", b"T01X0002/2026-Q3/~$bao_cao.xlsx",  # hidden; an Excel lock file
                b"T01X0003/2026-Q3/cu/bao_cao.xlsx", b"T01X0003/bao_cao.xlsx", b"bao_cao.xlsx",  # off the convention
                b"T01X0003/2026-Q5/bao_cao.xlsx", b"T01X\xff4/2026-Q3/b\xe1o_c\xe1o.xlsx"):  # no quarter 5; not UTF-8
        _put(tmp_path, rel, rel)
    found = {f.rel: f for f in scan_inbox(tmp_path)}
    assert list(found) == sorted(found)  # listed in path order
    filed = {rel: (f.unit_code, f.year, f.quarter, f.problem_code) for rel, f in found.items()}
    assert filed == {
        "T01X0001/2026-Q2/bao_cao.xlsx": ("T01X0001", 2026, 2, None),
        "T01X0001/2026-Q3/bao_cao.xlsx": ("T01X0001", 2026, 3, None),
        "T01X0002/2026-q4/a.docx": ("T01X0002", 2026, 4, None),
        "T01X0002/2026-Q3/.an.xlsx": ("T01X0002", 2026, 3, "hidden_file"),
        "T01X0003/2026-Q3/cu/bao_cao.xlsx": (None, None, None, "bad_path"),
        "T01X0003/bao_cao.xlsx": (None, None, None, "bad_path"),
        "bao_cao.xlsx": (None, None, None, "bad_path"),
        "T01X0003/2026-Q5/bao_cao.xlsx": (None, None, None, "bad_path"),
        "T01X\ufffd4/2026-Q3/b\ufffdo_c\ufffdo.xlsx": ("T01X\ufffd4", 2026, 3, None),
    }
    assert "T01X0003/2026-Q3/cu/bao_cao.xlsx" in found["T01X0003/2026-Q3/cu/bao_cao.xlsx"].problem
    for f in found.values():  # each entry names its own file on disk, whatever its name's bytes
        assert f.path == Path(f.location) and f.location.startswith(f"{tmp_path}/")
        data, st = read_regular_file(f.path)
        assert data == os.fsencode(os.path.relpath(f.location, tmp_path))  # each file holds its own path
        assert (st.st_size, st.st_mtime) == (f.size, f.mtime)


def test_a_slow_disk_is_listed_side_by_side_with_the_same_entries(tmp_path, monkeypatch):
    """On a slow disk (a cold cache, a network share) the folders after a level's first few are read
    in threads, so several reads are in flight; what is listed does not depend on it."""
    import threading

    from ingestion.pipeline import inbox

    for unit in range(40):
        for quarter in (1, 2, 3):
            _put(tmp_path, b"T01X%04d/2026-Q%d/bao_cao.xlsx" % (unit, quarter))
    for rel in (b"T01X0001/2026-Q3/.an.xlsx", b"T01X0002/2026-Q3/cu/bao_cao.xlsx", b"bao_cao.xlsx",
                b"T01X0003/2026-Q5/bao_cao.xlsx", b"T01X\xff4/2026-Q3/b\xe1o.xlsx"):
        _put(tmp_path, rel)
    os.symlink(tmp_path / "T01X0005", tmp_path / "T01X0006" / "lien_ket")
    readers: list[str] = []
    read_folder = inbox._Listing.read_folder
    # Each listing thread's first read waits for the others': it passes only with all of them reading at once.
    together = threading.Barrier(inbox.LISTING_THREADS, timeout=30)

    def recorded(self, *args):
        name = threading.current_thread().name
        if name.startswith("cchc-listing") and name not in readers:
            together.wait()
        readers.append(name)
        return read_folder(self, *args)

    monkeypatch.setattr(inbox._Listing, "read_folder", recorded)
    monkeypatch.setattr(inbox, "_PROBE_FOLDERS", 4)
    monkeypatch.setattr(inbox, "_SLOW_FOLDER_SECONDS", float("inf"))  # never slow: one thread
    alone = scan_inbox(tmp_path)
    assert set(readers) == {threading.current_thread().name} and len(readers) == 1 + 41 + 122 + 1  # top, units, quarters, one folder below
    readers.clear()
    monkeypatch.setattr(inbox, "_SLOW_FOLDER_SECONDS", 0.0)  # always slow: threads after the first folders
    side_by_side = scan_inbox(tmp_path)
    assert side_by_side == alone and len(alone) == 120 + 5 + 1
    listing_threads = {name for name in readers if name.startswith("cchc-listing")}
    assert len(listing_threads) == inbox.LISTING_THREADS and readers.count(threading.current_thread().name) == 1 + 4
    assert {f.problem_code for f in alone} == {None, "hidden_file", "bad_path", "not_a_file"}
