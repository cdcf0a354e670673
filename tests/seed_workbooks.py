"""Workbooks built from the three real reports in tests/fixtures/seeds.

The reports were converted from Word, so their statistical appendix is
tab-separated text with <b>/<i>/<sup> markup. Each becomes a workbook laid out
the way that unit would plausibly type it:

- 000 (xã Kim Phượng, Q1/2024): one table, sections 1-7, merged two-row header;
- 002 (huyện Lâm Thao, Q3/2023): forms stacked in one sheet under "Biểu mẫu N"
  headings, the header repeated at a page break, a footnote row;
- 003 (phường Tam Quan Bắc, Q2/2023): one sheet per form.

``typed=True`` writes figures the way Excel with a Vietnamese locale stores
what a typist enters: numbers as numbers, "75,8%" as 0.758 with a percent
format. ``typed=False`` keeps every figure as the text in the report.
"""
from __future__ import annotations

import re
from pathlib import Path

import openpyxl
from openpyxl.styles import Alignment, Font

SEEDS_DIR = Path(__file__).parent / "fixtures" / "seeds"
SEEDS = {
    "000": ("000_31155fb7c2548c42.txt", "PHỤ LỤC", "single_table"),
    "002": ("002_51dee80d3aefd927.txt", "THÔNG KÊ SỐ LIỆU BÁO CÁO", "stacked"),
    "003": ("003_5e7b81ac8f684130.txt", "Phụ lục I", "sheet_per_form"),
}
# Inbox placement (unit code, period) used by tests; codes follow the demo registry style.
SEED_UNITS = {
    "000": ("KIMPHUONG", "2024-Q1", "commune"),
    "002": ("LAMTHAO", "2023-Q3", "district"),
    "003": ("TAMQUANBAC", "2023-Q2", "commune"),
}

_SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
_FORM_HEADING = re.compile(r"^\W*Biểu mẫu\s+(\d)", re.I)


def _clean(cell: str) -> tuple[str, bool]:
    """Visible text of a seed cell and whether it was bold."""
    bold = "<b>" in cell or cell.strip().startswith("**")
    cell = re.sub(r"<sup>(\d+)</sup>", lambda m: m.group(1).translate(_SUPERSCRIPT), cell)
    cell = re.sub(r"</?(b|i)>", "", cell)
    cell = cell.replace("\\_", "_").replace("**", "").strip().strip("*").strip()
    cell = re.sub(r"^#+\s*", "", cell)
    return " ".join(cell.split()), bold


def appendix_lines(seed: str) -> list[str]:
    name, marker, _ = SEEDS[seed]
    lines = (SEEDS_DIR / name).read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if marker in line)
    return lines[start:]


def _typed_value(text: str):
    """What Excel (Vietnamese locale) stores for a typed figure; (value, number_format)."""
    t = text.strip()
    if re.fullmatch(r"\d+", t):
        return int(t), None
    if re.fullmatch(r"\d{1,3}(\.\d{3})+", t):
        return int(t.replace(".", "")), "#,##0"
    if re.fullmatch(r"\d+,\d+", t):
        return float(t.replace(",", ".")), None
    if m := re.fullmatch(r"(\d+(?:,\d+)?)%", t):
        number = float(m.group(1).replace(",", "."))
        return round(number / 100, 6), "0.0%" if "," in m.group(1) else "0%"
    return text, None


def build(seed: str, path: Path, *, typed: bool = False) -> Path:
    layout = SEEDS[seed][2]
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = {"single_table": "Phụ lục", "stacked": "Biểu mẫu", "sheet_per_form": "Biểu mẫu 1"}[layout]
    row = 0
    pending_header: list[str] | None = None

    def write(cells: list[str], *, table_row: bool) -> None:
        nonlocal row
        row += 1
        for col, raw in enumerate(cells, start=1):
            text, bold = _clean(raw)
            if not text:
                continue
            value, fmt = (text, None)
            if typed and table_row and col == 4:
                value, fmt = _typed_value(text)
            cell = ws.cell(row=row, column=col, value=value)
            if fmt:
                cell.number_format = fmt
            if bold:
                cell.font = Font(bold=True)
            cell.alignment = Alignment(wrap_text=True, vertical="center")

    for line in appendix_lines(seed):
        if line.strip() in ("---",):
            continue
        if "\t" in line:
            cells = line.split("\t")
            cells += [""] * (5 - len(cells))
            if cells[0].strip() == "STT":
                pending_header = cells
                write(cells, table_row=False)
                continue
            if pending_header is not None and not cells[0].strip() and "Đơn vị tính" in line:
                write(cells, table_row=False)
                # "Kết quả thống kê" spans the unit and value columns of the second header row.
                ws.merge_cells(start_row=row - 1, start_column=3, end_row=row - 1, end_column=4)
                for col in (1, 2, 5):
                    ws.merge_cells(start_row=row - 1, start_column=col, end_row=row, end_column=col)
                pending_header = None
                continue
            write(cells, table_row=True)
            continue
        text, _ = _clean(line)
        heading = _FORM_HEADING.match(text)
        if layout == "sheet_per_form" and heading and int(heading.group(1)) > 1:
            ws = wb.create_sheet(f"Biểu mẫu {heading.group(1)}")
            row = 0
        if not text:
            if layout != "sheet_per_form":
                row += 1  # blank paragraphs stay blank rows
            continue
        write([text], table_row=False)
    for sheet in wb.worksheets:
        sheet.column_dimensions["A"].width = 8
        sheet.column_dimensions["B"].width = 70
        sheet.column_dimensions["C"].width = 14
        sheet.column_dimensions["D"].width = 12
        sheet.column_dimensions["E"].width = 20
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path
