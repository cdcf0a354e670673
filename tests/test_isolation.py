"""Worker processes that one hostile file cannot take down (ingestion/isolation.py)."""
from __future__ import annotations

import os
import time

from ingestion.isolation import Failure, IsolatedPool, report_progress, run_isolated


def _work(item):
    """Items say what to do: a number is squared; the rest misbehave as a native reader can."""
    kind, value = item
    report_progress(f"started {value}")
    if kind == "abort":
        os.abort()  # what a Rust panic or a failed allocation does to the process
    if kind == "kill":
        os.kill(os.getpid(), 9)
    if kind == "hang":
        time.sleep(3600)
    if kind == "hog":
        return len(bytearray(8 << 30))  # 8 GB, far above the worker's allowance
    if kind == "raise":
        raise ValueError("bad cell")
    return value * value


def test_a_crashing_item_is_a_failure_of_that_item_only():
    items = [("ok", i) for i in range(20)]
    items[3] = ("abort", 3)
    items[11] = ("kill", 11)
    with IsolatedPool(_work, 2, timeout=30, chunk=4) as pool:
        results = pool.map(items)
        assert pool.crashes == 4  # each crasher was given a second chance in a fresh worker
        # the pool keeps working for the next batch
        assert pool.map([("ok", 7)]) == [49]
    for i, r in enumerate(results):
        if i in (3, 11):
            assert isinstance(r, Failure) and r.reason == "crashed", r
            assert r.progress == f"started {i}"
        else:
            assert r == i * i
    assert "SIGABRT" in results[3].detail and "SIGKILL" in results[11].detail


def test_a_hanging_item_times_out_and_the_rest_go_on():
    items = [("ok", 1), ("hang", 2), ("ok", 3), ("ok", 4)]
    started = time.monotonic()
    results = run_isolated(_work, items, workers=1, timeout=2, chunk=4)
    assert time.monotonic() - started < 30
    assert results[0] == 1 and results[2:] == [9, 16]
    assert isinstance(results[1], Failure) and results[1].reason == "timeout"


def test_memory_is_capped_per_worker():
    results = run_isolated(_work, [("hog", 0), ("ok", 5)], workers=1, memory=512 << 20)
    assert isinstance(results[0], Failure) and results[0].reason == "memory"
    assert results[1] == 25


def test_an_exception_is_reported_with_its_item():
    results = run_isolated(_work, [("raise", 0), ("ok", 2)], workers=2)
    assert isinstance(results[0], Failure) and results[0].reason == "error" and "bad cell" in results[0].detail
    assert results[1] == 4
