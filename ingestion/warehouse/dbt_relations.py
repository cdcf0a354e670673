"""Which table or view a dbt model (or source) is, read from dbt's manifest.

Python reads some dbt relations directly (the gate, the feedback reports); it names them the
way the models do (``int_facts_basis``) and takes the schema-qualified relation dbt built from
the manifest (node ``relation_name``), so a model moved to another schema or aliased is followed.
The gate's reads are declared as the dbt exposure ``cchc_quality_gate``
(dbt_project/models/intermediate/_intermediate__exposures.yml), so `dbt docs` shows them.
"""
from __future__ import annotations

import json
import time
from functools import lru_cache
from pathlib import Path

from ..errors import SetupError


class ManifestMissing(SetupError):
    """dbt has not parsed the project into this target folder yet."""


def manifest_path(target_dir: Path | None = None) -> Path:
    if target_dir is None:
        from ..config import load_settings

        target_dir = load_settings().dbt_target_dir
    return Path(target_dir) / "manifest.json"


@lru_cache(maxsize=4)
def _relations(path: Path, mtime_ns: int) -> dict[str, str]:
    manifest = json.loads(path.read_text(encoding="utf-8"))
    out = {}
    for node in manifest.get("nodes", {}).values():
        if node.get("resource_type") in ("model", "seed", "snapshot") and node.get("relation_name"):
            out[node["name"]] = _schema_qualified(node["relation_name"])
    for source in manifest.get("sources", {}).values():
        out[f"{source['source_name']}.{source['name']}"] = _schema_qualified(source["relation_name"])
    return out


def _schema_qualified(relation_name: str) -> str:
    """'"cchc"."intermediate"."int_facts_basis"' -> 'intermediate.int_facts_basis' (the connection's database)."""
    parts = [p.strip('"') for p in relation_name.split(".")]
    return ".".join(parts[-2:])


def relation(name: str, target_dir: Path | None = None) -> str:
    """The relation of the model ``name`` (or of the source ``source.table``), schema-qualified."""
    path = manifest_path(target_dir)
    if not path.is_file():
        raise ManifestMissing(
            f"Chưa có manifest của dbt ({path}): hãy chạy `cchc dbt parse` (hoặc `make run`) trước. "
            f"/ dbt's manifest is missing: run `cchc dbt parse` (or `make run`) first.")
    found = _current_relations(path)
    if name not in found:
        raise ManifestMissing(f"dbt's manifest {path} has no model or source {name!r}: run `cchc dbt parse` again.")
    return found[name]


# The relations last read from each manifest, for a read that finds it being written.
_last_read: dict[Path, dict[str, str]] = {}
_WRITE_WAIT_SECONDS, _WRITE_POLL_SECONDS = 10.0, 0.05


def _current_relations(path: Path) -> dict[str, str]:
    """The manifest's relations, whether or not dbt is writing it at this moment.

    dbt writes manifest.json in place, not by rename: the night generates the docs page (which writes
    the manifest again) while the feedback reports read relations from it, and a report that read it
    half written failed the night. A manifest being written has the relations it had (the docs command
    builds nothing): the ones last read are used, or, in a process that has read none yet, the write
    is waited for.
    """
    deadline = time.monotonic() + _WRITE_WAIT_SECONDS
    while True:
        try:
            found = _relations(path, path.stat().st_mtime_ns)
        except ValueError:  # JSON cut short (or cut inside a character): dbt is writing it
            if path in _last_read:
                return _last_read[path]
            if time.monotonic() > deadline:
                raise ManifestMissing(f"dbt's manifest {path} stayed unreadable for {_WRITE_WAIT_SECONDS:.0f} s: "
                                      "run `cchc dbt parse` again.") from None
            time.sleep(_WRITE_POLL_SECONDS)
            continue
        _last_read[path] = found
        return found
