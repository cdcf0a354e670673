"""The embedded server runs with the warehouse's settings from its first start, restarting once for them,
and a server already running is not restarted under its sessions."""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from ingestion.warehouse import embedded_settings
from ingestion.warehouse.connection import _embedded_server, connect, embedded_dsn, stop_embedded


def _settings(dsn) -> dict[str, tuple[str, bool]]:
    conn = connect(dsn)
    try:
        with conn.cursor() as cur:
            cur.execute("select name, current_setting(name), pending_restart from pg_settings where name = any(%s)",
                        (list(embedded_settings.SETTINGS),))
            return {name: (value, pending) for name, value, pending in cur.fetchall()}
    finally:
        conn.close()


def _after_reload(dsn, seconds: float = 10.0) -> dict[str, tuple[str, bool]]:
    """The settings once the server has read its configuration again (pg_reload_conf() only signals it)."""
    deadline = time.monotonic() + seconds
    while (now := _settings(dsn))["max_wal_size"][0] != "4GB" and time.monotonic() < deadline:
        time.sleep(0.05)
    return now


def _postmaster(pgdata: Path) -> str:
    return (pgdata / "postmaster.pid").read_text().split()[0]


def test_a_new_warehouse_runs_with_its_settings_and_keeps_them(tmp_path):
    pgdata = tmp_path / "pgdata"
    try:
        dsn = embedded_dsn(pgdata)
        assert _settings(dsn) == {"wal_level": ("minimal", False), "max_wal_senders": ("0", False),
                                  "max_wal_size": ("4GB", False), "checkpoint_timeout": ("30min", False),
                                  "deadlock_timeout": ("100ms", False)}
        pid = _postmaster(pgdata)
        embedded_dsn(pgdata)  # running already, settings in place: nothing to change, no restart
        assert _postmaster(pgdata) == pid
        stop_embedded(pgdata)
        embedded_dsn(pgdata)  # the next start reads them from the data folder
        assert _settings(dsn)["wal_level"] == ("minimal", False)
    finally:
        stop_embedded(pgdata)


def test_a_running_server_takes_what_it_can_now_and_the_rest_at_its_next_start(tmp_path):
    """A warehouse made before these settings, whose server is still running (a console reads it), is not
    restarted: the settings read at start wait for the next start; the others apply at once."""
    pgdata = tmp_path / "pgdata"
    try:
        dsn = embedded_dsn(pgdata)
        conn = connect(dsn)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("alter system reset all")
        conn.close()
        stop_embedded(pgdata)
        _embedded_server(pgdata)  # started as an older version did: with PostgreSQL's defaults
        assert _settings(dsn)["wal_level"] == ("replica", False)
        pid = _postmaster(pgdata)

        embedded_dsn(pgdata)
        assert _postmaster(pgdata) == pid, "a running server was restarted under its sessions"
        now = _after_reload(dsn)
        assert now["max_wal_size"] == ("4GB", False) and now["checkpoint_timeout"] == ("30min", False)
        assert now["deadlock_timeout"] == ("100ms", False)  # a reload is enough
        assert now["wal_level"] == ("replica", True)  # pending: taken at the next start
        stop_embedded(pgdata)
        embedded_dsn(pgdata)
        assert _settings(dsn)["wal_level"] == ("minimal", False)
    finally:
        stop_embedded(pgdata)


@pytest.mark.parametrize(("ours", "setting", "unit", "same"), [
    ("4GB", "4096", "MB", True), ("30min", "1800", "s", True), ("4GB", "1024", "MB", False),
    ("minimal", "minimal", None, True), ("minimal", "replica", None, False), ("0", "0", None, True),
])
def test_settings_compare_across_units(ours, setting, unit, same):
    assert (embedded_settings._normalise(ours, None) == embedded_settings._normalise(setting, unit)) is same
