"""dbt in a Python process of its own, imported while the night reads its files (``dbt.imported_ahead``).

Importing dbt and its Postgres adapter costs one to three seconds of a core, and the night's first
build waited for it. Started before the inbox is read, the process imports dbt on the other core;
the night's dbt commands (the pre-gate build, the publication, the docs page) then run in it, one at a
time, and their progress lines are written by the night as before. On a first night it also parses the
project while the inbox is read (``dbt.parse_ahead``), a command nobody waits for until the build.
How the process is run: ``served_process``.
"""
from __future__ import annotations

import importlib
import sys
import threading
from typing import Callable

from ..served_process import ServedProcess, serve
from .dbt import DbtResult, invoke


class DbtProcess(ServedProcess):
    """One dbt process; ``run`` is ``dbt.invoke`` there."""

    module = __name__
    what = "dbt's process"

    def __init__(self) -> None:
        super().__init__()
        self._one_at_a_time = threading.Lock()  # one request and its answer on the pipes at a time

    def run(self, cli: list[str], env: dict[str, str], command: str, node_done: Callable[[int], None]) -> DbtResult:
        with self._one_at_a_time:
            return self.call((cli, env, command), on_event=node_done)

    def run_ahead(self, cli: list[str], env: dict[str, str], command: str) -> None:
        """Start a command whose result nobody waits for (``send_ahead``): the next ``run`` waits for it."""
        with self._one_at_a_time:
            self.send_ahead((cli, env, command))


def _import_dbt() -> None:
    # The Postgres adapter too: the first command would import it otherwise.
    for name in ("dbt.cli.main", "dbt.adapters.postgres"):
        importlib.import_module(name)


def _invoke(request, emit) -> DbtResult:
    cli, env, command = request
    return invoke(cli, env, command, emit)


if __name__ == "__main__":
    serve(int(sys.argv[1]), _import_dbt, _invoke)
