"""Aggregate reports laid out by level (a column per level), blocks of two levels at once and terse
rows under a section heading: every figure gets its indicator and scope, the rules compare figures of
one scope and the whole with its levels, and nothing consistent is flagged."""
from __future__ import annotations

from decimal import Decimal

import pytest
from level_table_workbooks import (COMBINED_BLOCK_ROWS, COMBINED_FIRST_ROW, DISTRICT_WIDE_FIRST_ROW,
                                   DISTRICT_WIDE_ROWS, PROVINCE_WIDE_FIRST_ROW, PROVINCE_WIDE_ROWS,
                                   PROVINCE_WIDE_SCOPES, TERSE_ROWS, build_combined_blocks, build_district_wide,
                                   build_province_wide, build_terse)
from report_workbooks import write_registry

from ingestion.check import check_files
from ingestion.registry import read_registry
from ingestion.text.labels import label_key
from ingestion.workbook.read import read_workbook


def _figure(typed) -> Decimal:
    return Decimal(typed.replace(",", ".")) if isinstance(typed, str) else Decimal(typed)


def _check(tmp_path, path):
    registry_csv = write_registry(tmp_path / "_registry")
    result = check_files([path], registry=read_registry(registry_csv, registry_csv.with_name("unit_mapping.csv")))
    return result.files[0]


def _failures(checked) -> set[tuple[str, str, str]]:
    return {(ev.rule_id, ev.severity, ev.detail.get("scope", "unit")) for ev in checked.evaluations
            if ev.status == "fail" and ev.severity != "info" and ev.kind != "required_present"}


@pytest.mark.parametrize("engine", ["calamine", "openpyxl"])
def test_every_level_column_is_a_figure_of_its_level(tmp_path, engine):
    path = build_province_wide(tmp_path / "PT" / "2024-Q3" / "tong_hop.xlsx")
    facts = {f.cell: f for f in read_workbook(path, engine).facts}
    want = {}
    for r, (_, label, _, *figures, indicator) in enumerate(PROVINCE_WIDE_ROWS, PROVINCE_WIDE_FIRST_ROW):
        for letter, typed in zip("DEFG", figures):
            want[f"{letter}{r}"] = (label, indicator, PROVINCE_WIDE_SCOPES[letter], _figure(typed))
    assert {cell: (f.label, f.indicator, f.scope, f.value) for cell, f in facts.items()} == want
    assert {f.sheet for f in facts.values()} == {"TH ho so"}


def test_a_district_table_without_a_unit_column(tmp_path):
    path = build_district_wide(tmp_path / "LAMTHAO" / "2024-Q2" / "bao_cao.xlsx")
    ex = read_workbook(path)
    got = {(f.row, f.cell[0]): (f.indicator, f.scope, f.value) for f in ex.facts}
    want = {(r, letter): (indicator, scope, Decimal(value))
            for r, (_, _, *figures, indicator) in enumerate(DISTRICT_WIDE_ROWS, DISTRICT_WIDE_FIRST_ROW)
            for letter, scope, value in zip("CDE", ("unit", "district", "commune"), figures)}
    assert got == want
    assert ex.errors == []


def test_the_whole_is_checked_against_its_level_columns(tmp_path):
    checked = _check(tmp_path, build_province_wide(tmp_path / "PT" / "2024-Q3" / "tong_hop.xlsx"))
    levels = {ev.rule_id.split(":")[1]: ev.status for ev in checked.evaluations if ev.kind == "whole_equals_levels"}
    assert levels == {code: "pass" for code in (
        "tthc_dossiers_received_total", "tthc_dossiers_carried_over", "tthc_dossiers_received_new",
        "tthc_dossiers_received_online", "tthc_dossiers_received_direct", "tthc_dossiers_resolved_total",
        "tthc_dossiers_resolved_early", "tthc_dossiers_resolved_ontime", "tthc_dossiers_resolved_late",
        "tthc_dossiers_pending", "tthc_dossiers_pending_within", "tthc_dossiers_pending_overdue")}
    totals = sorted((ev.detail.get("scope", "unit"), ev.status) for ev in checked.evaluations
                    if ev.rule_id == "total_equals_parts:tthc_dossiers_received_total")
    assert totals == [("commune", "pass"), ("department", "pass"), ("district", "pass"), ("unit", "pass")]
    assert _failures(checked) == set()
    district = _check(tmp_path, build_district_wide(tmp_path / "LAMTHAO" / "2024-Q2" / "bao_cao.xlsx"))
    assert {ev.status for ev in district.evaluations if ev.kind == "whole_equals_levels"} == {"pass"}
    assert _failures(district) == set()


def test_a_break_in_one_level_column_is_found_in_that_level(tmp_path):
    # the commune level's pending dossiers typed 1.250 instead of 1.200 (1.170 within + 30 overdue)
    row = PROVINCE_WIDE_FIRST_ROW + [r[1] for r in PROVINCE_WIDE_ROWS].index("Đang giải quyết")
    path = build_province_wide(tmp_path / "PT" / "2024-Q3" / "tong_hop.xlsx", {(row, "G"): 1250})
    checked = _check(tmp_path, path)
    assert _failures(checked) == {("total_equals_parts:tthc_dossiers_pending", "error", "commune"),
                                  ("whole_equals_levels:tthc_dossiers_pending", "warning", "unit")}
    [message] = [v["message"] for v in checked.violations if v["rule"] == "whole_equals_levels:tthc_dossiers_pending"]
    assert "5.200" in message and "5.250" in message and "cấp xã 1.250" in message


@pytest.mark.parametrize("header, scope", [
    ("Tổng số", "unit"), ("Toàn tỉnh", "unit"), ("Toàn huyện", "unit"),
    ("Cấp tỉnh (sở, ngành)", "department"), ("Trong đó: Cấp tỉnh", "department"), ("Các sở, ban, ngành", "department"),
    ("Cấp huyện", "district"), ("Cấp huyện (bao gồm cả cấp xã)", "district"), ("Cấp xã", "commune"),
    ("Cấp huyện, cấp xã", "district_commune"), ("UBND cấp huyện và cấp xã", "district_commune"),
    ("Số liệu", None), ("Ghi chú", None), ("Kỳ trước", None),
])
def test_column_headers_name_their_level(header, scope):
    from ingestion.text.scope import column_scope
    assert column_scope(label_key(header)) == scope


def test_a_block_of_two_levels_is_neither_level(tmp_path):
    path = build_combined_blocks(tmp_path / "BD" / "2024-Q1" / "phu_luc.xlsx")
    got = {f.row: (f.indicator, f.scope, f.value) for f in read_workbook(path).facts}
    want = {r: (indicator, scope, Decimal(value.replace(".", "")))
            for r, (_, _, value, indicator, scope) in enumerate(COMBINED_BLOCK_ROWS, COMBINED_FIRST_ROW) if value}
    assert got == want
    checked = _check(tmp_path, path)
    # the whole is the departments plus the two levels together, never one of them as if it were one level
    levels = {ev.rule_id.split(":")[1]: (ev.status, ev.detail["levels"]) for ev in checked.evaluations
              if ev.kind == "whole_equals_levels"}
    assert levels == {
        "tthc_dossiers_received_total": ("pass", (("department", 5000), ("district_commune", 15000))),
        "tthc_dossiers_resolved_total": ("pass", (("department", 4800), ("district_commune", 14200))),
        "tthc_dossiers_resolved_early_ontime": ("pass", (("department", 4780), ("district_commune", 14120))),
        "tthc_dossiers_resolved_late": ("pass", (("department", 20), ("district_commune", 80)))}
    resolved = sorted((ev.detail.get("scope", "unit"), ev.status) for ev in checked.evaluations
                      if ev.rule_id == "total_equals_parts:tthc_dossiers_resolved_total")
    assert resolved == [("department", "pass"), ("district_commune", "pass"), ("unit", "pass")]
    assert _failures(checked) == set()


def test_terse_rows_take_their_meaning_from_the_section_and_stay_in_their_form(tmp_path):
    path = build_terse(tmp_path / "KIMPHUONG" / "2024-Q1" / "phu_luc.xlsx")
    got = {(f.sheet, f.label, f.value): f.indicator for f in read_workbook(path).facts if f.value is not None}
    want = {(sheet, label, Decimal(value)): indicator for sheet, rows in TERSE_ROWS.items()
            for _, label, _, value, indicator in rows if value is not None}
    assert got == want
    assert _failures(_check(tmp_path, path)) == set()


def test_a_title_naming_the_section_gives_terse_rows_their_context(tmp_path):
    import openpyxl
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["BÁO CÁO TÌNH HÌNH TIẾP NHẬN VÀ GIẢI QUYẾT HỒ SƠ TTHC QUÝ II NĂM 2024"])
    ws.append(["TT", "Chỉ tiêu", "ĐVT", "Số liệu"])
    for label, value in (("Đã giải quyết", 300), ("Trước hạn, đúng hạn", 298), ("Quá hạn", 2),
                         ("Đang giải quyết", 20)):
        ws.append([None, label, "Hồ sơ", value])
    path = tmp_path / "x.xlsx"
    wb.save(path)
    assert [f.indicator for f in read_workbook(path).facts] == [
        "tthc_dossiers_resolved_total", "tthc_dossiers_resolved_early_ontime", "tthc_dossiers_resolved_late",
        "tthc_dossiers_pending"]


def test_a_word_report_with_a_table_laid_out_by_level(tmp_path):
    """The same layout in a Word report's appendix: merged cells over two header rows, read the same way."""
    from docx import Document

    from ingestion.workbook.read import read_report
    doc = Document()
    for text in ("ỦY BAN NHÂN DÂN TỈNH PHÚ THỌ", "BÁO CÁO",
                 "Kết quả thực hiện công tác cải cách hành chính quý III năm 2024", "Phụ lục",
                 "TÌNH HÌNH TIẾP NHẬN, GIẢI QUYẾT HỒ SƠ TTHC QUÝ III NĂM 2024"):
        doc.add_paragraph(text)
    rows = [("1", "Tiếp nhận", "Hồ sơ", "115.000", "34.000", "23.500", "57.500"),
            ("2", "Đã giải quyết", "Hồ sơ", "109.800", "32.100", "21.400", "56.300"),
            ("", "Trước hạn, đúng hạn", "Hồ sơ", "109.000", "31.811", "21.079", "56.110"),
            ("", "Quá hạn", "Hồ sơ", "800", "289", "321", "190")]
    table = doc.add_table(rows=2 + len(rows), cols=7)
    for col, text in enumerate(("STT", "Chỉ tiêu", "Đơn vị tính", "Tổng số", "Trong đó")):
        table.cell(0, col).text = text
    for col, text in ((4, "Cấp tỉnh (sở, ngành)"), (5, "Cấp huyện"), (6, "Cấp xã")):
        table.cell(1, col).text = text
    table.cell(0, 4).merge(table.cell(0, 6))
    for col in range(4):
        table.cell(0, col).merge(table.cell(1, col))
    for r, row in enumerate(rows, 2):
        for col, text in enumerate(row):
            table.cell(r, col).text = text
    path = tmp_path / "PT" / "2024-Q3" / "bao_cao.docx"
    path.parent.mkdir(parents=True)
    doc.save(path)
    got = {(f.row, f.column): (f.indicator, f.scope, f.value) for f in read_report(path).facts}
    indicators = ("tthc_dossiers_received_total", "tthc_dossiers_resolved_total",
                  "tthc_dossiers_resolved_early_ontime", "tthc_dossiers_resolved_late")
    assert got == {(r, col): (indicator, scope, Decimal(row[col].replace(".", "")))
                   for r, (row, indicator) in enumerate(zip(rows, indicators), 3)
                   for col, scope in zip((3, 4, 5, 6), ("unit", "department", "district", "commune"))}
    assert _failures(_check(tmp_path, path)) == set()


def test_a_header_over_three_rows_with_a_two_level_column(tmp_path):
    """"Số liệu" over "Tổng số | Trong đó" over "Cấp tỉnh | Cấp huyện, cấp xã": the last column is both
    levels at once; the whole is checked against the departments plus both levels together."""
    import openpyxl
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Biểu mẫu 3"
    ws.append(["BIỂU TỔNG HỢP KẾT QUẢ GIẢI QUYẾT HỒ SƠ TTHC QUÝ III NĂM 2024"])
    ws.append(["STT", "Nội dung", "ĐVT", "Số liệu", None, None])
    ws.append([None, None, None, "Tổng số", "Trong đó", None])
    ws.append([None, None, None, None, "Cấp tỉnh", "Cấp huyện, cấp xã"])
    ws.merge_cells("D2:F2")
    ws.merge_cells("E3:F3")
    for letter in "ABC":
        ws.merge_cells(f"{letter}2:{letter}4")
    ws.merge_cells("D3:D4")
    for row in (("1", "Tổng số hồ sơ tiếp nhận", "Hồ sơ", 20000, 5000, 15000),
                ("2", "Số hồ sơ đã giải quyết", "Hồ sơ", 19000, 4800, 14200),
                (None, "Giải quyết đúng hạn và trước hạn", "Hồ sơ", 18900, 4780, 14120),
                (None, "Giải quyết quá hạn", "Hồ sơ", 100, 25, 80)):  # 25: a break, the whole says 100
        ws.append(list(row))
    path = tmp_path / "BD" / "2024-Q3" / "tong_hop.xlsx"
    path.parent.mkdir(parents=True)
    wb.save(path)
    got = {f.cell: (f.indicator, f.scope) for f in read_workbook(path).facts}
    indicators = ("tthc_dossiers_received_total", "tthc_dossiers_resolved_total",
                  "tthc_dossiers_resolved_early_ontime", "tthc_dossiers_resolved_late")
    assert got == {f"{letter}{r}": (indicator, scope) for r, indicator in enumerate(indicators, 5)
                   for letter, scope in (("D", "unit"), ("E", "department"), ("F", "district_commune"))}
    checked = _check(tmp_path, path)
    assert _failures(checked) == {("whole_equals_levels:tthc_dossiers_resolved_late", "warning", "unit"),
                                  ("total_equals_parts:tthc_dossiers_resolved_total", "error", "department")}
    [message] = [v["message"] for v in checked.violations if v["rule"] == "whole_equals_levels:tthc_dossiers_resolved_late"]
    assert message.endswith("= 100 nhưng tổng các cấp = 105 (các sở, ngành 25, cấp huyện và cấp xã 80)")
