"""The relations Python reads come from dbt's manifest, and the gate is declared to dbt as an exposure."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from ingestion import config
from ingestion.cli import main
from ingestion.rules.kinds import KINDS
from ingestion.rules.sql import Relations
from ingestion.warehouse.dbt_relations import ManifestMissing, relation

EXPOSURES = config.DBT_PROJECT_DIR / "models" / "intermediate" / "_intermediate__exposures.yml"


def _manifest(target: Path, schema: str = "intermediate") -> Path:
    nodes = {f"model.cchc_warehouse.{name}": {"resource_type": "model", "name": name,
                                              "relation_name": f'"cchc"."{schema}"."{name}"'}
             for name in Relations.MODELS.values() if "." not in name}
    sources = {"source.cchc_warehouse.audit.dq_results": {"source_name": "audit", "name": "dq_results",
                                                          "relation_name": '"cchc"."audit"."dq_results"'}}
    target.mkdir(parents=True, exist_ok=True)
    (target / "manifest.json").write_text(json.dumps({"nodes": nodes, "sources": sources}))
    return target


def test_a_missing_manifest_says_what_to_run(tmp_path):
    with pytest.raises(ManifestMissing, match=r"cchc dbt parse") as err:
        relation("int_facts_basis", tmp_path)
    assert str(tmp_path / "manifest.json") in str(err.value)


def test_relations_follow_the_schema_dbt_built_them_in(tmp_path):
    target = _manifest(tmp_path, schema="gate_models")
    assert relation("int_facts_basis", target) == "gate_models.int_facts_basis"
    assert relation("audit.dq_results", target) == "audit.dq_results"
    with pytest.raises(ManifestMissing, match="int_nothing"):
        relation("int_nothing", target)


def test_the_gate_exposure_lists_every_relation_the_gate_reads():
    [gate] = [e for e in yaml.safe_load(EXPOSURES.read_text())["exposures"] if e["name"] == "cchc_quality_gate"]
    declared = set()
    for dep in gate["depends_on"]:
        ref = re.fullmatch(r"ref\('(\w+)'\)", dep)
        src = re.fullmatch(r"source\('(\w+)', '(\w+)'\)", dep)
        declared.add(ref.group(1) if ref else f"{src.group(1)}.{src.group(2)}")
    # the rule queries' relations, and the candidates the validate stage copies into the batch
    assert declared == set(Relations.MODELS.values()) | {"int_facts_candidates"}


def test_rules_sql_writes_one_file_per_kind_with_the_manifests_relations(tmp_path, monkeypatch, capsys):
    home = tmp_path / "home"
    _manifest(home / "dbt-target", schema="gate_models")
    monkeypatch.setenv(config.ENV_HOME, str(home))
    assert main(["rules", "sql", "--out", str(tmp_path / "sql")]) == 0
    written = {p.stem: p.read_text() for p in (tmp_path / "sql").glob("*.sql")}
    assert set(written) == set(KINDS)
    assert "from gate_models.int_facts_basis as b" in written["cumulative_not_decreasing"]
    assert "from work.gate_batch as batch_rows" in written["percent_in_range"]
    assert "{batch}" not in "".join(written.values())


def test_a_manifest_being_written_is_read_as_it_was_or_once_written(tmp_path):
    """dbt rewrites manifest.json in place while the docs page is generated beside the reports: a read
    that meets it half written uses the relations it had, or waits for the write to end."""
    import os
    import threading

    target = _manifest(tmp_path / "read", schema="gate_models")
    whole = (target / "manifest.json").read_text()
    assert relation("int_facts_basis", target) == "gate_models.int_facts_basis"
    (target / "manifest.json").write_text(whole[:len(whole) // 2])
    os.utime(target / "manifest.json", ns=(1, 1))  # another version than the one read
    assert relation("stg_raw__files", target) == "gate_models.stg_raw__files"

    unread = _manifest(tmp_path / "unread", schema="later")
    (unread / "manifest.json").write_text(whole.replace("gate_models", "later")[:100])
    writer = threading.Timer(0.3, _manifest, args=(unread, "later"))
    writer.start()
    try:
        assert relation("int_facts_basis", unread) == "later.int_facts_basis"
    finally:
        writer.join()
    assert writer.finished.is_set()
