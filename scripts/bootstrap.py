"""Install the project's environment (.venv) from uv.lock with uv, on any supported Python.

    python3 scripts/bootstrap.py [--python PATH_OR_NAME] [--dev]

1. Picks the interpreter: --python (or $PYTHON) if given, else the newest of python3.13,
   python3.12, python3.11, python3 found on PATH that actually runs and is 3.11-3.13;
   an existing .venv keeps its interpreter while it is supported.
2. Gets uv (pinned UV_VERSION, from PyPI) into the user's cache (~/.cache/cchc/uv-<version>, shared
   by every clone; .tools/bin/uv points to it): the wheel downloaded from PyPI with the standard
   library, its sha256 checked (works without venv or pip: a fresh Debian/Ubuntu without
   python3-venv), or else with pip in a small venv (pip follows the machine's mirrors and proxies).
3. `uv sync --frozen --compile-bytecode` (the lock is never re-resolved here; `make lock` does that).

Runs on any Python 3.8+ so that it can explain what to install when the default python3 is too
old. Standard library only.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import platform
import shutil
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

UV_VERSION = "0.13.9"
SUPPORTED = ((3, 11), (3, 12), (3, 13))
ROOT = Path(__file__).resolve().parents[1]
TOOLS = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "cchc" / f"uv-{UV_VERSION}"
LINK = ROOT / ".tools" / "bin" / "uv"
VENV = ROOT / ".venv"
TAG = "[cài đặt / install]"


def say(msg: str) -> None:
    print(f"{TAG} {msg}", flush=True)


def probe(python: str) -> tuple[tuple[int, int], str] | None:
    """(major, minor), real path of an interpreter that runs; None for a missing or broken one.

    A pyenv shim for a version that is not selected exists on PATH but fails: it is skipped."""
    exe = python if os.sep in python else shutil.which(python)
    if not exe:
        return None
    try:
        out = subprocess.run([exe, "-c", "import sys; print(sys.version_info[0], sys.version_info[1], sys.executable)"],
                             capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0 or not out.stdout.strip():
        return None
    major, minor, path = out.stdout.strip().split(" ", 2)
    return (int(major), int(minor)), path


def version_text(v: tuple[int, int]) -> str:
    return f"{v[0]}.{v[1]}"


def pick_python(requested: str | None) -> tuple[str, str]:
    """(path, why) of the interpreter for .venv; exits with advice when there is none."""
    supported = ", ".join(version_text(v) for v in SUPPORTED)
    if requested:
        found = probe(requested)
        if found is None:
            sys.exit(f"{TAG} Không chạy được Python “{requested}” (PYTHON=...). / Cannot run {requested!r}.")
        if found[0] not in SUPPORTED:
            sys.exit(f"{TAG} {requested} là Python {version_text(found[0])}; cần {supported}. "
                     f"/ {requested} is Python {version_text(found[0])}; {supported} needed.")
        return found[1], f"PYTHON={requested}"
    current = probe(str(VENV / "bin" / "python"))
    if current is not None and current[0] in SUPPORTED:
        return current[1], "môi trường .venv đã có / existing .venv"
    for name in [f"python{version_text(v)}" for v in reversed(SUPPORTED)] + ["python3"]:
        found = probe(name)
        if found is not None and found[0] in SUPPORTED:
            return found[1], "bản mới nhất được hỗ trợ trên PATH / newest supported on PATH"
    sys.exit(
        f"{TAG} Không tìm thấy Python {supported} trên máy này. / No Python {supported} found.\n"
        "  Debian 13 / Ubuntu 24.04+:  sudo apt-get install python3          (3.13 / 3.12)\n"
        "  Debian 12:                  sudo apt-get install python3.11       (3.11)\n"
        "  Ubuntu 22.04:               sudo add-apt-repository ppa:deadsnakes/ppa && sudo apt-get install python3.12\n"
        "  Hoặc / or: uv python install 3.13 — rồi chạy lại / then: make run PYTHON=python3.13")


def _uv_path() -> Path:
    return TOOLS / "bin" / "uv"


def _uv_ok(uv: Path) -> bool:
    try:
        out = subprocess.run([str(uv), "--version"], capture_output=True, text=True, timeout=30)
    except OSError:
        return False
    return out.returncode == 0 and out.stdout.split()[1:2] == [UV_VERSION]


def _install_uv_with_pip() -> bool:
    venv = TOOLS / "venv"
    if subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], capture_output=True).returncode != 0:
        return False  # no ensurepip (Debian's python3-venv missing): fall back to the download
    pip = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                          f"uv=={UV_VERSION}"])
    if pip.returncode != 0 or not (venv / "bin" / "uv").exists():
        return False
    (TOOLS / "bin").mkdir(parents=True, exist_ok=True)
    _uv_path().unlink(missing_ok=True)
    _uv_path().symlink_to(venv / "bin" / "uv")
    return True


def _wheel_matches(filename: str) -> bool:
    machine = platform.machine().lower()
    arch = {"amd64": "x86_64", "arm64": "aarch64" if sys.platform.startswith("linux") else "arm64"}.get(machine, machine)
    if sys.platform.startswith("linux"):
        libc = "musllinux" if "musl" in (platform.libc_ver()[0] or "musl") else "manylinux"
        return libc in filename and filename.endswith(f"_{arch}.whl")
    if sys.platform == "darwin":
        return "macosx" in filename and (arch in filename or "universal2" in filename)
    return False


def _install_uv_from_pypi() -> None:
    """The uv wheel from PyPI's simple index (its JSON form), its sha256 checked, its binary extracted."""
    index = urllib.request.Request("https://pypi.org/simple/uv/",
                                   headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    with urllib.request.urlopen(index, timeout=60) as resp:
        files = json.load(resp)["files"]
    wheel = next((f for f in files if f["filename"].startswith(f"uv-{UV_VERSION}-")
                  and f["filename"].endswith(".whl") and _wheel_matches(f["filename"])), None)
    if wheel is None:
        sys.exit(f"{TAG} PyPI không có uv {UV_VERSION} cho {sys.platform}/{platform.machine()}; "
                 "hãy cài uv rồi chạy lại / install uv yourself and rerun.")
    with urllib.request.urlopen(wheel["url"], timeout=300) as resp:
        data = resp.read()
    if hashlib.sha256(data).hexdigest() != wheel["hashes"]["sha256"]:
        sys.exit(f"{TAG} Tệp {wheel['filename']} tải về sai mã băm sha256 / checksum mismatch.")
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        member = next(n for n in zf.namelist() if n.endswith(".data/scripts/uv"))
        _uv_path().parent.mkdir(parents=True, exist_ok=True)
        _uv_path().unlink(missing_ok=True)
        _uv_path().write_bytes(zf.read(member))
    _uv_path().chmod(0o755)


def ensure_uv() -> Path:
    uv = _uv_path()
    if not _uv_ok(uv):
        say(f"cài uv {UV_VERSION} từ PyPI vào {TOOLS} / installing uv {UV_VERSION} from PyPI")
        # The wheel straight from PyPI (a few seconds, no venv needed); where that is blocked, pip
        # (which follows the machine's pip configuration: mirrors, proxies) in a small venv.
        try:
            _install_uv_from_pypi()
        except (OSError, ValueError, KeyError, StopIteration) as exc:
            if os.environ.get("CCHC_UV_BOOTSTRAP") == "download" or not _install_uv_with_pip():
                sys.exit(f"{TAG} Không tải được uv từ PyPI / could not fetch uv: {exc}")
        if not _uv_ok(uv):
            sys.exit(f"{TAG} Không cài được uv {UV_VERSION} / could not install uv.")
    if not LINK.is_symlink() or LINK.resolve() != uv.resolve():  # `make lock` and people use .tools/bin/uv
        LINK.parent.mkdir(parents=True, exist_ok=True)
        LINK.unlink(missing_ok=True)
        LINK.symlink_to(uv)
    return uv


def main() -> int:
    ap = argparse.ArgumentParser(description="Cài môi trường .venv từ uv.lock / install .venv from uv.lock")
    ap.add_argument("--python", default=os.environ.get("PYTHON") or None,
                    help="trình thông dịch cho .venv / the interpreter for .venv (3.11–3.13)")
    ap.add_argument("--dev", action="store_true", help="cả nhóm dev (kiểm thử, lint) / with the dev group")
    ap.add_argument("--group", action="append", default=[],
                    help="thêm một nhóm phụ thuộc, ví dụ bench / another dependency group, e.g. bench")
    ap.add_argument("--uv-only", action="store_true", help="chỉ cài uv vào .tools/ (make lock) / only uv")
    args = ap.parse_args()
    if args.uv_only:
        ensure_uv()
        return 0
    started = time.monotonic()
    python, why = pick_python(args.python)
    version = subprocess.run([python, "-c", "import platform; print(platform.python_version())"],
                             capture_output=True, text=True).stdout.strip()
    say(f"Python {version} ({python}) — {why}")
    uv = ensure_uv()
    env = dict(os.environ, UV_PYTHON_DOWNLOADS="never", UV_PROJECT_ENVIRONMENT=str(VENV))
    # --inexact: `make run` after `make test` keeps the dev tools instead of removing them.
    # --compile-bytecode: every later process (each dbt, Airflow or GX import) reads .pyc files instead of
    # compiling the sources again, which it would do each time where PYTHONDONTWRITEBYTECODE is set
    # (seconds per process). About 15 s once; a second later on when nothing changed.
    cmd = [str(uv), "sync", "--frozen", "--python", python, "--inexact", "--compile-bytecode"] \
        + ([] if args.dev else ["--no-dev"]) \
        + [a for g in args.group for a in ("--group", g)]
    say(("uv sync --frozen" + (" (+dev)" if args.dev else "")) + " — gói đã khóa trong uv.lock / pinned in uv.lock")
    # uv's own lines (resolved, prepared, installed ... in N s) pass through; the list of every
    # package it added is summed up in one line.
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    changed = 0
    for line in proc.stdout:
        if line.startswith((" + ", " - ", " ~ ")):
            changed += 1
        else:
            print("    " + line.rstrip(), flush=True)
    if proc.wait() != 0:
        sys.exit(f"{TAG} uv sync thất bại / failed (xem thông báo ở trên / see above).")
    if changed:
        say(f"{changed} gói được thêm, gỡ hoặc đổi phiên bản / packages added, removed or changed")
    say(f"xong trong {time.monotonic() - started:.1f} s / done".replace(".", ",", 1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
