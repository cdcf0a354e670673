"""Running dbt against the warehouse: in this process, or in one started ahead (dbt_process.py)."""
from __future__ import annotations

import contextlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from .. import config, progress
from ..warehouse.connection import Dsn

log = logging.getLogger(__name__)
PARTIAL_PARSE_STATE = "partial_parse.msgpack"  # where dbt keeps a parse for the next command in its target folder


class DbtError(RuntimeError):
    pass


@dataclass
class DbtResult:
    command: str
    nodes: int
    failures: list[str]


@contextlib.contextmanager
def _env(values: dict[str, str]):
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def dbt_args(target_dir: Path) -> list[str]:
    return ["--project-dir", str(config.DBT_PROJECT_DIR), "--profiles-dir", str(config.DBT_PROJECT_DIR),
            "--target-path", str(target_dir)]


def _node_total(event) -> int | None:
    """The command's node count, when dbt's event says a node is done (None for any other event)."""
    if event.info.name not in ("LogModelResult", "LogTestResult", "LogSeedResult", "LogSnapshotResult"):
        return None
    return int(getattr(event.data, "total", 0) or 0)


class _NodeProgress:
    """Nodes done out of the command's total, as progress lines (every ~2 s)."""

    def __init__(self, label: str):
        self.label = label
        self.counter: progress.Counter | None = None

    def node_done(self, total: int) -> None:
        if total and self.counter is None:
            self.counter = progress.Counter("dbt", total, "nút / nodes")
            self.counter.stage = f"dbt {self.label}"
        if self.counter is not None:
            self.counter.add()


def _release_adapters() -> None:
    """Drop dbt's adapters (and their locks) now that the command is done.

    dbt's locks are spawn-context semaphores, registered with multiprocessing's resource
    tracker and released only when garbage-collected or at a normal interpreter exit. Airflow
    ends a task's process with os._exit(), so without this the tracker reports "leaked
    semaphore objects" on stderr, which the task log shows as an ERROR line.
    """
    import gc

    from dbt.adapters.factory import reset_adapters

    reset_adapters()
    gc.collect()


_ahead: list = []  # the DbtProcess of ``imported_ahead``, while its block runs


@contextlib.contextmanager
def imported_ahead():
    """Within the block, dbt runs in a process of its own started now (``dbt_process``).

    The night in one process (`cchc run --direct`) opens it before reading the inbox: dbt's import
    (seconds of a core) is done on the other core meanwhile instead of ahead of the night's first build.
    """
    from .dbt_process import DbtProcess

    with DbtProcess() as process:
        _ahead.append(process)
        try:
            yield process
        finally:
            _ahead.remove(process)


def run_dbt(dsn: Dsn, target_dir: Path, args: list[str], *, quiet: bool = True,
            lock_timeout: str | None = None) -> DbtResult:
    """Invoke dbt with the warehouse connection; raise DbtError naming the failed nodes.

    ``lock_timeout`` bounds every lock wait of dbt's sessions (libpq reads PGOPTIONS). dbt runs in
    this process, or in the one ``imported_ahead`` started.
    """
    cli, env = command_line(dsn, target_dir, args, quiet, lock_timeout)
    shown = _NodeProgress(" ".join(args[:args.index("--vars")] if "--vars" in args else args))
    if runs_in_own_process():
        return _ahead[-1].run(cli, env, " ".join(args), shown.node_done)
    return invoke(cli, env, " ".join(args), shown.node_done)


def runs_in_own_process() -> bool:
    """dbt's commands run in the process ``imported_ahead`` started: a thread of this one may wait for one."""
    return bool(_ahead)


def parse_ahead(dsn: Dsn, target_dir: Path, dbt_vars: dict | None = None) -> None:
    """Have the process ``imported_ahead`` started parse the project for ``target_dir`` (with ``dbt_vars``)
    while the night does other work, when dbt has never parsed it there.

    A first night (a new installation) would otherwise parse the whole project at its first dbt command
    in each target folder, seconds on its critical path; later nights reuse the state dbt saved
    (partial_parse.msgpack) and have nothing to gain. The command that follows waits for the parse, and
    parses itself if the parse failed or was made with other vars.
    """
    if not runs_in_own_process() or (target_dir / PARTIAL_PARSE_STATE).exists():
        return
    args = ["parse", *(["--vars", json.dumps(dbt_vars)] if dbt_vars else [])]
    cli, env = command_line(dsn, target_dir, args, True, None)
    _ahead[-1].run_ahead(cli, env, " ".join(args))


def command_line(dsn: Dsn, target_dir: Path, args: list[str], quiet: bool,
                 lock_timeout: str | None) -> tuple[list[str], dict[str, str]]:
    """dbt's command line and environment for ``args`` in ``target_dir``."""
    target_dir.mkdir(parents=True, exist_ok=True)
    env = dsn.env() | {"DBT_LOG_PATH": str(target_dir / "logs"), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    if lock_timeout:
        env["PGOPTIONS"] = f"-c lock_timeout={lock_timeout}"
    flags = ["--quiet"] if quiet else []
    n = next((i for i, a in enumerate(args) if a.startswith("-")), len(args))  # "docs generate", "build" ...
    return [*flags, *args[:n], *dbt_args(target_dir), *args[n:]], env


def invoke(cli: list[str], env: dict[str, str], command: str, node_done) -> DbtResult:
    """dbt's command line ``cli`` run here, with ``env`` set around it; ``node_done(total)`` per node done."""
    from dbt.cli.main import dbtRunner

    def callback(event) -> None:
        total = _node_total(event)
        if total is not None:
            node_done(total)

    with _env(env):
        try:
            res = dbtRunner(callbacks=[callback]).invoke(cli)
        finally:
            _release_adapters()
    failures = []
    nodes = 0
    if res.result is not None and hasattr(res.result, "results"):
        for r in res.result.results:
            nodes += 1
            status = str(getattr(r, "status", "")).lower()
            if status in ("error", "fail", "runtimeerror", "runtime error"):
                failures.append(f"{r.node.unique_id}: {status}: {(r.message or '').strip()[:500]}")
    if not res.success:
        detail = "; ".join(failures) or (str(res.exception) if res.exception else "dbt failed")
        raise DbtError(f"dbt {command} failed: {detail}")
    return DbtResult(command, nodes, failures)


def project_digest() -> str:
    """The dbt project's own files (models, macros, seeds, unit tests, configuration), as one digest.

    What the marts and the docs page are made from besides the data: publishing and the docs page
    are redone when it changes.
    """
    import hashlib

    digest = hashlib.sha256()
    project = config.DBT_PROJECT_DIR
    for path in sorted(project.rglob("*")):
        if path.is_file() and not {"target", "logs", "dbt_packages"} & set(path.relative_to(project).parts):
            digest.update(path.relative_to(project).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def seeds_with_new_columns(conn, seeds_dir: Path, schema: str = "reference") -> list[str]:
    """Seeds whose CSV header no longer matches the table loaded from it (the project was upgraded).

    ``dbt seed`` refills an existing table and fails on a column it does not have; these seeds are
    rebuilt from scratch first, so an upgrade needs no manual step.
    """
    import csv

    changed = []
    with conn.cursor() as cur:
        for path in sorted(seeds_dir.glob("*.csv")):
            with path.open(encoding="utf-8", newline="") as f:
                header = next(csv.reader(f), [])
            cur.execute("""select column_name from information_schema.columns
                           where table_schema = %s and table_name = %s""", (schema, path.stem))
            columns = {r[0] for r in cur.fetchall()}
            if columns and columns != set(header):
                changed.append(path.stem)
    return changed

