"""Great Expectations' checkpoint in a Python process of its own, started before the gate needs it.

Importing GX costs seconds of one core (it brings scipy, altair and every expectation with it), and
in a thread it would take them from the interpreter the night's dbt build runs in. A night run in one
process (`cchc run --direct`) starts this process as its dbt build begins, and the DAG's gate task as
it starts: GX is imported on the other core meanwhile, and the checkpoint then runs there, beside the
ledger, as it would in a thread. How the process is run: ``served_process``.
"""
from __future__ import annotations

import sys
from pathlib import Path

from ..served_process import ServedProcess, ServedProcessError, serve
from .gx_suite import ExpectationOutcome, import_gx, run_checkpoint
from .ruleset import RuleSet
from .sql import SqlEngine


class GxProcessError(ServedProcessError):
    """The process ended without answering (killed, out of memory)."""


class GxProcess(ServedProcess):
    """One Great Expectations process; ``checkpoint`` runs ``gx_suite.run_checkpoint`` in it."""

    module = __name__
    what = "Great Expectations' process"
    error = GxProcessError

    def checkpoint(self, gx_dir: Path, sqlalchemy_url: str, rules: RuleSet, engine: SqlEngine,
                   run_name: str) -> list[ExpectationOutcome]:
        return self.call((gx_dir, sqlalchemy_url, rules, engine, run_name))


def _checkpoint(request, _emit) -> list[ExpectationOutcome]:
    gx_dir, url, rules, engine, run_name = request
    return run_checkpoint(gx_dir, url, rules, engine, run_name=run_name)


if __name__ == "__main__":
    serve(int(sys.argv[1]), import_gx, _checkpoint)
