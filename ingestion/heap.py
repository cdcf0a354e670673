"""Garbage collection in a process that runs one night and then ends (`cchc run`, with or without Airflow).

The stages import large libraries (dbt, Great Expectations, Airflow: hundreds of thousands of
objects) and keep catalogs and caches for the whole run. Python's cyclic collector walks all of
them again at every full collection (4 s of a 1,000-file night) and once more at exit (1.7 s, 3 s
in the process that runs the DAG), only to free memory the operating system takes back anyway. So:

- when a stage begins, the previous stage's garbage is collected and what survived it is frozen:
  later collections walk only what is new;
- at exit the collector is frozen by the last exit handler to run: the other exit handlers,
  flushes and finalizers (temporary folders ...) still run as before.

Only a process started for one command opts in (``one_run_process``: ``cchc ...``, the process that
runs the DAG), and only the night's stages settle: the test suite, which calls the same code many
times in one process, and Airflow's own processes keep Python's default collector.
"""
from __future__ import annotations

import atexit
import functools
import gc

_process = {"one_run": False}  # set once, by the process's entry point


def one_run_process() -> None:
    """This process ends when its command is done (see the module's text)."""
    if not _process["one_run"]:
        # Exit handlers run last-registered first: registered before the heavy imports register
        # theirs, this one runs after them.
        atexit.register(gc.freeze)
        _process["one_run"] = True


def settle() -> None:
    """Collect the garbage so far and freeze what survives (a no-op unless ``one_run_process``)."""
    if _process["one_run"]:
        gc.collect()
        gc.freeze()


def stage(func):
    """A stage of the night: it begins on a settled heap."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        settle()
        return func(*args, **kwargs)
    return wrapper
