"""The raw and audit tables (idempotent SQL, applied by ``roles.secure_schema``)."""
from __future__ import annotations

import hashlib
from importlib import resources


def schema_sql() -> str:
    return resources.files(__package__).joinpath("schema.sql").read_text(encoding="utf-8")


def schema_digest() -> str:
    """Which schema.sql the warehouse was last set up with (a pipeline-only login checks it)."""
    return hashlib.sha256(schema_sql().encode()).hexdigest()[:16]
