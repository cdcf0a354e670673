"""Creating the raw and audit tables (idempotent)."""
from __future__ import annotations

from importlib import resources


def schema_sql() -> str:
    return resources.files(__package__).joinpath("schema.sql").read_text(encoding="utf-8")


def ensure_schema(conn) -> None:
    with conn.cursor() as cur:
        # Serialise concurrent first runs: CREATE ... IF NOT EXISTS is not race-free.
        cur.execute("select pg_advisory_xact_lock(hashtext('cchc.schema'))")
        cur.execute(schema_sql())
    conn.commit()
