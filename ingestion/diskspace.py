"""A full disk, said as such: which folder, how much is free, what to do.

PostgreSQL that runs out of disk stops (a failed WAL write is a PANIC), and what the next
connection reports is only "refused" or "in recovery". The operator needs the cause, not that.
"""
from __future__ import annotations

import errno
import shutil
from pathlib import Path

from .errors import DiskFull

MIB = 2**20
# Below this a night cannot even write its WAL and logs; the server is not started into it.
MIN_FREE_BYTES = 256 * MIB


def free_bytes(path: Path) -> int:
    """Free bytes on the file system that holds ``path`` (or would hold it, if it does not exist yet)."""
    path = Path(path)
    while not path.exists() and path != path.parent:
        path = path.parent
    return shutil.disk_usage(path).free


def _mib(n: int) -> str:
    return f"{n / MIB:,.0f} MB".replace(",", ".")


def full(path: Path, *, need: int | None = None, what: str = "kho dữ liệu") -> DiskFull:
    """A disk that filled up (``need`` None), or one with less room than ``need`` for work not yet started."""
    free = free_bytes(path)
    if need:
        said = f"không đủ chỗ trống: còn {_mib(free)}, {what} cần ít nhất {_mib(need)}"
        english = f"has too little free space ({_mib(free)} free, {_mib(need)} needed)"
    else:
        said, english = f"đã đầy: còn {_mib(free)} trống", f"is full ({_mib(free)} free)"
    return DiskFull(f"Ổ đĩa chứa {path} {said}. Giải phóng chỗ trống trên ổ đĩa đó rồi chạy lại; số liệu đã nạp "
                    f"trước đó không mất. / The disk holding {path} {english}.")


def require(path: Path, *, need: int = MIN_FREE_BYTES, what: str = "kho dữ liệu") -> None:
    """Refuse to start work that would fill the disk under ``path``."""
    if free_bytes(path) < need:
        raise full(path, need=need, what=what)


def _chain(exc: BaseException | None):
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def is_disk_full(exc: BaseException | None) -> bool:
    """Did this error (or one it was raised from) come from a full disk, here or in PostgreSQL?"""
    return any(getattr(e, "pgcode", None) == "53100"  # disk_full
               or (isinstance(e, OSError) and e.errno == errno.ENOSPC)
               or "No space left on device" in str(e) for e in _chain(exc))


def _written_path(exc: BaseException) -> Path | None:
    """The file this process failed to write for lack of space, if the error names one."""
    for e in _chain(exc):
        if isinstance(e, OSError) and e.errno == errno.ENOSPC and e.filename:
            return Path(e.filename).parent
    return None


def explain(exc: BaseException, pgdata: Path | None) -> DiskFull | None:
    """The full disk behind ``exc``, if that is what it was; None otherwise.

    A server that crashed on a full disk fails the next statement with a plain connection error:
    for the embedded server the disk under its data folder tells which it was.
    """
    if isinstance(exc, DiskFull):
        return exc
    written = _written_path(exc)
    if written is not None:
        return full(written)
    if pgdata is not None and (is_disk_full(exc) or free_bytes(pgdata) < MIN_FREE_BYTES):
        return full(pgdata)
    if is_disk_full(exc):
        return DiskFull("Ổ đĩa của máy chủ kho dữ liệu đã đầy: giải phóng chỗ trống rồi chạy lại; số liệu đã nạp "
                        "trước đó không mất. / The warehouse server's disk is full.")
    return None
