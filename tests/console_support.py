"""Helpers for the console tests: a console server on a free port, headless Chromium."""
from __future__ import annotations

import contextlib
import shutil
import socket
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts"  # screenshots (git-ignored)
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def console_server(dsn, reports_dir: Path):
    """The console app (as `cchc console` serves it) in a thread; yields its base URL."""
    import uvicorn

    from ingestion.console.app import create_app
    from ingestion.console.db import Database

    app = create_app(database=Database(dsn), reports_dir=reports_dir)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the console did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(15)
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
        if url.startswith(self.base) or url.startswith("data:"):
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort()
