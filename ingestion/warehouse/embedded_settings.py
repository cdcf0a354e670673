"""The embedded PostgreSQL configured for what it serves: one machine, one bulk load a night.

PostgreSQL's defaults suit a small transactional server. A night writes gigabytes: the batch,
the marts rebuilt in marts_next, the standby brought up to date. With the defaults the server
forced a checkpoint for every 1 GB of WAL (every 30 s of a history night on this project's
benchmark), and after each one it logged a full image of every page it touched again, so the
same rows went to disk three and four times. Two changes remove most of that:

- ``wal_level = minimal``: a table that a transaction creates (every table dbt rebuilds, the
  first build of each mart) is written to its file once and synced at commit, not also through
  the WAL. The server keeps no WAL for replicas or point-in-time recovery: back the warehouse up
  with ``pg_dump``; a server that needs replicas is a real one, named by CCHC_DATABASE_URL.
- checkpoints by time, at most one per half hour, with room for the WAL of a whole night.

And a night's statement that meets autovacuum on its table has it cancelled after 100 ms, not a second
(``deadlock_timeout``).

Nothing here trades durability: every commit is still flushed and every page still checksummed
by the WAL where one is written. The settings are written once with ALTER SYSTEM (they live in
the data folder's postgresql.auto.conf); those read only at start restart the server once, when
the warehouse is created or first started by a version that sets them. A server named by
CCHC_DATABASE_URL is its administrator's: it is never changed (the README lists the settings).
"""
from __future__ import annotations

import logging
from pathlib import Path

log = logging.getLogger(__name__)

SETTINGS = {
    "wal_level": "minimal",
    "max_wal_senders": "0",  # required by wal_level = minimal
    "max_wal_size": "4GB",
    "checkpoint_timeout": "30min",
    # How long a session waits on a lock before the deadlock check, which also cancels an autovacuum holding
    # the lock: a night's write to a mart autovacuum was cleaning (the previous night's standby copy left it
    # dead rows) waited the default second each time. A batch night has no deadlocks to wait for.
    "deadlock_timeout": "100ms",
}


def differing(cur) -> dict[str, tuple[str, bool]]:
    """What differs from ours in the server's configuration: {name: (our value, read only at start)}."""
    cur.execute("select name, setting, unit, context from pg_settings where name = any(%s)", (list(SETTINGS),))
    current = {name: (_normalise(setting, unit), context == "postmaster") for name, setting, unit, context in cur.fetchall()}
    return {name: (value, current[name][1]) for name, value in SETTINGS.items()
            if name in current and current[name][0] != _normalise(value, None)}


def apply(conn, pgdata: Path, restart) -> list[str]:
    """Write what differs, reload, and restart (``restart()``) if a setting needs it; what was changed."""
    conn.autocommit = True
    with conn.cursor() as cur:
        changed = differing(cur)
        for name, (value, _) in changed.items():
            cur.execute(f"alter system set {name} = %s", (value,))  # names from SETTINGS above, not input
        if changed:
            cur.execute("select pg_reload_conf()")
    # Decided from the settings' kind, not from pending_restart: the reload is asynchronous.
    if any(at_start for _, at_start in changed.values()):
        conn.close()
        log.info("embedded PostgreSQL restarts once to take %s (%s)", ", ".join(changed), pgdata)
        restart()
    return list(changed)


_UNITS = {"kB": 1, "MB": 2**10, "GB": 2**20, "TB": 2**30, "8kB": 8, "16MB": 16 * 2**10,
          "s": 1, "min": 60, "h": 3600, "ms": 0.001}


def _normalise(value: str, unit: str | None) -> str:
    """'4GB' and pg_settings' ('256', '16MB') compare equal: both in kB (or seconds), as text."""
    text = str(value).strip()
    for suffix in sorted((u for u in _UNITS if not u[0].isdigit()), key=len, reverse=True):
        if text.endswith(suffix) and text[: -len(suffix)].strip().replace(".", "", 1).isdigit():
            return _number(float(text[: -len(suffix)]) * _UNITS[suffix])
    if unit and text.lstrip("-").isdigit():
        return _number(float(text) * _UNITS.get(unit, 1))
    return text


def _number(x: float) -> str:
    return str(int(x)) if x == int(x) else str(x)
