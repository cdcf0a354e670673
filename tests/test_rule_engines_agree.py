"""The two engines generated from the rule catalog give the same verdicts on the same workbooks:
the offline one inside `cchc check` and the SQL the gate runs in the warehouse (whose evaluations Great Expectations validates)."""
from __future__ import annotations

import os
import shutil
import time
from collections import Counter
from pathlib import Path

import pytest
from conftest import SEED_REGISTRY, generated_inbox, query, with_figure
from psycopg2.extras import RealDictCursor
from seed_documents import build_document
from report_workbooks import REPORTS, build_inbox, write_registry
from seed_workbooks import SEED_UNITS, build

from ingestion import config
from ingestion.indicators import load_catalog
from ingestion.check import check_files
from ingestion.pipeline import nightly
from ingestion.registry import read_registry
from ingestion.rules.ruleset import load_rules
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
    files = sorted(p for p in inbox.rglob("*") if p.suffix in (".xlsx", ".docx") and "_registry" not in p.parts)
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


def _run_warehouse_gate() -> str:
    run = nightly.new_run_id()
    nightly.start(run)
    nightly.ingest_stage(run)
    nightly.build_candidates(run)
    nightly.validate_stage(run)
    return run


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


def _seed_verdicts(pipeline_env, monkeypatch) -> tuple[set, set]:
    """Run the warehouse gate on the inbox with the seed units' registry; both engines' verdicts per file."""
    inbox = pipeline_env["inbox"]
    shutil.copytree(SEED_REGISTRY, inbox / "_registry")
    monkeypatch.setenv(config.ENV_REGISTRY, str(inbox / "_registry" / "org_units.csv"))
    _run_warehouse_gate()
    registry = read_registry(inbox / "_registry" / "org_units.csv", inbox / "_registry" / "unit_mapping.csv")
    return _warehouse_verdicts(pipeline_env["dsn"])[0], _offline_verdicts(inbox, registry)[0]


def test_engines_agree_on_the_seed_reports(pipeline_env, monkeypatch):
    inbox = pipeline_env["inbox"]
    for seed, (unit, period, _) in SEED_UNITS.items():
        build(seed, inbox / unit / period / f"phu_luc_{seed}.xlsx")
    warehouse_files, offline_files = _seed_verdicts(pipeline_env, monkeypatch)
    assert warehouse_files == offline_files
    fails = sorted((r[0].split("/")[0], r[1], r[2]) for r in warehouse_files if r[3] == "fail")
    assert ("LAMTHAO", "rate_matches_parts:egov_online_dossier_rate", "error") in fails
    assert ("TAMQUANBAC", "part_not_above_whole:org_cs_present", "warning") in fails
    assert query(pipeline_env["dsn"], "select count(*) from audit.submission_gate where decision = 'held'")[0][0] == 2


def _set_directive_docs(data: bytes, value: int) -> bytes:
    return with_figure(data, "Số văn bản chỉ đạo CCHC", value)  # no rule involves this figure


def test_engines_agree_on_files_and_versions(pipeline_env):
    """Several files in one folder, one workbook in two units' folders, a superseded version dropped again."""
    import os

    inbox = pipeline_env["inbox"]
    generated_inbox(inbox, units=8, quarters=1, error_rate=0.0, seed=7, end=(2026, 3))
    files = sorted(p for p in inbox.rglob("*.xlsx") if "_registry" not in p.parts)
    a, b, c, d = files[:4]
    # b's folder also holds a's workbook, byte for byte (dropped into the wrong folder)
    copy = b.with_name("zz_" + a.name)
    copy.write_bytes(a.read_bytes())
    # c's folder: a second, corrected workbook beside the first
    second = c.with_name("zz_" + c.name)
    second.write_bytes(_set_directive_docs(c.read_bytes(), 41))
    # d's folder: version 1, version 2, then version 1 again
    original = d.read_bytes()
    v2 = d.with_name("v2_" + d.name)
    v2.write_bytes(_set_directive_docs(original, 41))
    v3 = d.with_name("v3_" + d.name)
    v3.write_bytes(original)
    # load order = modification time: what the offline engine gets as the order of the paths
    ordered = sorted(p for p in inbox.rglob("*.xlsx") if "_registry" not in p.parts)
    for i, path in enumerate(ordered):
        os.utime(path, (1_700_000_000 + i, 1_700_000_000 + i))

    _run_warehouse_gate()
    registry = read_registry(inbox / "_registry" / "org_units.csv", inbox / "_registry" / "unit_mapping.csv")
    warehouse_files, _ = _warehouse_verdicts(pipeline_env["dsn"])
    offline_files, _ = _offline_verdicts(inbox, registry)
    assert warehouse_files == offline_files

    def fails(kind):
        return {(r[0], r[7]) for r in warehouse_files if r[1] == kind and r[3] == "fail"}

    rel = lambda p: p.relative_to(inbox).as_posix()  # noqa: E731
    several = fails("one_file_per_quarter")
    assert {p for p, _ in several} == {rel(b), rel(copy), rel(c), rel(second), rel(d), rel(v2), rel(v3)}
    message = dict(several)[rel(c)]
    assert f"“{c.name}”" in message and f"“{second.name}”" in message and "2 tệp" in message
    twins = dict(fails("content_unique_across_units"))
    assert set(twins) == {rel(a), rel(copy)}
    assert f"đơn vị {b.parts[-3]}" in twins[rel(a)] and f"đơn vị {a.parts[-3]}" in twins[rel(copy)]
    reverted = dict(fails("version_not_reverted"))
    assert set(reverted) == {rel(v3)}
    assert f"phiên bản thứ 1 (“{d.name}”)" in reverted[rel(v3)] and f"phiên bản thứ 2 (“{v2.name}”)" in reverted[rel(v3)]
    held = {r[0] for r in query(pipeline_env["dsn"], """select f.path from audit.submission_gate g join raw.files f
                                                      using (file_id) where g.decision = 'held'""")}
    assert held == {rel(a), rel(copy), rel(v3)}


def test_engines_agree_on_word_reports(pipeline_env, monkeypatch):
    """The three reports as Word documents; Lâm Thao also sent its spreadsheet, and its document has one
    figure typed differently. Both engines: the same verdicts, narrative and pairing rules included."""
    inbox = pipeline_env["inbox"]
    for seed, (unit, period, _) in SEED_UNITS.items():
        changes = {"Số cơ quan, tổ chức hành chính đã được phê duyệt vị trí việc làm": "13"} if seed == "002" else None
        build_document(seed, inbox / unit / period / f"bao_cao_{seed}.docx", changes)
    unit, period, _ = SEED_UNITS["002"]
    sheet = build("002", inbox / unit / period / "phu_luc.xlsx", typed=True)
    os.utime(sheet, (time.time() - 3600, time.time() - 3600))  # sent first: the document is the later file
    warehouse_files, offline_files = _seed_verdicts(pipeline_env, monkeypatch)
    assert warehouse_files == offline_files
    by_kind = Counter((r[0].split("/")[0], r[1].split(":")[0], r[3]) for r in warehouse_files)
    assert by_kind[("KIMPHUONG", "narrative_matches_appendix", "fail")] == 1
    assert by_kind[("KIMPHUONG", "narrative_matches_appendix", "pass")] == 1
    assert by_kind[("LAMTHAO", "narrative_matches_appendix", "pass")] == 9
    assert by_kind[("LAMTHAO", "narrative_matches_appendix", "fail")] == 0
    assert by_kind[("TAMQUANBAC", "narrative_matches_appendix", "pass")] == 1
    pairing = sorted(r for r in warehouse_files if r[1] == "document_matches_spreadsheet")
    assert [(r[0], r[3]) for r in pairing] == [("LAMTHAO/2023-Q3/bao_cao_002.docx", "fail")]
    assert pairing[0][7] == ("Bảng 6, dòng 4: Số cơ quan, tổ chức hành chính đã được phê duyệt vị trí việc làm "
                             "theo quy định = 13 trong tệp bao_cao_002.docx, nhưng tệp phu_luc.xlsx ghi 12 "
                             "(Biểu mẫu 5, dòng 111)")
    # the spreadsheet's figures are the unit-quarter's, whatever order the files came in
    chosen = query(pipeline_env["dsn"], """select source_path from intermediate.int_submissions_basis
                                           where unit_code = 'LAMTHAO'""")
    assert chosen == [("LAMTHAO/2023-Q3/phu_luc.xlsx",)]
    # a spreadsheet and its Word report in one folder are a pair, not two versions of one file
    assert not [r for r in warehouse_files if r[1].split(":")[0] == "one_file_per_quarter" and r[3] == "fail"]


def test_engines_agree_on_provincial_district_and_centre_reports(pipeline_env, monkeypatch):
    """Per-level blocks, level phrases, combined labels, totals without subtotals, forms 4 and 6."""
    inbox = pipeline_env["inbox"]
    build_inbox(inbox)
    registry_csv = write_registry(inbox / "_registry")
    monkeypatch.setenv(config.ENV_REGISTRY, str(registry_csv))
    run = _run_warehouse_gate()
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
    nightly.publish_stage(run)  # the same run: one night at a time
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


def test_engines_agree_on_level_tables_two_level_blocks_and_terse_rows(pipeline_env, monkeypatch):
    """Tables laid out by level (one with a planted break in one level), a two-level block, terse rows."""
    from level_table_workbooks import PROVINCE_WIDE_FIRST_ROW, build_combined_blocks, build_level_inbox, build_province_wide
    inbox = pipeline_env["inbox"]
    build_level_inbox(inbox)
    # the same province's next quarter, its commune level's pending dossiers mistyped (1.250 for 1.200)
    broken = build_province_wide(inbox / "PT" / "2024-Q4" / "tong_hop.xlsx", {(PROVINCE_WIDE_FIRST_ROW + 10, "G"): 1250},
                                 quarter="IV")
    # a province's next quarter with its district and commune levels in one block, their late dossiers mistyped
    two_levels = build_combined_blocks(inbox / "BD" / "2024-Q2" / "phu_luc.xlsx", {"D20": "90"}, quarter="II")
    registry_csv = write_registry(inbox / "_registry")
    monkeypatch.setenv(config.ENV_REGISTRY, str(registry_csv))
    _run_warehouse_gate()
    registry = read_registry(registry_csv, registry_csv.with_name("unit_mapping.csv"))
    warehouse_files, _ = _warehouse_verdicts(pipeline_env["dsn"])
    offline_files, _ = _offline_verdicts(inbox, registry)
    assert warehouse_files == offline_files
    assert {r[1].split(":")[0] for r in warehouse_files} >= {"whole_equals_levels", "total_equals_parts"}
    fails = {(r[0], r[1], r[2]) for r in warehouse_files if r[3] == "fail" and r[2] != "info"
             and not r[1].startswith("required_present")}
    rel, rel2 = broken.relative_to(inbox).as_posix(), two_levels.relative_to(inbox).as_posix()
    assert fails == {(rel, "total_equals_parts:tthc_dossiers_pending", "error"),
                     (rel, "whole_equals_levels:tthc_dossiers_pending", "warning"),
                     (rel2, "total_equals_parts:tthc_dossiers_resolved_total", "error"),
                     (rel2, "whole_equals_levels:tthc_dossiers_resolved_late", "warning")}
    scopes = query(pipeline_env["dsn"], """select distinct r.scope from raw.facts r join raw.files f using (file_id)
                                            where f.unit_code = 'BD' and f.year = 2024 and f.quarter = 1
                                              and r.indicator is not null""")
    assert sorted(s for (s,) in scopes) == ["department", "district_commune", "unit"]
    cols = query(pipeline_env["dsn"], """select r.col_number, r.scope, r.value from raw.facts r join raw.files f
                                          using (file_id) where f.unit_code = 'LAMTHAO' and r.row_number = 6""")
    assert sorted(cols) == [(3, "unit", 9100), (4, "district", 3100), (5, "commune", 6000)]
