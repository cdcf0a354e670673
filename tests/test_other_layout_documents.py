"""Word reports in layouts the seeds do not show (tests/other_layout_documents.py), read as a new unit's
report would be: by table and row, the right figure column, the reporting unit, and the narrative's
disagreements with the appendix - and only those."""
from __future__ import annotations

from decimal import Decimal

import pytest
from other_layout_documents import commune_2025, department, district_two_periods

from ingestion.check import check_files
from ingestion.workbook.read import read_report


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("other")
    return {f.__name__: f(root / f"{f.__name__}.docx") for f in (commune_2025, department, district_two_periods)}


@pytest.fixture(scope="module")
def checked(files):
    result = check_files(list(files.values()))
    return dict(zip(files, result.files))


def _narrative_fails(result) -> list[tuple]:
    return [(e.rule_id.split(":")[1], e.observed, e.expected, e.sheet, e.row)
            for e in result.evaluations if e.kind == "narrative_matches_appendix" and e.status == "fail"]


def test_commune_2025_single_header_row_and_merged_stt(files):
    ex = read_report(files["commune_2025"])
    assert (ex.title_period, ex.title_unit, ex.level_hint) == ((2025, 1), "XÃ ĐAM RÔNG", "commune")
    facts = {f.indicator: f for f in ex.facts if f.indicator}
    assert len(ex.facts) == 13 and len(facts) == 12  # "Tổng số hồ sơ đã tiếp nhận" is not a catalog label
    assert (facts["tthc_dossiers_resolved_late"].value, facts["tthc_dossiers_resolved_late"].note) == (6, "Do chờ xác minh")
    assert facts["org_cs_present"].form == 4


def test_commune_2025_narrative_disagreements_are_found(checked):
    assert _narrative_fails(checked["commune_2025"]) == [
        ("tthc_dossiers_resolved_total", Decimal(1150), Decimal(1151), "Bảng 2", 10),
        ("tthc_dossiers_resolved_late", Decimal(5), Decimal(6), "Bảng 2", 13),
        ("tthc_dossiers_pending", Decimal(84), Decimal(83), "Bảng 2", 14),
    ]


def test_department_letterhead_names_the_department_not_its_province(files):
    ex = read_report(files["department"])
    assert (ex.title_unit, ex.level_hint) == ("SỞ TƯ PHÁP", "department")
    # "Biểu số 0N" headings give the forms; a figure typed with its unit word is read
    assert [(f.sheet, f.form, f.indicator, f.value) for f in ex.facts][:2] == [
        ("Bảng 2", 1, "dir_directive_docs", Decimal(5)), ("Bảng 2", 1, "dir_plan_completion_rate", Decimal(75))]
    assert {f.form for f in ex.facts} == {1, 3, 4, 6}


def test_department_narrative_agrees(checked):
    result = checked["department"]
    compared = [e for e in result.evaluations if e.kind == "narrative_matches_appendix"]
    assert len(compared) == 6 and _narrative_fails(result) == []
    assert result.status == "ok"


def test_district_reads_this_quarter_not_the_previous_one(files):
    ex = read_report(files["district_two_periods"])
    values = {f.indicator: f.value for f in ex.facts}
    assert values["tthc_dossiers_resolved_district"] == 1987  # "Số liệu quý này", not "Số liệu quý trước" (1.802)
    assert values["org_cs_present"] == 70
    # the narrative's cross-tab by level is no appendix: it gives no figure
    assert {f.sheet for f in ex.facts} == {"Bảng 3", "Bảng 4"}


def test_district_narrative_compares_levels_only(checked):
    result = checked["district_two_periods"]
    compared = sorted((e.rule_id.split(":")[1], e.observed) for e in result.evaluations
                      if e.kind == "narrative_matches_appendix")
    assert compared == [("org_cs_present", 70), ("org_cs_quota", 72), ("tthc_dossiers_resolved_total", 1987),
                        ("tthc_dossiers_resolved_total", 5301)]
    assert _narrative_fails(result) == []
