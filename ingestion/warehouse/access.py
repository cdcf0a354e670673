"""Which login does what: the administrator sets up, the pipeline runs the night, BI tools read.

CCHC_DATABASE_URL (or the embedded server) may be
  - an administrator (a superuser): the project creates the roles itself and runs the night as
    cchc_pipeline, whose password is CCHC_PIPELINE_PASSWORD or derived from the administrator's;
  - the cchc_pipeline login itself (or any non-superuser an administrator prepared with
    `cchc db setup`): used as is; the night checks that it cannot touch the history.
bi_reader's password is CCHC_BI_PASSWORD or derived the same way. With no administrator's
password to derive from, generated ones are kept in $CCHC_HOME/secrets.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..config import Settings, load_settings
from . import secrets
from .connection import Dsn, connect, warehouse_dsn
from .roles import BI_ROLE, PIPELINE_ROLE, ensure_roles

_SUPERUSER: dict[str, bool] = {}


@dataclass(frozen=True)
class Access:
    admin: Dsn | None  # None: CCHC_DATABASE_URL is the pipeline's own login
    pipeline: Dsn
    bi: Dsn
    embedded: bool


def _is_superuser(dsn: Dsn) -> bool:
    key = dsn.url()
    if key not in _SUPERUSER:
        conn = connect(dsn)
        try:
            with conn.cursor() as cur:
                cur.execute("select rolsuper from pg_roles where rolname = current_user")
                _SUPERUSER[key] = bool(cur.fetchone()[0])
        finally:
            conn.close()
    return _SUPERUSER[key]


def _password(settings: Settings, configured: str | None, master: str, role: str) -> str:
    if configured:
        return configured
    if master:
        return secrets.derived(master, role)
    return secrets.stored(settings.secrets_dir, role)


def resolve(settings: Settings | None = None) -> Access:
    """The logins, without changing anything in the warehouse (starts the embedded server if needed)."""
    settings = settings or load_settings()
    base = warehouse_dsn(settings)
    embedded = not settings.database_url
    if base.user != PIPELINE_ROLE and (embedded or _is_superuser(base)):
        pipeline = base.with_user(PIPELINE_ROLE, _password(settings, settings.pipeline_password, base.password,
                                                           PIPELINE_ROLE))
        bi = base.with_user(BI_ROLE, _password(settings, settings.bi_password, base.password, BI_ROLE))
        return Access(base, pipeline, bi, embedded)
    return Access(None, base, base.with_user(BI_ROLE, settings.bi_password or ""), embedded)


def prepare(settings: Settings | None = None) -> Access:
    """``resolve``, then create or reset the roles with the project's passwords (administrator only)."""
    acc = resolve(settings)
    if acc.admin is not None:
        conn = connect(acc.admin)
        try:
            ensure_roles(conn, pipeline_password=acc.pipeline.password, bi_password=acc.bi.password,
                         own_cluster=acc.embedded)
        finally:
            conn.close()
    return acc


def pipeline_dsn(settings: Settings | None = None) -> Dsn:
    return resolve(settings).pipeline
