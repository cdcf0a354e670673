"""Word reports through the nightly DAG (Airflow dag.test) against the embedded PostgreSQL: loaded with
table/row provenance and their narrative figures, checked, published, and reported back to the unit."""
from __future__ import annotations

import os
import shutil
import time

import pytest
from conftest import SEED_REGISTRY, query
from seed_documents import build_document
from seed_workbooks import SEED_UNITS, build
from test_document_bad_inputs import rezip

from ingestion import config
from ingestion.airflow_local import run_dag_once

pytestmark = pytest.mark.e2e


def test_nightly_dag_reads_word_reports(pipeline_env, monkeypatch):
    inbox, dsn = pipeline_env["inbox"], pipeline_env["dsn"]
    for seed in ("000", "003"):
        unit, period, _ = SEED_UNITS[seed]
        build_document(seed, inbox / unit / period / "bao_cao.docx")
    # Tam Quan Bắc also sent its spreadsheet, earlier: its figures are the ones published
    unit, period, _ = SEED_UNITS["003"]
    sheet = build("003", inbox / unit / period / "phu_luc.xlsx", typed=True)
    os.utime(sheet, (time.time() - 3600, time.time() - 3600))
    # and Lâm Thao sent a macro-enabled document: refused, the rest goes on
    unit, period, _ = SEED_UNITS["002"]
    valid = build_document("002", inbox / "_scratch" / "x.docx").read_bytes()
    shutil.rmtree(inbox / "_scratch")
    (inbox / unit / period).mkdir(parents=True)
    (inbox / unit / period / "bao_cao.docm").write_bytes(rezip(valid, add={"word/vbaProject.bin": b"\x00" * 64}))
    shutil.copytree(SEED_REGISTRY, inbox / "_registry")
    monkeypatch.setenv(config.ENV_REGISTRY, str(inbox / "_registry" / "org_units.csv"))

    run_id, ok, log = run_dag_once(config.load_settings())
    assert ok, log.read_text()[-3000:]

    files = query(dsn, "select path, status, source_format, reject_code, title_year, title_quarter, title_unit_matches "
                       "from raw.files order by path")
    assert files == [
        ("KIMPHUONG/2024-Q1/bao_cao.docx", "loaded", "docx", None, 2024, 1, True),
        ("LAMTHAO/2023-Q3/bao_cao.docm", "rejected", None, "macro_document", None, None, None),
        ("TAMQUANBAC/2023-Q2/bao_cao.docx", "loaded", "docx", None, 2023, 2, True),
        ("TAMQUANBAC/2023-Q2/phu_luc.xlsx", "loaded", "xlsx", None, None, None, None),
    ]
    rejection = query(dsn, "select message from audit.rejected_files")[0][0]
    assert "macro" in rejection and ".docx" in rejection

    # every figure of a document is addressed by table and row
    assert query(dsn, """select sheet, row_number, label, value from raw.facts join raw.files using (file_id)
                         where path like 'KIMPHUONG%%' and indicator = 'tthc_dossiers_resolved_commune'""") == [
        ("Bảng 4", 18, "Tổng số hồ sơ TTHC đã giải quyết xong", 437)]
    # the narrative's figures are staged with paragraph and sentence
    narrative = query(dsn, """select paragraph_number, indicator_code, scope, value, comparable, sentence
                              from staging.stg_raw__narrative_figures join raw.files using (file_id)
                              where path like 'KIMPHUONG%%' and indicator_code = 'tthc_dossiers_resolved_total'""")
    assert narrative == [(37, "tthc_dossiers_resolved_total", "unit", 438, True,
                          "- Số lượng hồ sơ đã giải quyết: 438 hồ sơ; trong đó, giải quyết trước hạn: 384 hồ sơ, "
                          "đúng hạn: 54 hồ sơ, quá hạn: 0 hồ sơ.")]
    assert query(dsn, "select count(*) from raw.narrative_figures")[0][0] == 13

    # the gate: the narrative disagreement is a warning, the document and its spreadsheet agree
    warnings = query(dsn, """select f.path, d.rule_id, d.sheet, d.row_number, d.message from audit.dq_results d
                             join raw.files f using (file_id) where d.status = 'fail'
                             and d.rule_kind in ('narrative_matches_appendix', 'document_matches_spreadsheet')""")
    assert [w[:4] for w in warnings] == [("KIMPHUONG/2024-Q1/bao_cao.docx",
                                          "narrative_matches_appendix:tthc_dossiers_resolved_total", "Bảng 4", 18)]
    assert "ghi số hồ sơ đã giải quyết là 438" in warnings[0][4] and "phụ lục ghi 437 ở Bảng 4, dòng 18" in warnings[0][4]
    assert query(dsn, """select d.status, d.observed from audit.dq_results d join raw.files f using (file_id)
                         where d.rule_kind = 'document_matches_spreadsheet'""") == [("pass", 31)]  # figures both report

    # published: Tam Quan Bắc's spreadsheet (accepted, warning for staff above quota), not its document
    assert query(dsn, """select distinct source_path from marts.fct_indicator_value where unit_code = 'TAMQUANBAC'""") \
        == [("TAMQUANBAC/2023-Q2/phu_luc.xlsx",)]
    assert query(dsn, "select count(*) from marts.fct_indicator_value where unit_code = 'KIMPHUONG'")[0][0] == 0  # held

    # the unit's feedback lists its narrative figures and what the cross-check found
    reports = config.load_settings().reports_dir
    page = next(reports.rglob("KIMPHUONG/*.html")).read_text(encoding="utf-8")
    assert "Số liệu nêu trong phần thuyết minh" in page
    assert "lệch: phụ lục ghi 437 (Bảng 4, dòng 18)" in page
    assert "khớp phụ lục (Bảng 5, dòng 2)" in page
    assert "Bảng 4, dòng 18" in page
