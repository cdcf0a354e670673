"""Warehouse connections for the console: a small pool, opened on first use."""
from __future__ import annotations

import contextlib
import threading

import psycopg2

from ..config import load_settings
from ..warehouse import access
from ..warehouse.connection import Dsn


class Database:
    def __init__(self, dsn: Dsn | None = None, size: int = 4):
        self._dsn, self._size = dsn, size
        self._pool = None
        self._lock = threading.Lock()

    @property
    def dsn(self) -> Dsn:
        if self._dsn is None:
            # The pipeline role: it reads the marts and may append reviews to audit (not rewrite them).
            # Starts the embedded server when it is the warehouse.
            self._dsn = access.prepare(load_settings()).pipeline
        return self._dsn

    def _get_pool(self):
        with self._lock:
            if self._pool is None:
                from psycopg2.pool import ThreadedConnectionPool

                self._pool = ThreadedConnectionPool(1, self._size, self.dsn.url(),
                                                    application_name="cchc-console")
            return self._pool

    @contextlib.contextmanager
    def connection(self):
        pool = self._get_pool()
        conn = pool.getconn()
        broken = False
        try:
            yield conn
        except Exception:
            try:
                conn.rollback()
            except psycopg2.Error:
                broken = True
            raise
        finally:
            if not broken and conn.closed:
                broken = True
            if not broken:
                conn.rollback()  # leave no transaction open between requests
            pool.putconn(conn, close=broken)

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.closeall()
                self._pool = None
