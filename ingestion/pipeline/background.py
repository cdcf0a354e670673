"""A call run in a thread beside the caller's own work (the gate's GX checkpoint, the standby copy), and one
work shared by several database sessions side by side (the rule kinds, the standby's marts)."""
from __future__ import annotations

import threading
import time


class Background:
    """Starts ``fn(*args, **kwargs)`` in a thread; join() returns its result or raises its exception."""

    def __init__(self, fn, *args, name: str = "cchc-background", **kwargs):
        self._result, self._error = None, None
        self.seconds = 0.0

        def target():
            started = time.perf_counter()
            try:
                self._result = fn(*args, **kwargs)
            except BaseException as exc:  # re-raised in the caller's thread
                self._error = exc
            finally:
                self.seconds = time.perf_counter() - started

        self._thread = threading.Thread(target=target, name=name, daemon=True)
        self._thread.start()

    def wait(self) -> None:
        """Until it ended, its error aside (the caller is raising its own)."""
        self._thread.join()

    def __enter__(self) -> "Background":
        return self

    def __exit__(self, exc_type, *exc) -> None:
        """A block that raised waits for the call first: nothing is left working behind a failed step
        (the caller still ``join``s it after a block that did not)."""
        if exc_type is not None:
            self.wait()

    def join(self):
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._result


def in_sessions(work, conn, dsn, sessions: int, *, name: str, on_error=None) -> None:
    """``work(session)`` in ``conn`` and, with ``dsn``, in ``sessions - 1`` more connections, each in a thread:
    the work takes its items from a list they share. Every session is waited for whatever happens, the
    connections opened here are closed, and the first error is raised (this thread's before the others').
    ``on_error``: called when this thread's work raised, before the others are waited for (to stop them)."""
    from ..warehouse.connection import connect

    others = [connect(dsn) for _ in range(sessions - 1)] if dsn is not None else []
    try:
        beside = [Background(work, other, name=name) for other in others]
        try:
            work(conn)
        except BaseException:
            if on_error is not None:
                on_error()
            raise
        finally:
            for job in beside:
                job.wait()
        for job in beside:
            job.join()
    finally:
        for other in others:
            other.close()
