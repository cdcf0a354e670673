"""Passwords the project generates and keeps under $CCHC_HOME/secrets (folder 0700, files 0600)."""
from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path


def stored(secrets_dir: Path, name: str, *, create: bool = True) -> str | None:
    """The secret called ``name``; a new random one is written first when asked to and none exists."""
    path = secrets_dir / name
    if path.is_file():
        _restrict(secrets_dir, path)
        return path.read_text(encoding="utf-8").strip() or None
    if not create:
        return None
    secrets_dir.mkdir(parents=True, exist_ok=True)
    secrets_dir.chmod(0o700)
    value = secrets.token_urlsafe(24)  # URL-safe: it goes into connection URLs as is
    # O_EXCL: two processes creating it at once keep one value, the second reads it back.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return stored(secrets_dir, name, create=False)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(value + "\n")
    return value


def _restrict(secrets_dir: Path, path: Path) -> None:
    # A copied or restored folder may have lost its modes: nobody else reads a password.
    if secrets_dir.stat().st_mode & 0o077:
        secrets_dir.chmod(0o700)
    if path.stat().st_mode & 0o077:
        path.chmod(0o600)


def derived(master: str, role: str) -> str:
    """A role's password computed from the administrator's: every machine holding the administrator's
    URL agrees on it without sharing a file, and it reveals nothing about the administrator's."""
    return hmac.new(master.encode(), f"cchc-role:{role}".encode(), hashlib.sha256).hexdigest()[:40]
