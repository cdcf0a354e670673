"""The inbox convention: <inbox>/<unit_code>/<YYYY>-Q<n>/<any name>.xlsx, one folder per unit."""
from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from ..config import INBOX_IGNORED_PREFIXES

_PERIOD_DIR = re.compile(r"^(\d{4})-Q([1-4])$", re.I)
_PATH_PERIOD = re.compile(r"(?:^|/)([^/]+)/(\d{4})-Q([1-4])/[^/]+$", re.I)


@dataclass(frozen=True)
class InboxFile:
    path: Path  # absolute
    rel: str  # relative to the inbox, POSIX separators
    size: int
    mtime: float
    unit_code: str | None
    year: int | None
    quarter: int | None
    problem: str | None = None  # why the path breaks the convention (Vietnamese)

    @property
    def period(self) -> str | None:
        return f"{self.year}-Q{self.quarter}" if self.year else None


def unit_and_period_from_path(path: str | Path) -> tuple[str | None, int | None, int | None]:
    """'.../79001/2024-Q1/bao_cao.xlsx' -> ('79001', 2024, 1); (None, None, None) off-convention."""
    m = _PATH_PERIOD.search(Path(path).as_posix())
    if not m:
        return None, None, None
    return m.group(1), int(m.group(2)), int(m.group(3))


def _ignored(name: str) -> bool:
    return name.startswith(INBOX_IGNORED_PREFIXES) or name.startswith("~$")  # Excel lock files


def scan_inbox(inbox: Path) -> list[InboxFile]:
    """Every file under the inbox, with unit and quarter read from its path (sorted by path)."""
    found: list[InboxFile] = []
    for root, dirs, files in os.walk(inbox):
        dirs[:] = sorted(d for d in dirs if not _ignored(d))
        for name in sorted(files):
            if _ignored(name):
                continue
            path = Path(root) / name
            rel = path.relative_to(inbox).as_posix()
            st = path.stat()
            parts = rel.split("/")
            unit = year = quarter = None
            problem = None
            if len(parts) != 3 or not _PERIOD_DIR.match(parts[1]):
                problem = ("đường dẫn không đúng quy ước <mã đơn vị>/<năm>-Q<quý>/<tên tệp>.xlsx "
                           f"(tệp đang ở “{rel}”)")
            else:
                m = _PERIOD_DIR.match(parts[1])
                unit, year, quarter = parts[0], int(m.group(1)), int(m.group(2))
            found.append(InboxFile(path, rel, st.st_size, st.st_mtime, unit, year, quarter, problem))
    return found


def inbox_file(inbox: Path, rel: str) -> InboxFile:
    """One file of the inbox by its relative path, as scan_inbox lists it (FileNotFoundError when gone)."""
    path = inbox / rel
    st = path.stat()
    parts = rel.split("/")
    m = _PERIOD_DIR.match(parts[1]) if len(parts) == 3 else None
    if m is None:
        return InboxFile(path, rel, st.st_size, st.st_mtime, None, None, None,
                         "đường dẫn không đúng quy ước <mã đơn vị>/<năm>-Q<quý>/<tên tệp>.xlsx "
                         f"(tệp đang ở “{rel}”)")
    return InboxFile(path, rel, st.st_size, st.st_mtime, parts[0], int(m.group(1)), int(m.group(2)))


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
