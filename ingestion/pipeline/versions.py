"""Versions of a unit-quarter's report, and several files for one unit-quarter: the rules, in one place.

The convention (README, "Phiên bản / Versions"):

1. A unit-quarter has one version in use: the workbook loaded last. Files read in the same
   night are loaded in order of modification time, then name (``load_order``), so of two
   files dropped together the one saved last is the one used.
2. Every version is kept in raw.files; the gate decides on each. A held version leaves the
   previous accepted one published.
3. Several workbooks in one unit-quarter folder at once are all read and checked, and each
   gets the warning ``one_file_per_quarter`` naming the others and the one in use.
4. A workbook whose content equals an older version that a different version has since
   replaced (a superseded version dropped again) is held for review: ``version_not_reverted``.
5. The same workbook (same content hash) in two units' folders is held: ``content_unique_across_units``.

A spreadsheet and a Word report of the same unit-quarter are not two versions but a pair
(``ingestion/pairing.py``: the spreadsheet's figures count, the document is cross-checked
against it), so rules 1, 3 and 4 count files and compare versions within one format.

Rules 3-5 are submission rules of the catalog (expectations/rules.yml), evaluated by both
engines; the offline engine calls the functions below, the SQL engine mirrors them.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Iterable, Sequence

from .inbox import InboxFile


def load_order(files: Iterable[InboxFile]) -> list[InboxFile]:
    """The order files read tonight are loaded in (file ids grow in it): oldest modification first."""
    return sorted(files, key=lambda f: (f.mtime, f.rel))


def folder_listing(files: Iterable[InboxFile]) -> dict[tuple[str, int, int], list[str]]:
    """Every file present in each unit-quarter folder at discovery (regular files only, by path)."""
    folders: dict[tuple[str, int, int], list[str]] = defaultdict(list)
    for f in files:
        if f.unit_code and f.year and f.problem_code is None:
            folders[(f.unit_code, f.year, f.quarter)].append(f.rel)
    return {key: sorted(paths) for key, paths in folders.items()}


def file_name(path: str | None) -> str:
    """What messages call a file: its name, without the inbox or the folders."""
    return (path or "").replace("\\", "/").rsplit("/", 1)[-1]


@dataclass(frozen=True)
class Version:
    """One loaded submission of a unit-quarter, as the version rules see it."""
    key: str
    order: int  # load order (file id in the warehouse, position on the command line offline)
    path: str
    content_hash: str | None
    unit_code: str | None
    held: bool = False  # held back by the gate (offline: read with input errors)
    source_format: str = "xlsx"  # xlsx | docx: versions are of one format (pairing.py)


def several_files(s: Version, folder: Sequence[Version]) -> dict | None:
    """``one_file_per_quarter``: None when ``s`` is alone in its folder (a Word report beside its
    spreadsheet is a pair, not a second file), else what the message needs."""
    same = [v for v in folder if v.source_format == s.source_format]
    if len(same) < 2:
        return None
    in_use = max(same, key=lambda v: v.order)
    return {"files": tuple(sorted(file_name(v.path) for v in same)), "in_use": file_name(in_use.path)}


def same_content_elsewhere(s: Version, others: Iterable[Version]) -> dict | None:
    """``content_unique_across_units``: the first other unit's submission with the same bytes."""
    twins = sorted((v for v in others if v.content_hash == s.content_hash and v.unit_code
                    and v.unit_code != s.unit_code),
                   key=lambda v: (v.unit_code or "", v.order))
    if not twins:
        return None
    return {"other_unit": twins[0].unit_code, "other_file": file_name(twins[0].path)}


def reverted_version(s: Version, history: Sequence[Version]) -> dict | None:
    """``version_not_reverted``: ``history`` is every loaded version of the unit-quarter (s included);
    only those of ``s``'s format are its versions.

    The version in use before ``s`` is the latest earlier one not held back. ``s`` reverts when
    its content differs from that version but equals a version older than it.
    """
    ordered = sorted((v for v in history if v.source_format == s.source_format), key=lambda v: v.order)
    earlier = [v for v in ordered if v.order < s.order]
    current = next((v for v in reversed(earlier) if not v.held), None)
    if current is None or current.content_hash == s.content_hash:
        return None
    same = [v for v in earlier if v.order < current.order and v.content_hash == s.content_hash]
    if not same:
        return None
    number = {v.key: i for i, v in enumerate(ordered, start=1)}
    return {"earlier_version": number[same[-1].key], "earlier_file": file_name(same[-1].path),
            "current_version": number[current.key], "current_file": file_name(current.path)}
