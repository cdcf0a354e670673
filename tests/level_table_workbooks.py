"""Aggregate reports laid out by level, combined-level blocks and terse rows, typed as units type them.

- a province's summary table: a row per indicator, "Tổng số" then a "Trong đó" group over
  "Cấp tỉnh (sở, ngành) | Cấp huyện | Cấp xã" on a second header row, terse labels ("Đã giải quyết",
  "Quá hạn"), the section named only by the title ("BIỂU TỔNG HỢP TÌNH HÌNH TIẾP NHẬN, GIẢI QUYẾT HỒ SƠ
  TTHC"), a sheet name that names no form;
- a district's table on one header row without a unit column: "Toàn huyện | Cấp huyện | Cấp xã";
- a province's blocks where the district and commune levels are one block ("Cấp huyện, cấp xã");
- terse rows under a section heading, and the same terse words under another form's section.

Every figure is consistent unless a test changes one.
"""
from __future__ import annotations

from pathlib import Path

import openpyxl
from openpyxl.styles import Alignment, Font

# (label, unit, whole, department, district, commune, indicator)
PROVINCE_WIDE_ROWS = [
    ("1", "Số hồ sơ tiếp nhận", "Hồ sơ", 115000, 34000, 23500, 57500, "tthc_dossiers_received_total"),
    ("-", "Số hồ sơ từ kỳ trước chuyển qua", "Hồ sơ", 4000, 1200, 1800, 1000, "tthc_dossiers_carried_over"),
    ("-", "Số hồ sơ mới tiếp nhận", "Hồ sơ", 111000, 32800, 21700, 56500, "tthc_dossiers_received_new"),
    (None, "Trong đó: Trực tuyến", "Hồ sơ", 60000, 28800, 12000, 19200, "tthc_dossiers_received_online"),
    (None, "Trực tiếp và qua dịch vụ bưu chính công ích", "Hồ sơ", 51000, 4000, 9700, 37300,
     "tthc_dossiers_received_direct"),
    ("2", "Đã giải quyết", "Hồ sơ", 109800, 32100, 21400, 56300, "tthc_dossiers_resolved_total"),
    (None, "Trước hạn", "Hồ sơ", 80000, 25000, 15000, 40000, "tthc_dossiers_resolved_early"),
    (None, "Đúng hạn", "Hồ sơ", 29000, 6811, 6079, 16110, "tthc_dossiers_resolved_ontime"),
    (None, "Quá hạn", "Hồ sơ", 800, 289, 321, 190, "tthc_dossiers_resolved_late"),
    ("3", "Tỷ lệ giải quyết quá hạn", "%", "0,73", "0,90", "1,50", "0,34", "tthc_dossiers_late_rate"),
    ("4", "Đang giải quyết", "Hồ sơ", 5200, 1900, 2100, 1200, "tthc_dossiers_pending"),
    (None, "Trong hạn", "Hồ sơ", 5100, 1850, 2080, 1170, "tthc_dossiers_pending_within"),
    (None, "Quá hạn", "Hồ sơ", 100, 50, 20, 30, "tthc_dossiers_pending_overdue"),
]
PROVINCE_WIDE_FIRST_ROW = 7  # two header rows (5, 6) under three title lines and a blank row
PROVINCE_WIDE_SCOPES = {"D": "unit", "E": "department", "F": "district", "G": "commune"}


def _bold(ws, row: int, col: int, text: str) -> None:
    cell = ws.cell(row, col, text)
    cell.font = Font(bold=True)
    cell.alignment = Alignment(wrap_text=True, horizontal="center", vertical="center")


def build_province_wide(path: Path, changes: dict[tuple[int, str], object] | None = None, quarter: str = "III") -> Path:
    """``changes``: {(Excel row, column letter): typed value} to plant a break."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "TH ho so"
    for r, line in enumerate(("UBND TỈNH PHÚ THỌ",
                              f"BIỂU TỔNG HỢP TÌNH HÌNH TIẾP NHẬN, GIẢI QUYẾT HỒ SƠ TTHC QUÝ {quarter} NĂM 2024",
                              "(Kèm theo Báo cáo số 301/BC-UBND ngày 20/9/2024 của UBND tỉnh Phú Thọ)"), 1):
        ws.cell(r, 1, line).font = Font(bold=True)
    for col, text in enumerate(("STT", "Chỉ tiêu", "Đơn vị tính", "Tổng số", "Trong đó", None, None, "Ghi chú"), 1):
        if text:
            _bold(ws, 5, col, text)
    for col, text in ((5, "Cấp tỉnh (sở, ngành)"), (6, "Cấp huyện"), (7, "Cấp xã")):
        _bold(ws, 6, col, text)
    ws.merge_cells("E5:G5")
    for letter in "ABCDH":
        ws.merge_cells(f"{letter}5:{letter}6")
    for r, (stt, label, unit, *figures, _) in enumerate(PROVINCE_WIDE_ROWS, PROVINCE_WIDE_FIRST_ROW):
        for col, value in enumerate((stt, label, unit, *figures), 1):
            if value is not None:
                ws.cell(r, col, value)
    for (r, letter), value in (changes or {}).items():
        ws[f"{letter}{r}"] = value
    ws.column_dimensions["B"].width = 50
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


# (stt, label, whole, district, commune, indicator)
DISTRICT_WIDE_ROWS = [
    ("1", "Tiếp nhận", 9100, 3100, 6000, "tthc_dossiers_received_total"),
    (None, "Kỳ trước chuyển qua", 400, 150, 250, "tthc_dossiers_carried_over"),
    (None, "Tiếp nhận mới", 8700, 2950, 5750, "tthc_dossiers_received_new"),
    ("2", "Đã giải quyết", 8700, 2900, 5800, "tthc_dossiers_resolved_total"),
    (None, "Trước hạn, đúng hạn", 8650, 2870, 5780, "tthc_dossiers_resolved_early_ontime"),
    (None, "Quá hạn", 50, 30, 20, "tthc_dossiers_resolved_late"),
    ("3", "Đang giải quyết", 400, 200, 200, "tthc_dossiers_pending"),
]
DISTRICT_WIDE_FIRST_ROW = 6  # title (2 lines), "Biểu mẫu 3", header, section heading


def build_district_wide(path: Path) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Sheet1"
    ws.append(["UBND HUYỆN LÂM THAO"])
    ws.append(["BÁO CÁO SỐ LIỆU CẢI CÁCH HÀNH CHÍNH QUÝ II NĂM 2024"])
    ws.append(["Biểu mẫu 3"])
    ws.append(["STT", "Nội dung", "Toàn huyện", "Cấp huyện", "Cấp xã", "Ghi chú"])
    ws.append(["I", "Tình hình tiếp nhận, giải quyết hồ sơ TTHC"])
    for stt, label, *figures, _ in DISTRICT_WIDE_ROWS:
        ws.append([stt, label, *figures])
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


# (stt, label, value, indicator, scope); a None value is a heading row
COMBINED_BLOCK_ROWS = [
    ("2.", "Tình hình tiếp nhận và giải quyết hồ sơ TTHC", None, None, None),
    ("2.1", "Toàn tỉnh", None, None, None),
    ("2.1.1", "Tổng số hồ sơ tiếp nhận", "20.000", "tthc_dossiers_received_total", "unit"),
    ("2.1.2", "Số hồ sơ đã giải quyết", "19.000", "tthc_dossiers_resolved_total", "unit"),
    ("Trong đó", "Giải quyết đúng hạn và trước hạn", "18.900", "tthc_dossiers_resolved_early_ontime", "unit"),
    (None, "Giải quyết quá hạn", "100", "tthc_dossiers_resolved_late", "unit"),
    ("2.2", "Cấp tỉnh (các sở, ban, ngành)", None, None, None),
    ("2.2.1", "Tổng số hồ sơ tiếp nhận", "5.000", "tthc_dossiers_received_total", "department"),
    ("2.2.2", "Số hồ sơ đã giải quyết", "4.800", "tthc_dossiers_resolved_total", "department"),
    ("Trong đó", "Giải quyết đúng hạn và trước hạn", "4.780", "tthc_dossiers_resolved_early_ontime", "department"),
    (None, "Giải quyết quá hạn", "20", "tthc_dossiers_resolved_late", "department"),
    ("2.3", "UBND cấp huyện, cấp xã", None, None, None),
    ("2.3.1", "Tổng số hồ sơ tiếp nhận", "15.000", "tthc_dossiers_received_total", "district_commune"),
    ("2.3.2", "Số hồ sơ đã giải quyết", "14.200", "tthc_dossiers_resolved_total", "district_commune"),
    ("Trong đó", "Giải quyết đúng hạn và trước hạn", "14.120", "tthc_dossiers_resolved_early_ontime",
     "district_commune"),
    (None, "Giải quyết quá hạn", "80", "tthc_dossiers_resolved_late", "district_commune"),
]
COMBINED_FIRST_ROW = 5  # title, "Biểu mẫu 3", a header over two rows


def build_combined_blocks(path: Path, changes: dict[str, object] | None = None, quarter: str = "I") -> Path:
    """``changes``: {cell: typed value} to plant a break."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Biểu mẫu 3"
    ws.append([f"THỐNG KÊ SỐ LIỆU BÁO CÁO CẢI CÁCH HÀNH CHÍNH QUÝ {quarter} NĂM 2024 CỦA TỈNH BÌNH ĐỊNH"])
    ws.append(["Biểu mẫu 3: Cải cách thủ tục hành chính"])
    ws.append(["STT", "Chỉ tiêu thống kê", "Kết quả thống kê", None, "Ghi chú"])
    ws.append([None, None, "Đơn vị tính", "Số liệu", None])
    ws.merge_cells("C3:D3")
    for stt, label, value, _, _ in COMBINED_BLOCK_ROWS:
        ws.append([stt, label, "Hồ sơ" if value else None, value])
    for cell, value in (changes or {}).items():
        ws[cell] = value
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


# Terse rows under a section heading of form 3, then the same words in form 1 and form 5 sections,
# where no form-3 indicator may be taken. (stt, label, unit, value, indicator)
TERSE_ROWS = {
    "Biểu mẫu 3": [
        ("3", "Tình hình tiếp nhận, giải quyết hồ sơ TTHC", None, None, None),
        ("3.1", "Tiếp nhận", "Hồ sơ", 1250, "tthc_dossiers_received_total"),
        ("-", "Trực tuyến", "Hồ sơ", 700, "tthc_dossiers_received_online"),
        ("3.2", "Đã giải quyết", "Hồ sơ", 1190, "tthc_dossiers_resolved_total"),
        ("-", "Trước hạn", "Hồ sơ", 400, "tthc_dossiers_resolved_early"),
        ("-", "Đúng hạn", "Hồ sơ", 780, "tthc_dossiers_resolved_ontime"),
        ("-", "Quá hạn", "Hồ sơ", 10, "tthc_dossiers_resolved_late"),
        ("3.3", "Đang giải quyết", "Hồ sơ", 60, "tthc_dossiers_pending"),
        ("-", "Quá hạn", "Hồ sơ", 5, "tthc_dossiers_pending_overdue"),
    ],
    "Biểu mẫu 5": [
        ("1", "Kết quả giải quyết đơn thư, khiếu nại của công chức", None, None, None),
        ("-", "Tiếp nhận", "Đơn", 4, None),
        ("-", "Đã giải quyết", "Đơn", 3, None),
        ("-", "Đúng hạn", "Đơn", 3, None),
        ("-", "Quá hạn", "Đơn", 0, None),
    ],
}


def build_terse(path: Path) -> Path:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for n, (sheet, rows) in enumerate(TERSE_ROWS.items()):
        ws = wb.create_sheet(sheet)
        if n == 0:
            ws.append(["UBND XÃ KIM PHƯỢNG"])
            ws.append(["PHỤ LỤC SỐ LIỆU BÁO CÁO CẢI CÁCH HÀNH CHÍNH QUÝ I NĂM 2024"])
        ws.append(["STT", "Chỉ tiêu", "Đơn vị tính", "Số liệu", "Ghi chú"])
        for stt, label, unit, value, _ in rows:
            ws.append([stt, label, unit, value])
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


def build_level_inbox(inbox: Path) -> dict[str, Path]:
    return {"province_wide": build_province_wide(inbox / "PT" / "2024-Q3" / "tong_hop_ho_so.xlsx"),
            "district_wide": build_district_wide(inbox / "LAMTHAO" / "2024-Q2" / "bao_cao.xlsx"),
            "combined_blocks": build_combined_blocks(inbox / "BD" / "2024-Q1" / "phu_luc.xlsx"),
            "terse": build_terse(inbox / "KIMPHUONG" / "2024-Q1" / "phu_luc.xlsx")}
