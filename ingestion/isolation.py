"""Reading untrusted files in worker processes that one file cannot take down.

A native reader (python-calamine is Rust) can abort its whole process on a hostile file,
allocate gigabytes or never return. Files are therefore read in worker processes, each
with an address-space limit and no core dumps, and the parent watches them: a worker that
dies (abort, signal, out of memory) or overruns the time allowed for one file is replaced,
the file it was reading comes back as a ``Failure`` naming it, and the files queued behind
it go to the next worker. ``concurrent.futures`` cannot do this: one dead worker breaks
its whole pool and every pending future with it.

Workers receive a few files at a time and answer file by file, so the parent always knows
which file a worker is on. A file whose worker crashes is tried once more in a fresh
worker before it is blamed (the crash may have been the machine's, not the file's).
"""
from __future__ import annotations

import faulthandler
import multiprocessing as mp
import os
import resource
import signal
import time
from collections import deque
from dataclasses import dataclass
from multiprocessing.connection import wait
from typing import Any, Callable, Sequence

FILE_TIMEOUT_SECONDS = 60.0  # an appendix reads in milliseconds; this is a stuck or hostile file
WORKER_MEMORY_BYTES = 1 << 30  # address space a worker may take on top of what it started with
CHUNK = 8


@dataclass(frozen=True)
class Failure:
    """An item the worker could not finish: ``reason`` is crashed | timeout | memory | error.

    ``progress`` is the last thing the work reported with ``report_progress`` before it failed
    (e.g. the hash of the bytes a reader had read when it crashed).
    """
    reason: str
    detail: str
    progress: Any = None


_progress_channel: list = []  # in a worker: [connection, current item index]


def report_progress(value: Any) -> None:
    """Tell the parent something about the item being worked on, in case the work never finishes.

    Does nothing outside a worker process.
    """
    if _progress_channel:
        conn, index = _progress_channel
        try:
            conn.send((index, "progress", value))
        except (BrokenPipeError, ConnectionResetError):
            os._exit(0)  # the parent is gone: stop here rather than parse for nobody


def _signal_name(exitcode: int | None) -> str:
    if exitcode is None:
        return "still running"
    if exitcode < 0:
        try:
            return f"killed by signal {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"killed by signal {-exitcode}"
    return f"exited with status {exitcode}"


def _vm_size() -> int:
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _limit_resources(memory: int | None) -> None:
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # an aborting reader must not litter the disk
    if memory:
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        limit = _vm_size() + memory
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _worker_main(conn, fn: Callable[[Any], Any], memory: int | None) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    faulthandler.disable()  # a reader's crash is reported by the parent, with its file, not dumped here
    _limit_resources(memory)
    while True:
        try:
            batch = conn.recv()
        except (EOFError, OSError):
            return
        if batch is None:
            return
        for index, item in batch:
            _progress_channel[:] = [conn, index]
            exhausted = False
            try:
                answer = (index, "ok", fn(item))
            except MemoryError:
                answer, exhausted = (index, "memory", "MemoryError"), True
            except BaseException as exc:
                answer = (index, "error", f"{type(exc).__name__}: {exc}")
            try:
                conn.send(answer)
            except (BrokenPipeError, ConnectionResetError, EOFError):
                return  # the parent is gone (killed): nobody to answer
            except Exception as exc:  # an answer that cannot be pickled
                conn.send((index, "error", f"result not transferable: {type(exc).__name__}: {exc}"))
            if exhausted:
                return  # a fresh worker for the rest: this one's heap may be fragmented past its limit


def _allow_children() -> None:
    """Let a task that runs inside a daemonic process (a Celery prefork worker) start its readers.

    multiprocessing refuses children to a daemonic process so that none outlive it; the pool's
    readers never do (they are stopped, or killed, when the pool closes, and die with their pipe).
    """
    current = mp.current_process()
    if current.daemon:
        current._config.pop("daemon", None)


class _Worker:
    def __init__(self, ctx, fn, memory):
        self.conn, child = ctx.Pipe(duplex=True)
        self.process = ctx.Process(target=_worker_main, args=(child, fn, memory), daemon=True)
        self.process.start()
        child.close()
        self.inflight: deque[int] = deque()
        self.deadline = float("inf")

    def stop(self, kill: bool = False) -> None:
        if kill:
            self.process.kill()
        else:
            try:
                self.conn.send(None)
            except (OSError, ValueError):
                pass
        self.process.join(5)
        if self.process.is_alive():
            self.process.kill()
            # A process stuck in the kernel (a hung network share) dies only when its read
            # returns: do not wait for it, it holds nothing the run needs.
            self.process.join(5)
        self.conn.close()


class IsolatedPool:
    """``map`` over items in worker processes; results in input order, a ``Failure`` where one failed."""

    def __init__(self, fn: Callable[[Any], Any], workers: int, *, timeout: float = FILE_TIMEOUT_SECONDS,
                 memory: int | None = WORKER_MEMORY_BYTES, chunk: int = CHUNK):
        self.fn, self.n_workers, self.timeout, self.memory, self.chunk = fn, max(1, workers), timeout, memory, chunk
        self._ctx = mp.get_context("fork")
        self._workers: list[_Worker] = []
        self.progress: dict[int, Any] = {}
        self.crashes = 0  # workers lost, for the log

    def __enter__(self) -> "IsolatedPool":
        return self

    def __exit__(self, *exc) -> None:
        self.close(kill=exc[0] is not None)

    def close(self, kill: bool = False) -> None:
        for w in self._workers:
            w.stop(kill=kill)
        self._workers.clear()

    def _spawn(self) -> _Worker:
        _allow_children()
        w = _Worker(self._ctx, self.fn, self.memory)
        self._workers.append(w)
        return w

    def _retire(self, w: _Worker, kill: bool) -> None:
        self._workers.remove(w)
        w.stop(kill=kill)

    def map(self, items: Sequence[Any], on_settled: Callable[[], None] | None = None) -> list[Any]:
        """``on_settled`` is called once per item as it is done (progress lines), in the parent."""
        n = len(items)
        results: list[Any] = [None] * n
        pending: deque[int] = deque(range(n))
        retried: set[int] = set()
        self.progress.clear()
        done = 0
        while len(self._workers) < min(self.n_workers, n):
            self._spawn()

        def settle(index: int, value: Any) -> None:
            nonlocal done
            results[index] = value
            done += 1
            if on_settled is not None:
                on_settled()

        def lose(w: _Worker, reason: str, detail: str, kill: bool) -> None:
            """A worker died or hung: blame the file it was on, requeue the rest, replace it."""
            self.crashes += 1
            inflight = list(w.inflight)
            self._retire(w, kill=kill)
            if inflight:
                head, rest = inflight[0], inflight[1:]
                if reason == "crashed" and head not in retried:
                    retried.add(head)
                    rest = [head, *rest]  # first in its next batch: a second crash is surely its own
                else:
                    settle(head, Failure(reason, detail, self.progress.pop(head, None)))
                pending.extendleft(reversed(rest))
            if pending and len(self._workers) < self.n_workers:
                self._spawn()

        while done < n:
            idle = [w for w in self._workers if not w.inflight]
            for w in idle:
                if not pending:
                    break
                size = max(1, min(self.chunk, -(-len(pending) // len(self._workers))))
                batch = [pending.popleft() for _ in range(min(size, len(pending)))]
                try:
                    w.conn.send([(i, items[i]) for i in batch])
                except (OSError, ValueError):
                    pending.extendleft(reversed(batch))
                    lose(w, "crashed", _signal_name(w.process.exitcode), kill=True)
                    continue
                w.inflight.extend(batch)
                w.deadline = time.monotonic() + self.timeout
            busy = [w for w in self._workers if w.inflight]
            if not busy:
                if not self._workers:
                    self._spawn()
                continue
            by_handle: dict[Any, _Worker] = {}
            for w in busy:
                by_handle[w.conn] = w
                by_handle[w.process.sentinel] = w
            wait_for = max(0.0, min(w.deadline for w in busy) - time.monotonic())
            ready = wait(list(by_handle), timeout=wait_for)
            seen: set[int] = set()
            for handle in ready:
                w = by_handle[handle]
                if id(w) in seen or w not in self._workers:
                    continue
                seen.add(id(w))
                ended = False
                try:
                    while w.inflight and w.conn.poll():
                        index, status, payload = w.conn.recv()
                        if status == "progress":
                            self.progress[index] = payload
                            continue
                        if index != w.inflight[0]:
                            raise RuntimeError(f"worker answered item {index}, expected {w.inflight[0]}")
                        w.inflight.popleft()
                        settle(index, payload if status == "ok"
                               else Failure(status, str(payload), self.progress.pop(index, None)))
                        self.progress.pop(index, None)
                        w.deadline = time.monotonic() + self.timeout
                except (EOFError, OSError):
                    ended = True
                if not (ended or w.process.sentinel in ready):
                    continue  # alive and answering: no system call spent checking on it
                w.process.join(1)
                if w.process.exitcode is not None:
                    if w.process.exitcode == 0:  # it stopped itself after running out of memory
                        pending.extendleft(reversed(w.inflight))
                        w.inflight.clear()
                        self._retire(w, kill=False)
                        if pending and len(self._workers) < self.n_workers:
                            self._spawn()
                    else:
                        lose(w, "crashed", _signal_name(w.process.exitcode), kill=False)
            now = time.monotonic()
            for w in [w for w in self._workers if w.inflight and now > w.deadline]:
                lose(w, "timeout", f"no answer within {self.timeout:g} s", kill=True)
        return results


def run_isolated(fn: Callable[[Any], Any], items: Sequence[Any], *, workers: int | None = None, **kw) -> list[Any]:
    """One-off ``IsolatedPool.map`` (``cchc check``, ``cchc extract``)."""
    workers = workers or min(len(items), os.cpu_count() or 1)
    with IsolatedPool(fn, workers, **kw) as pool:
        return pool.map(items)
