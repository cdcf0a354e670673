"""Helpers for the console tests: a console server on a free port, headless Chromium."""
from __future__ import annotations

import contextlib
import shutil
from pathlib import Path

from ingestion.console.server import CHROMIUM, CHROMIUM_FLAGS, free_port  # noqa: F401  (free_port: the tests')

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts"  # screenshots (git-ignored)


@contextlib.contextmanager
def console_server(dsn, reports_dir: Path):
    """The console app (as `cchc console` serves it) in a thread; yields its base URL."""
    from ingestion.console.app import create_app
    from ingestion.console.db import Database
    from ingestion.console.server import running

    app = create_app(database=Database(dsn), reports_dir=reports_dir)
    try:
        with running(app) as base:
            yield base
    finally:
        app.state.db.close()


@contextlib.contextmanager
def chromium():
    """Debian's chromium driven by Playwright (scripts/ensure-system-deps.sh installs it)."""
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        raise RuntimeError(f"{CHROMIUM} is missing: run scripts/ensure-system-deps.sh (make test does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            yield browser
        finally:
            browser.close()


class OfflineGuard:
    """Aborts and records every request that does not go to `base`: pages must work offline."""

    def __init__(self, page, base: str):
        self.base, self.blocked, self.errors = base, [], []
        page.route("**/*", self._route)
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))

    def _route(self, route):
        url = route.request.url
        if url.startswith((self.base, "data:")):
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort()
