"""Garbage collection in a process that runs one night (ingestion/heap.py)."""
from __future__ import annotations

import gc
import subprocess
import sys
import textwrap

from ingestion import heap


def _python(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_process_that_did_not_opt_in_keeps_the_default_collector():
    before = gc.get_freeze_count()

    @heap.stage
    def a_stage():
        return gc.get_freeze_count()

    assert a_stage() == before == 0  # the test suite itself: nothing frozen, ever


def test_a_stage_begins_with_the_garbage_collected_and_the_survivors_frozen():
    out = _python("""
        import gc, weakref
        from ingestion import heap

        class Node:
            pass

        heap.one_run_process()
        survivor = Node()
        garbage = Node(); garbage.me = garbage  # a cycle: only the collector frees it
        alive_then_dead = weakref.ref(garbage)
        del garbage

        @heap.stage
        def a_stage():
            frozen = gc.get_freeze_count()
            print(alive_then_dead() is None, frozen > 0, any(o is survivor for o in gc.get_objects()))
            new = Node(); new.me = new
            return new

        a_stage()
    """)
    assert out.split() == ["True", "True", "False"]


def test_at_exit_the_collector_is_frozen_after_every_other_exit_handler():
    out = _python("""
        import atexit, gc, tempfile, weakref
        from pathlib import Path

        def after_everything():  # registered first: runs last
            print("tracked", len(gc.get_objects()), "tmp removed", not Path(folder.name).exists())

        atexit.register(after_everything)
        from ingestion import heap
        heap.one_run_process()
        folder = tempfile.TemporaryDirectory()  # removed by its finalizer at exit, as before
        junk = [[i] for i in range(1000)]
    """)
    assert out.split() == ["tracked", "0", "tmp", "removed", "True"]
