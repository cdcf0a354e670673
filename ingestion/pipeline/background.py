"""A call run in a thread beside the caller's own work (the gate's GX checkpoint, the standby copy)."""
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
