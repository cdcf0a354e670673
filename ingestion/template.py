"""`cchc template`: the blank appendix workbook for a level, generated from the indicator catalog.

One sheet per form with the two-row header units know, and cell validation on every
figure cell: whole numbers for counts, 0-100 for rates, a drop-down of the legend for
coded answers. What units type into it reads back without guesswork.
"""
from __future__ import annotations

from pathlib import Path

from .indicators import LEVEL_LETTERS, Catalog, load_catalog
from .appendix_layout import Habits, header_rows, numbering
from .workbook.writer import Cell, Sheet, Validation, wrapped_height, write_workbook
from .workbook.extract import FORM_NAMES_VI

_LEVEL_TITLE = {"province": "CẤP TỈNH (UBND TỈNH VÀ CÁC SỞ, BAN, NGÀNH)", "district": "CẤP HUYỆN",
                "commune": "CẤP XÃ (XÃ, PHƯỜNG, THỊ TRẤN, ĐẶC KHU)"}
_HABITS = Habits(layout="sheet_per_form", two_row_header=True, numbering="dotted", typing="numbers",
                 percent_cells=False, aliases=False, col_offset=0, legend_spill=False, repeat_header=False,
                 footnote=False, title_style=0)
_GUIDE = [
    "HƯỚNG DẪN ĐIỀN BIỂU MẪU THỐNG KÊ SỐ LIỆU CCHC",
    "1. Mỗi biểu mẫu nằm trên một trang tính; chỉ nhập số liệu vào cột “Số liệu”, không sửa cột chỉ tiêu.",
    "2. Số lượng nhập số nguyên (ví dụ 1200); tiền tính bằng triệu đồng; tỷ lệ nhập số phần trăm (ví dụ 75,8).",
    "3. Câu hỏi mã hóa chọn trong danh sách thả xuống (ví dụ “Có = 1”).",
    "4. Chỉ tiêu không phát sinh hoặc không báo cáo: để trống hoặc gõ dấu “-” (khác với số 0).",
    "5. Thông tin cần giải thích ghi vào cột “Ghi chú”.",
    "6. Lưu tệp dạng .xlsx, không đặt mật khẩu, đặt vào thư mục <mã đơn vị>/<năm>-Q<quý>/ (ví dụ 79001/2026-Q3/).",
]


def _validation(kind: str, legend: tuple[tuple[int, str], ...], cell: str) -> Validation | None:
    if kind == "count":
        return Validation(cell, "whole", "greaterThanOrEqual", "0", prompt_title="Số lượng",
                          prompt="Nhập số nguyên không âm; để trống nếu không báo cáo.",
                          error_title="Sai định dạng", error="Số lượng phải là số nguyên ≥ 0.")
    if kind == "money":
        return Validation(cell, "decimal", "greaterThanOrEqual", "0", prompt_title="Triệu đồng",
                          prompt="Nhập số tiền (triệu đồng).", error_title="Sai định dạng", error="Số tiền phải ≥ 0.")
    if kind == "percent":
        return Validation(cell, "decimal", "between", "0", "100", prompt_title="Tỷ lệ %",
                          prompt="Nhập số phần trăm từ 0 đến 100, ví dụ 75,8.",
                          error_title="Sai định dạng", error="Tỷ lệ phải nằm trong khoảng 0–100.")
    if kind == "coded" and legend:
        items = ",".join(f"{label} = {code}" for code, label in legend)
        return Validation(cell, "list", formula1=f'"{items}"', prompt_title="Chọn một giá trị",
                          prompt="Chọn trong danh sách.", error_title="Giá trị không hợp lệ",
                          error="Chỉ chọn một giá trị trong danh sách.")
    return None


def template_sheets(level: str, catalog: Catalog | None = None) -> list[Sheet]:
    catalog = catalog or load_catalog()
    letter = LEVEL_LETTERS[level]
    codes = [i.code for i in catalog if letter in i.levels]
    sheets = [Sheet("Hướng dẫn", [[Cell(line, "bold" if i == 0 else None)] for i, line in enumerate(_GUIDE)],
                    col_widths={"A": 110})]
    for form in sorted({catalog[c].form for c in codes}):
        form_codes = [c for c in codes if catalog[c].form == form]
        numbers = numbering(form_codes, catalog, _HABITS, "")
        rows: list[list] = [
            [Cell(f"BIỂU MẪU {form}. {FORM_NAMES_VI[form].upper()}", "bold")],
            [Cell(f"THỐNG KÊ SỐ LIỆU BÁO CÁO CẢI CÁCH HÀNH CHÍNH QUÝ ... NĂM ... — {_LEVEL_TITLE[level]}", "bold")],
            [Cell("(Kèm theo Báo cáo số      /BC-UBND ngày     tháng     năm      của ...)", "italic")],
        ]
        head, merges = header_rows(_HABITS)
        first_header_row = len(rows) + 1
        rows.extend([c if isinstance(c, Cell) and c.style == "header" else
                     Cell(c.value if isinstance(c, Cell) else c, "header") for c in row] for row in head)
        # Header rows stay in view; printed on A4 landscape, the table's width fitted to the page.
        sheet = Sheet(f"Biểu mẫu {form}", rows, col_widths={"A": 9, "B": 75, "C": 24, "D": 14, "E": 28},
                      freeze_rows=len(rows), print_a4=True, landscape=True)
        sheet.merges.extend(m.format(r0=first_header_row, r1=first_header_row + 1) for m in merges)
        for code in form_codes:
            ind = catalog[code]
            heading = ind.kind == "heading"
            style = "cell_bold" if heading or not ind.parent else "cell"
            unit = None if heading else ind.unit_vi.replace("; ", " ")
            rows.append([Cell(numbers[code], style), Cell(ind.name_vi, style), Cell(unit, "cell"),
                         Cell(None, "cell" if heading else "input"), Cell(None, "cell" if heading else "input")])
            sheet.row_heights[len(rows)] = wrapped_height([(ind.name_vi, 75), (unit or "", 24)])
            if not heading:
                validation = _validation(ind.kind, ind.legend, f"D{len(rows)}")
                if validation:
                    sheet.validations.append(validation)
        sheets.append(sheet)
    return sheets


def write_template(level: str, path: Path) -> Path:
    if level not in ("province", "district", "commune"):
        raise ValueError(f"level must be province, district or commune, not {level!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    write_workbook(path, template_sheets(level))
    return path
