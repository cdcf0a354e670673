"""Great Expectations' checkpoint in a Python process of its own, started before the gate needs it.

Importing GX costs seconds of one core (it brings scipy, altair and every expectation with it), and
in a thread it would take them from the interpreter the night's dbt build runs in. A night run in one
process (`cchc run --direct`) starts this process as its dbt build begins: GX is imported on the
other core meanwhile, and the checkpoint then runs there, beside the ledger, as it would in a thread.

A plain subprocess, not multiprocessing: nothing of the parent (its main module, its threads, its
connections) is carried into it. Requests and answers are pickled: requests on its stdin, answers on
a pipe of its own; its stdout and stderr are the parent's, where GX's own messages go.
"""
from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

from .gx_suite import ExpectationOutcome, import_gx, run_checkpoint
from .ruleset import RuleSet
from .sql import SqlEngine

_SOURCE_ROOT = Path(__file__).resolve().parents[2]  # the folder holding the `ingestion` package


class GxProcessError(RuntimeError):
    """The process ended without answering (killed, out of memory)."""


class GxProcess:
    """One Great Expectations process; ``checkpoint`` runs ``gx_suite.run_checkpoint`` in it."""

    def __init__(self) -> None:
        read, write = os.pipe()
        # This very code, whatever the working directory: the process imports `ingestion` from here.
        path = os.pathsep.join(filter(None, [str(_SOURCE_ROOT), os.environ.get("PYTHONPATH")]))
        try:
            self._process = subprocess.Popen([sys.executable, "-m", __name__, str(write)], stdin=subprocess.PIPE,
                                             pass_fds=(write,), env=dict(os.environ, PYTHONPATH=path))
        except BaseException:
            os.close(read)
            raise
        finally:
            os.close(write)
        self._answers = os.fdopen(read, "rb")

    @property
    def pid(self) -> int:
        return self._process.pid

    def checkpoint(self, gx_dir: Path, sqlalchemy_url: str, rules: RuleSet, engine: SqlEngine,
                   run_name: str) -> list[ExpectationOutcome]:
        try:
            self._process.stdin.write(pickle.dumps((gx_dir, sqlalchemy_url, rules, engine, run_name)))
            self._process.stdin.flush()
            ok, value = pickle.load(self._answers)
        except (BrokenPipeError, EOFError, pickle.UnpicklingError) as exc:  # it died, maybe halfway through an answer
            code = self._process.wait()
            raise GxProcessError(f"Great Expectations' process ended without a result (exit code {code})") from exc
        if not ok:
            raise value
        return value

    def close(self) -> None:
        """End the process by killing it: it holds nothing of the night (an answer is read whole before
        ``checkpoint`` returns, and the suite's JSON is written before the answer), while leaving it to end
        at the end of its input made the night wait for its interpreter's teardown (GX, scipy: 0.5 s to
        2 s), or for the import still running on a night with nothing to check."""
        try:
            self._process.stdin.close()
        except OSError:
            pass
        self._process.kill()  # nothing if it has ended already
        self._process.wait()
        self._answers.close()

    def __enter__(self) -> GxProcess:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _serve(answer_fd: int) -> None:
    answers = os.fdopen(answer_fd, "wb")
    import_gx()  # what this process is for: done while the parent does other work
    requests = sys.stdin.buffer
    while True:
        try:
            gx_dir, url, rules, engine, run_name = pickle.load(requests)
        except EOFError:
            return
        try:
            answer = pickle.dumps((True, run_checkpoint(gx_dir, url, rules, engine, run_name=run_name)))
        except BaseException as exc:  # raised again in the parent, where the gate handles it
            try:
                answer = pickle.dumps((False, exc))
            except Exception:  # an error that cannot be pickled is said in words
                answer = pickle.dumps((False, RuntimeError(f"{type(exc).__name__}: {exc}")))
        answers.write(answer)
        answers.flush()


if __name__ == "__main__":
    _serve(int(sys.argv[1]))
