"""Errors a person can act on: one line in Vietnamese, no traceback.

`cchc` prints the message and exits with `exit_code`; the Airflow DAG retries only the
ones marked transient (a server restarting), never a wrong setting or password.
"""
from __future__ import annotations


class CchcError(Exception):
    exit_code = 2
    transient = False

    def __init__(self, message: str):
        # One line whatever the cause: a message is printed, logged and stored as is.
        self.message = " ".join(str(message).split())
        super().__init__(self.message)


class SetupError(CchcError):
    """A wrong setting, a missing or broken input the operator must fix (inbox, registry, URL, password)."""


class WarehouseUnavailable(CchcError):
    """The warehouse cannot be reached right now (refused, no answer): worth trying again later."""
    transient = True


class DiskFull(CchcError):
    """The disk under the warehouse or the inbox is full: trying again changes nothing until space is freed."""
