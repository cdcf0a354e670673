"""The two engines generated from the rule catalog give the same verdicts on the same workbooks:
the offline one inside `cchc check` and the SQL the Great Expectations gate runs in the warehouse."""
from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest
from conftest import SEED_REGISTRY, generated_inbox, query
from psycopg2.extras import RealDictCursor
from report_workbooks import REPORTS, build_inbox, write_registry
from seed_workbooks import SEED_UNITS, build

from ingestion import config
from ingestion.catalog import load_catalog
from ingestion.check import check_files
from ingestion.pipeline import nightly
from ingestion.registry import read_registry
from ingestion.rules.catalog import load_rules
from ingestion.rules.messages import render
from ingestion.rules.sql import evaluation_from_row
from ingestion.warehouse.connection import connect

pytestmark = pytest.mark.e2e


def _warehouse_verdicts(dsn) -> tuple[set, set]:
    rules, catalog = load_rules(), load_catalog()
    conn = connect(dsn)
    try:
        with conn.cursor(cursor_factory=RealDictCursor) as cur:
            cur.execute("""select d.*, f.path from audit.dq_results d left join raw.files f using (file_id)""")
            rows = cur.fetchall()
    finally:
        conn.close()
    per_file, per_unit = set(), set()
    for r in rows:
        ev = evaluation_from_row(r)
        if r["path"] is None:
            per_unit.add((r["rule_id"], r["unit_code"], r["year"], r["quarter"], r["status"]))
            continue
        message = render(ev, rules, catalog) if r["status"] == "fail" else None
        assert message == r["message"]  # what was stored is what the renderer says
        per_file.add((r["path"], r["rule_id"], r["severity"], r["status"], r["sheet"], r["row_number"],
                      tuple(r["rows"] or ()), message))
    return per_file, per_unit


def _offline_verdicts(inbox: Path, registry) -> tuple[set, set]:
    rules, catalog = load_rules(), load_catalog()
    files = sorted(p for p in inbox.rglob("*.xlsx") if "_registry" not in p.parts)
    result = check_files(files, registry=registry, completeness=True)
    per_file, per_unit = set(), set()
    for f in result.files:
        rel = Path(f.path).relative_to(inbox).as_posix()
        if f.status == "unreadable":
            continue  # the warehouse rejects these files before any rule runs
        for ev in f.evaluations:
            message = render(ev, rules, catalog) if ev.status == "fail" else None
            per_file.add((rel, ev.rule_id, ev.severity, ev.status, ev.sheet, ev.row, tuple(ev.rows), message))
    for row in result.completeness:
        year, quarter = row["period"].split("-Q")
        per_unit.add((row["rule"], row["unit"], int(year), int(quarter), "fail"))
    return per_file, per_unit


def _run_warehouse_gate() -> None:
    run = nightly.new_run_id()
    nightly.start(run)
    nightly.ingest_stage(run)
    nightly.build_candidates(run)
    nightly.validate_stage(run)


def test_engines_agree_on_a_generated_country(pipeline_env):
    inbox = pipeline_env["inbox"]
    # Eight quarters across the 2025 reorganisation: districts and their communes (levels rule),
    # year-to-date figures (cumulative rule), five quarters of history for new units (jump rule).
    manifest = generated_inbox(inbox, units=20, quarters=8, error_rate=0.3, seed=2, end=(2026, 3))
    kinds = Counter(i["kind"] for i in manifest["injected"])
    assert {"levels_mismatch", "cumulative_decrease", "rate_mismatch", "period_conflict"} <= set(kinds), kinds
    _run_warehouse_gate()
    registry = read_registry(inbox / "_registry" / "org_units.csv", inbox / "_registry" / "unit_mapping.csv")
    warehouse_files, warehouse_units = _warehouse_verdicts(pipeline_env["dsn"])
    offline_files, offline_units = _offline_verdicts(inbox, registry)

    assert len(warehouse_files) > 5000
    assert {r[1].split(":")[0] for r in warehouse_files if r[3] == "fail"} >= {
        "rate_matches_parts", "percent_in_range", "total_equals_parts", "part_not_above_whole", "coded_in_legend",
        "same_figure", "cumulative_not_decreasing", "levels_add_up", "required_present", "period_matches_path"}
    assert warehouse_files - offline_files == set()
    assert offline_files - warehouse_files == set()
    assert {u for u in warehouse_units if u[4] == "fail"} == offline_units


def test_engines_agree_on_the_seed_reports(pipeline_env, monkeypatch):
    inbox = pipeline_env["inbox"]
    for seed, (unit, period, _) in SEED_UNITS.items():
        build(seed, inbox / unit / period / f"phu_luc_{seed}.xlsx")
    shutil.copytree(SEED_REGISTRY, inbox / "_registry")
    monkeypatch.setenv(config.ENV_REGISTRY, str(inbox / "_registry" / "org_units.csv"))
    _run_warehouse_gate()
    registry = read_registry(inbox / "_registry" / "org_units.csv", inbox / "_registry" / "unit_mapping.csv")
    warehouse_files, _ = _warehouse_verdicts(pipeline_env["dsn"])
    offline_files, _ = _offline_verdicts(inbox, registry)
    assert warehouse_files == offline_files
    fails = sorted((r[0].split("/")[0], r[1], r[2]) for r in warehouse_files if r[3] == "fail")
    assert ("LAMTHAO", "rate_matches_parts:egov_online_dossier_rate", "error") in fails
    assert ("TAMQUANBAC", "part_not_above_whole:org_cs_present", "warning") in fails
    assert query(pipeline_env["dsn"], "select count(*) from audit.submission_gate where decision = 'held'")[0][0] == 2


def test_engines_agree_on_provincial_district_and_centre_reports(pipeline_env, monkeypatch):
    """Per-level blocks, level phrases, combined labels, totals without subtotals, forms 4 and 6."""
    inbox = pipeline_env["inbox"]
    build_inbox(inbox)
    registry_csv = write_registry(inbox / "_registry")
    monkeypatch.setenv(config.ENV_REGISTRY, str(registry_csv))
    _run_warehouse_gate()
    registry = read_registry(registry_csv, registry_csv.with_name("unit_mapping.csv"))
    warehouse_files, _ = _warehouse_verdicts(pipeline_env["dsn"])
    offline_files, _ = _offline_verdicts(inbox, registry)
    assert warehouse_files == offline_files
    kinds = {r[1].split(":")[0] for r in warehouse_files}
    assert {"whole_equals_levels", "total_equals_parts", "same_figure", "rate_matches_parts"} <= kinds
    scopes = query(pipeline_env["dsn"], """select coalesce(details ->> 'scope', 'unit'), status from audit.dq_results
                                            where rule_id = 'total_equals_parts:tthc_dossiers_pending' and unit_code = 'LD'""")
    assert sorted(scopes) == [("commune", "pass"), ("department", "pass"), ("district", "pass"), ("unit", "pass")]
    fails = {(r[0].split("/")[0], r[1], r[2]) for r in warehouse_files if r[3] == "fail" and r[2] != "info"
             and not r[1].startswith("required_present")}
    assert fails == {(report.unit_code, rule, severity) for report in REPORTS for rule, severity in report.breaks}
    # the per-level figures reach the marts with their scope; the unmatched one is kept
    held = {r[0] for r in query(pipeline_env["dsn"], "select f.unit_code from audit.submission_gate g "
                                                     "join raw.files f using (file_id) where g.decision = 'held'")}
    assert held == {"LD", "LAMTHAO"}
    nightly.publish_stage(nightly.new_run_id())
    received = query(pipeline_env["dsn"], """select scope, value from marts.fct_indicator_value
                                              where unit_code = 'LD' and period_key = '2020-Q2'
                                                and indicator_code = 'tthc_dossiers_received_total'""")
    assert sorted(received) == [("commune", 250000), ("department", 50000), ("district", 300000), ("unit", 600000)]
    kept = query(pipeline_env["dsn"], """select label, value from marts.fct_indicator_value
                                          where unit_code = 'TTPVHCC' and indicator_code is null""")
    assert kept == [("Số hồ sơ chậm hạn và quá hạn chưa có kết quả", 37)]
    rolled = query(pipeline_env["dsn"], """select scope, value from marts.fct_indicator_rollup
                                            where rollup_scope = 'current_unit' and unit_code = 'LD' and year = 2020
                                              and quarter = 2 and indicator_code = 'tthc_dossiers_received_total'""")
    assert sorted(rolled) == [("commune", 250000), ("department", 50000), ("district", 300000), ("unit", 600000)]
