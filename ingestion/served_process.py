"""A Python process of its own that imports a heavy library ahead, then runs calls for the night.

Importing dbt or Great Expectations costs seconds of one core. A night run in one process
(`cchc run --direct`) starts such a process before it needs the library: the import runs on the other
core while the night does other work, and the calls then run there, never in the night's interpreter.

A plain subprocess, not multiprocessing: nothing of the parent (its main module, its threads, its
connections) is carried into it. Requests and answers are pickled: requests on its stdin, answers on
a pipe of its own; its stdout and stderr are the parent's, where the library's own messages go. A call
may send events before its answer (dbt's nodes done, for the progress lines), handled in the parent.
"""
from __future__ import annotations

import logging
import os
import pickle
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, Callable

from . import heap

log = logging.getLogger(__name__)
_SOURCE_ROOT = Path(__file__).resolve().parents[1]  # the folder holding the `ingestion` package
_EVENT, _OK, _ERROR = "event", "ok", "error"


class ServedProcessError(RuntimeError):
    """The process ended without answering (killed, out of memory)."""


class ServedProcess:
    """One process running ``python -m <module>``, whose main calls ``serve``.

    Subclasses name the module and what the process is, for the messages; ``call`` sends a request.
    """

    module: str = ""
    what: str = "the helper process"
    error = ServedProcessError

    def __init__(self) -> None:
        read, write = os.pipe()
        # This very code, whatever the working directory: the process imports `ingestion` from here.
        path = os.pathsep.join(filter(None, [str(_SOURCE_ROOT), os.environ.get("PYTHONPATH")]))
        try:
            self._process = subprocess.Popen([sys.executable, "-m", self.module, str(write)], stdin=subprocess.PIPE,
                                             pass_fds=(write,), env=dict(os.environ, PYTHONPATH=path))
        except BaseException:
            os.close(read)
            raise
        finally:
            os.close(write)
        self._answers = os.fdopen(read, "rb")
        self._sent_ahead = 0  # requests of send_ahead whose answers are still to be read

    @property
    def pid(self) -> int:
        return self._process.pid

    def call(self, request: Any, on_event: Callable[[Any], None] | None = None) -> Any:
        """The answer to ``request``; an error raised there is raised again here."""
        self._settle_sent()
        self._send(request)
        kind, value = self._answer(on_event)
        if kind == _ERROR:
            raise value
        return value

    def send_ahead(self, request: Any) -> None:
        """Send ``request`` and return at once: the process works on it while this one goes on.

        For work that only saves time later (it prepares what a later call needs): its answer is read
        before the next call's, and a failure is only logged, since the later call does the work itself
        if it was not done."""
        self._send(request)
        self._sent_ahead += 1

    def _settle_sent(self) -> None:
        while self._sent_ahead:
            self._sent_ahead -= 1
            kind, value = self._answer(None)
            if kind == _ERROR:
                log.warning("%s: work sent ahead failed (the next call does it itself): %s", self.what, value)

    def _send(self, request: Any) -> None:
        try:
            self._process.stdin.write(pickle.dumps(request))
            self._process.stdin.flush()
        except BrokenPipeError as exc:
            raise self._died() from exc

    def _answer(self, on_event: Callable[[Any], None] | None) -> tuple[str, Any]:
        try:
            while True:
                kind, value = pickle.load(self._answers)
                if kind != _EVENT:
                    return kind, value
                if on_event is not None:
                    on_event(value)
        except (EOFError, pickle.UnpicklingError) as exc:  # it died, maybe halfway through an answer
            raise self._died() from exc

    def _died(self) -> ServedProcessError:
        code = self._process.wait()
        return self.error(f"{self.what} ended without a result (exit code {code})")

    def close(self) -> None:
        """End the process by killing it: it holds nothing of the night (an answer is read whole before
        ``call`` returns; work sent ahead only prepares what a later call would do itself), while leaving
        it to end at the end of its input made the night wait for its interpreter's teardown (GX, scipy:
        0.5 s to 2 s), or for an import still running on a night that never needed it."""
        try:
            self._process.stdin.close()
        except OSError:
            pass
        self._process.kill()  # nothing if it has ended already
        self._process.wait()
        self._answers.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def serve(answer_fd: int, prepare: Callable[[], None], handle: Callable[[Any, Callable[[Any], None]], Any]) -> None:
    """The process's main loop: ``prepare()`` (the import), then ``handle(request, emit)`` per request."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the night's to handle: it ends this process
    answers = os.fdopen(answer_fd, "wb")
    one_writer = threading.Lock()  # events may come from the library's own threads (dbt's node runners)

    def send(kind: str, value: Any) -> None:
        message = pickle.dumps((kind, value))
        with one_writer:
            answers.write(message)
            answers.flush()

    # It runs one night and ends: the library's objects are frozen out of the cyclic collector's walks.
    heap.one_run_process()
    prepare()  # what this process is for: done while the parent does other work
    heap.settle()
    requests = sys.stdin.buffer
    while True:
        try:
            request = pickle.load(requests)
        except EOFError:
            return
        try:
            answer = pickle.dumps((_OK, handle(request, lambda value: send(_EVENT, value))))
        except BaseException as exc:  # raised again in the parent, where the night handles it
            try:
                answer = pickle.dumps((_ERROR, exc))
            except Exception:  # an error that cannot be pickled is said in words
                answer = pickle.dumps((_ERROR, RuntimeError(f"{type(exc).__name__}: {exc}")))
        with one_writer:
            answers.write(answer)
            answers.flush()
        heap.settle()
