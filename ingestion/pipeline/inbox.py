"""The inbox convention: <inbox>/<unit_code>/<YYYY>-Q<n>/<any name>.xlsx or .docx, one folder per unit.

Only regular files are read, and only where they are: a symbolic link (to a workbook
elsewhere, to /dev/zero, dangling or looping), a named pipe, a device or a socket is
listed with the reason it is not read, so it gets a rejection like any unusable file.
Reading (``read_regular_file``) opens without following links and without blocking,
checks again that it holds a regular file, and stops at a size cap.
"""
from __future__ import annotations

import hashlib
import os
import re
import stat
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path

from ..config import INBOX_IGNORED_PREFIXES
from ..workbook.ooxml import MAX_FILE_BYTES, UnreadableFile

_PERIOD_DIR = re.compile(r"^(\d{4})-Q([1-4])$", re.I)
_PATH_PERIOD = re.compile(r"(?:^|/)([^/]+)/(\d{4})-Q([1-4])/[^/]+$", re.I)

# Files nobody sent: Office lock files (Excel "~$name", LibreOffice ".~lock.name#") and the
# metadata macOS and Windows write beside files on shared folders. Every other file is read or rejected.
IGNORED_FILE_PREFIXES = ("~$", ".~lock.", "._")
IGNORED_FILE_NAMES = (".DS_Store", "Thumbs.db", "desktop.ini")


@dataclass(frozen=True)
class InboxFile:
    location: str  # absolute path, as listed (``path`` is the same as a Path, made when asked for)
    rel: str  # relative to the inbox, POSIX separators
    size: int
    mtime: float
    unit_code: str | None
    year: int | None
    quarter: int | None
    problem: str | None = None  # why the file is rejected without reading it (Vietnamese)
    problem_code: str | None = None  # bad_path | hidden_file | not_a_file | unreadable_folder
    problem_detail: str | None = None  # technical, for the audit trail

    @cached_property
    def path(self) -> Path:
        # A history of tens of thousands of files is listed every night, mostly to find nothing changed:
        # a Path each would cost more than listing them. Only the files read tonight need one.
        return Path(self.location)

    @property
    def period(self) -> str | None:
        return f"{self.year}-Q{self.quarter}" if self.year else None

    @property
    def name(self) -> str:
        return self.rel.rsplit("/", 1)[-1]


def unit_and_period_from_path(path: str | Path) -> tuple[str | None, int | None, int | None]:
    """'.../79001/2024-Q1/bao_cao.xlsx' -> ('79001', 2024, 1); (None, None, None) off-convention."""
    m = _PATH_PERIOD.search(Path(path).as_posix())
    if not m:
        return None, None, None
    return m.group(1), int(m.group(2)), int(m.group(3))


def _ignored_folder(name: str) -> bool:
    return name.startswith(INBOX_IGNORED_PREFIXES)


def ignored_file(name: str) -> bool:
    return name.startswith(IGNORED_FILE_PREFIXES) or name in IGNORED_FILE_NAMES


def storable(text: str) -> str:
    """A file name as the database can store it: bytes that are not UTF-8 become U+FFFD."""
    if text.isascii():  # nearly every name: nothing to replace, and this runs once per file of the history
        return text
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "symlink"
    if stat.S_ISFIFO(mode):
        return "fifo"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    if stat.S_ISDIR(mode):
        return "directory"
    return "regular" if stat.S_ISREG(mode) else "other"


def not_a_file_message(name: str, kind: str) -> str:
    if kind == "symlink":
        return (f"“{name}” là lối tắt (liên kết) trỏ tới nơi khác, không phải tệp; hệ thống chỉ đọc tệp "
                "đặt trực tiếp trong thư mục của đơn vị — hãy chép chính tệp bảng tính vào thư mục")
    if kind == "directory":
        return f"“{name}” là thư mục, không phải tệp báo cáo (.xlsx hay .docx)"
    return f"“{name}” không phải tệp dữ liệu thông thường (là tệp đặc biệt của hệ thống) nên không được đọc"


def _folder_period(rel: str) -> tuple[str | None, int | None, int | None]:
    """The unit and quarter of "<unit>/<YYYY>-Q<n>/<file>", or of the folder "<unit>/<YYYY>-Q<n>/";
    (None, None, None) for any other path below the inbox."""
    parts = rel.split("/")
    period = _period_folder(parts[1]) if len(parts) == 3 else None
    return (parts[0], *period) if period else (None, None, None)


@lru_cache(maxsize=512)  # every unit has the same few quarter folders
def _period_folder(name: str) -> tuple[int, int] | None:
    m = _PERIOD_DIR.match(name)
    return (int(m.group(1)), int(m.group(2))) if m else None


def _entry(path: str, rel: str, st: os.stat_result | None, *,
           problem: tuple[str, str, str | None] | None = None) -> InboxFile:
    """An entry found anywhere, with ``rel`` as listed (scan_inbox makes the usual file's entry itself)."""
    rel = storable(rel)
    unit, year, quarter = _folder_period(rel)
    if unit is None and problem is None:
        problem = ("bad_path", "đường dẫn không đúng quy ước <mã đơn vị>/<năm>-Q<quý>/<tên tệp>.xlsx hoặc .docx "
                               f"(tệp đang ở “{rel}”)", None)
    code, message, detail = problem or (None, None, None)
    return InboxFile(path, rel, st.st_size if st else 0, st.st_mtime if st else 0.0, unit, year, quarter,
                     message, code, detail)


# A history of tens of thousands of files sits in as many quarter folders, and a night's first look at
# them is usually cold: the disk is read once per folder, one read at a time when listed in one thread
# (8.3 s for 55 k files here, against 0.9 s warm). Folders are read in inode order, the order the disk
# holds them in, and once a level's first folders prove slow the rest are read side by side, which
# keeps several reads in flight. Warm, threads only contend for the interpreter, so they start only
# on a slow disk (or a network share, where every read waits on the network).
LISTING_THREADS = 4
_PROBE_FOLDERS = 64
_SLOW_FOLDER_SECONDS = 80e-6  # warm, a quarter folder takes about 25 µs here; cold, about 230 µs


def scan_inbox(inbox: Path) -> list[InboxFile]:
    """Every entry under the inbox, with unit and quarter read from its path (sorted by path).

    Symbolic links are never followed (not even to folders); entries that are not regular
    files, hidden files and unreadable folders come back with ``problem`` set.
    One os.scandir per folder and one lstat per file, with paths built as strings and a folder's
    unit and quarter read once: a history of tens of thousands of files is listed every night,
    mostly to find nothing changed.
    """
    listing = _Listing(os.fspath(Path(inbox)))
    found: list[InboxFile] = []
    # Level by level, not recursion: a hostile inbox nested a thousand folders deep is listed like any other.
    level: list[tuple[int, str, str]] = [(0, listing.top, "")]
    try:
        while level:
            below: list[tuple[int, str, str]] = []
            listing.read_level(level, found, below)
            below.sort()  # (inode, path, prefix): the next level in the order the disk holds it
            level = below
    finally:
        listing.close()
    found.sort(key=lambda f: f.rel)
    return found


class _Listing:
    """The folders of one inbox, read level by level (``LISTING_THREADS`` side by side on a slow disk)."""

    def __init__(self, top: str):
        self.top = top
        self.pool: ThreadPoolExecutor | None = None

    def read_level(self, level: list[tuple[int, str, str]], found: list[InboxFile], below: list) -> None:
        """Add the level's entries to ``found`` and its subfolders, as (inode, path, prefix), to ``below``."""
        if self.pool is None:
            head, level = level[:_PROBE_FOLDERS], level[_PROBE_FOLDERS:]
            started = time.perf_counter()
            self.read_folders(head, found, below)
            if not level:
                return
            if time.perf_counter() - started <= _SLOW_FOLDER_SECONDS * len(head):
                self.read_folders(level, found, below)
                return
            self.pool = ThreadPoolExecutor(LISTING_THREADS, thread_name_prefix="cchc-listing")
        # One run of neighbouring folders per thread: each thread's reads stay close together on the disk.
        size = -(-len(level) // LISTING_THREADS)
        runs = [level[i:i + size] for i in range(0, len(level), size)]
        for run_found, run_below in self.pool.map(self.read_run, runs):
            found += run_found
            below += run_below

    def read_run(self, run: list[tuple[int, str, str]]) -> tuple[list[InboxFile], list]:
        found: list[InboxFile] = []
        below: list[tuple[int, str, str]] = []
        self.read_folders(run, found, below)
        return found, below

    def read_folders(self, folders: list[tuple[int, str, str]], found: list[InboxFile], below: list) -> None:
        for _, path, prefix in folders:
            self.read_folder(path, prefix, found, below)

    def read_folder(self, folder: str, prefix: str, found: list[InboxFile], below: list) -> None:
        """One folder's entries into ``found``, its subfolders into ``below``."""
        try:
            with os.scandir(folder) as listing:
                entries = list(listing)
        except OSError as error:
            if folder == self.top:
                raise
            found.append(_entry(folder + "/?", prefix + "?", None, problem=(
                "unreadable_folder", f"không đọc được thư mục “{os.path.basename(folder)}” (không có quyền hoặc lỗi ổ đĩa)",
                f"{type(error).__name__}: {error.strerror}")))
            return
        at_root = folder == self.top
        stored_prefix = storable(prefix)
        unit, year, quarter = _folder_period(stored_prefix)
        for entry in entries:
            name = entry.name
            try:
                is_dir = entry.is_dir()  # follows a link, as os.walk does: a link to a folder is listed as a folder
            except OSError:
                is_dir = False
            path = folder + "/" + name  # top is a Path made string: no trailing separator
            if is_dir:
                if _ignored_folder(name):
                    continue
                if entry.is_symlink():
                    found.append(_entry(path, prefix + name, _lstat(path), problem=(
                        "not_a_file", not_a_file_message(name, "symlink"), _link_detail(path))))
                    continue
                below.append((entry.inode(), path, prefix + name + "/"))
                continue
            if ignored_file(name) or (at_root and _ignored_folder(name)):
                continue  # the inbox's own files (a completion marker, a manifest) are nobody's report
            st = _lstat(path)
            if st is None:
                continue  # removed between listing and looking at it
            if not stat.S_ISREG(st.st_mode):
                kind = _kind(st.st_mode)
                detail = _link_detail(path) if kind == "symlink" else f"{kind} (mode {st.st_mode:o})"
                found.append(_entry(path, prefix + name, st,
                                    problem=("not_a_file", not_a_file_message(name, kind), detail)))
            elif name.startswith("."):
                found.append(_entry(path, prefix + name, st, problem=(
                    "hidden_file", f"tên tệp “{name}” bắt đầu bằng dấu chấm nên là tệp ẩn; hãy đặt lại tên tệp, "
                                   "ví dụ bao_cao_quy.xlsx, rồi gửi lại", None)))
            elif unit is None:
                found.append(_entry(path, prefix + name, st))  # off the convention: said so
            else:  # the usual file, built here: this line runs for every file of the history
                found.append(InboxFile(path, stored_prefix + storable(name), st.st_size, st.st_mtime,
                                       unit, year, quarter))

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown()


def has_files(inbox: Path) -> bool:
    """Is there at least one file the nightly job would look at? (Stops at the first one.)"""
    for root, dirs, files in os.walk(inbox):
        dirs[:] = [d for d in dirs if not _ignored_folder(d)]
        at_root = Path(root) == inbox
        if any(not (ignored_file(name) or (at_root and _ignored_folder(name))) for name in files):
            return True
    return False


def _lstat(path: Path) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except FileNotFoundError:
        return None


def _link_detail(path: Path) -> str:
    try:
        return f"symlink to {os.readlink(path)!r}"
    except OSError as exc:
        return f"symlink ({exc.strerror})"


def read_regular_file(path: str | Path, *, max_bytes: int = MAX_FILE_BYTES,
                      follow_symlinks: bool = False) -> tuple[bytes, os.stat_result]:
    """The bytes of a regular file, read once; raises UnreadableFile with a Vietnamese cause.

    Opened without blocking (a named pipe cannot stall the read) and, unless asked, without
    following a symbolic link; what was opened is checked again with fstat, so a file swapped
    for something else after the scan is still refused.
    """
    name = Path(path).name
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    if not follow_symlinks:
        flags |= os.O_NOFOLLOW
    try:
        fd = os.open(path, flags)
    except FileNotFoundError as exc:
        raise UnreadableFile("vanished", f"không tìm thấy tệp “{name}” (tệp đã bị xóa hoặc đổi tên)",
                             f"{exc.strerror}") from exc
    except PermissionError as exc:
        raise UnreadableFile("no_permission", f"không có quyền đọc tệp “{name}”; hãy nhờ quản trị cấp quyền đọc",
                             f"{exc.strerror}") from exc
    except IsADirectoryError as exc:
        raise UnreadableFile("not_a_file", not_a_file_message(name, "directory"), exc.strerror) from exc
    except OSError as exc:  # ELOOP: a symbolic link (O_NOFOLLOW), or a loop of them
        kind = "symlink" if os.path.islink(path) or exc.errno == 40 else "other"
        code = "not_a_file" if kind == "symlink" else "read_error"
        message = not_a_file_message(name, kind) if kind == "symlink" else f"không mở được tệp “{name}” (lỗi ổ đĩa)"
        raise UnreadableFile(code, message, f"{type(exc).__name__}: {exc.strerror}") from exc
    try:
        st = os.fstat(fd)
        kind = _kind(st.st_mode)
        if kind != "regular":
            raise UnreadableFile("not_a_file", not_a_file_message(name, kind), f"{kind} (mode {st.st_mode:o})")
        if st.st_size > max_bytes:
            raise _too_large(st.st_size, max_bytes)
        chunks, total = [], 0
        while True:
            chunk = os.read(fd, min(1 << 20, max_bytes + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > max_bytes:  # it grew while being read
                raise _too_large(total, max_bytes)
        return b"".join(chunks), st
    except OSError as exc:
        raise UnreadableFile("read_error", f"không đọc được tệp “{name}” (lỗi ổ đĩa)",
                             f"{type(exc).__name__}: {exc.strerror}") from exc
    finally:
        os.close(fd)


def _too_large(size: int, limit: int) -> UnreadableFile:
    return UnreadableFile("too_large", f"tệp quá lớn ({size / 1048576:.1f} MB, giới hạn {limit // 1048576} MB)")


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
