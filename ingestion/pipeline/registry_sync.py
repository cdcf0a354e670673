"""Copy the registry CSVs into raw.org_units / raw.unit_mapping when their content changed.

History of registry edits is kept by the dbt snapshot (SCD2) built on these tables.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from ..registry import MAPPING_COLUMNS, ORG_UNIT_COLUMNS, Registry, read_registry
from ..warehouse.copy import copy_rows


def _hash(*paths: Path | None) -> str:
    h = hashlib.sha256()
    for p in paths:
        h.update(p.read_bytes() if p is not None and p.is_file() else b"-")
    return h.hexdigest()


def sync_registry(conn, units_csv: Path, mapping_csv: Path | None,
                  registry: Registry | None = None) -> tuple[Registry, bool]:
    """Returns the registry and whether the warehouse copy was replaced."""
    registry = registry or read_registry(units_csv, mapping_csv)
    digest = _hash(units_csv, mapping_csv)
    with conn.cursor() as cur:
        cur.execute("select source_hash from raw.org_units limit 1")
        row = cur.fetchone()
        if row is not None and row[0] == digest:
            return registry, False
        cur.execute("lock table raw.org_units, raw.unit_mapping in exclusive mode")
        cur.execute("delete from raw.org_units")
        cur.execute("delete from raw.unit_mapping")
        copy_rows(cur, "raw.org_units", (*ORG_UNIT_COLUMNS, "source_hash"),
                  ((u.code, u.name, u.level, u.unit_type, u.parent, u.valid_from, u.valid_to, digest)
                   for u in registry.units.values()))
        copy_rows(cur, "raw.unit_mapping", (*MAPPING_COLUMNS, "source_hash"),
                  ((m.old_code, m.new_code, m.weight, m.effective_date, digest) for m in registry.mappings))
    conn.commit()
    return registry, True
