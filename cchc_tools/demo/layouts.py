"""How units lay out and type their appendix, and rendering figures that way.

Each unit keeps its habits from quarter to quarter (as real units do): one of the three
layouts seen in real reports, a one- or two-row header, its numbering style, and how it
types figures (numbers, Vietnamese-formatted text, percent-formatted cells, "100% (18/18)",
leading zeros, dashes for "not reported", legends spilling onto the next row ...).
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import Decimal

from ingestion.appendix_layout import Habits, header_rows, numbering
from ingestion.indicators import Catalog
from ingestion.workbook.extract import FORM_NAMES_VI
from ingestion.text.values import format_vi
from .figures import stable_rng
from .hierarchy import DemoUnit
from ingestion.workbook.writer import Cell, Sheet

LAYOUTS = ("sheet_per_form", "stacked", "single_table")
_ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV"}


def habits_for(unit_code: str, seed: int) -> Habits:
    r = stable_rng(seed, "habits", unit_code)
    return Habits(layout=r.choice(LAYOUTS), two_row_header=r.random() < 0.7,
                  numbering=r.choice(("dotted", "dotted", "plain", "trong_do", "blank")),
                  typing=r.choice(("numbers", "text", "mixed")), percent_cells=r.random() < 0.35,
                  aliases=r.random() < 0.5, col_offset=1 if r.random() < 0.15 else 0, legend_spill=r.random() < 0.3,
                  repeat_header=r.random() < 0.3, footnote=r.random() < 0.2, title_style=r.randrange(3))


@dataclass
class Rendered:
    sheets: list[Sheet]
    truth: dict[str, str | None]  # indicator -> the value a correct reader must find
    cells: dict[str, tuple[str, int, int]]  # indicator -> (sheet, excel row, 0-based column) of its figure


def _number_text(value: Decimal, kind: str, r: random.Random) -> str:
    """A figure typed as text, the way Vietnamese typists write it."""
    if kind == "percent":
        style = r.random()
        # No thousands grouping in a percent row: there "2.308" means 2,308 (a decimal), not 2308.
        text = format_vi(value, 2).replace(".", "")
        if style < 0.15 and value != value.to_integral_value():
            text = f"{value.normalize():f}"  # '12.16': a decimal point in a percent row
        return text + ("%" if r.random() < 0.6 else "")
    if value == value.to_integral_value():
        if 0 < value < 10 and r.random() < 0.25:
            return f"0{int(value)}"  # leading zero: '05'
        return format_vi(value, 0)  # '1.200', '4.494.051'
    return format_vi(value, 2)


def _figure_cell(code: str, value: Decimal | None, kind: str, habits: Habits, r: random.Random, catalog: Catalog,
                 figures: dict) -> Cell:
    if value is None:
        return Cell("-" if r.random() < 0.3 else None)
    typing = habits.typing if habits.typing != "mixed" else r.choice(("numbers", "text"))
    ind = catalog[code]
    if kind == "percent":
        num, den = figures.get(ind.numerator or ""), figures.get(ind.denominator or "")
        if num is not None and den and r.random() < 0.08:
            return Cell(f"{format_vi(value, 2).replace('.', '')}% ({int(num)}/{int(den)})")
        if typing == "numbers":
            if habits.percent_cells:
                return Cell(float(value) / 100, style="percent" if value != value.to_integral_value() else "percent0")
            return Cell(int(value) if value == value.to_integral_value() else float(value))
        return Cell(_number_text(value, kind, r))
    if kind == "coded":
        if typing == "text" and r.random() < 0.3 and int(value) in dict(ind.legend):
            return Cell(dict(ind.legend)[int(value)])  # the answer's words: 'Có', 'Phát phiếu'
        return Cell(int(value) if typing == "numbers" else str(int(value)))
    if typing == "numbers":
        return Cell(int(value) if value == value.to_integral_value() else float(value),
                    style="thousands" if value >= 1000 and r.random() < 0.5 else None)
    return Cell(_number_text(value, kind, r))


def _label(code: str, habits: Habits, r: random.Random, catalog: Catalog) -> str:
    ind = catalog[code]
    if habits.aliases and ind.aliases and r.random() < 0.7:
        return r.choice(ind.aliases)
    return ind.name_vi


def title_rows(unit: DemoUnit, parent_name: str | None, year: int, quarter: int, habits: Habits,
               unit_name: str | None = None) -> list[list[Cell]]:
    period = {0: f"QUÝ {_ROMAN[quarter]} NĂM {year}", 1: f"QUÝ {_ROMAN[quarter]}/{year}",
              2: f"quý {quarter} năm {year}"}[habits.title_style]
    name = unit_name or unit.name
    committee = "UBND " + name if unit.level in ("commune", "district", "province") else name
    return [
        [Cell((parent_name or "").upper() or committee.upper(), style="bold")],
        [Cell(f"BIỂU MẪU THỐNG KÊ SỐ LIỆU BÁO CÁO CẢI CÁCH HÀNH CHÍNH {period}", style="bold")],
        [Cell(f"(Kèm theo Báo cáo số      /BC-UBND ngày     tháng     năm {year} của {committee})", style="italic")],
        [],
    ]


# How provincial reports head their per-level blocks, and the labels under them.
LEVEL_BLOCK_HEADINGS = {"district": ("Cấp huyện", "Hồ sơ do UBND cấp huyện tiếp nhận"),
                        "commune": ("Cấp xã", "Hồ sơ do UBND cấp xã tiếp nhận")}
LEVEL_BLOCK_LABELS = {"tthc_dossiers_received_total": "Tổng số hồ sơ tiếp nhận",
                      "tthc_dossiers_resolved_total": "Số hồ sơ đã giải quyết",
                      "tthc_dossiers_resolved_early_ontime": "Giải quyết đúng hạn và trước hạn",
                      "tthc_dossiers_resolved_late": "Giải quyết quá hạn"}


def render(unit: DemoUnit, parent_name: str | None, year: int, quarter: int, figures: dict[str, Decimal | None],
           catalog: Catalog, habits: Habits, seed: int, *, title_quarter: tuple[int, int] | None = None,
           title_unit: str | None = None, level_blocks: dict[str, dict[str, Decimal]] | None = None) -> Rendered:
    r = stable_rng(seed, "render", unit.code, year, quarter)
    ty, tq = title_quarter or (year, quarter)
    codes = list(figures)
    by_form: dict[int, list[str]] = {}
    for code in codes:
        by_form.setdefault(catalog[code].form, []).append(code)
    o = habits.col_offset
    pad = [Cell(None)] * o
    truth: dict[str, str | None] = {}
    cells: dict[str, tuple[str, int, int]] = {}
    sheets: list[Sheet] = []

    def new_sheet(name: str) -> Sheet:
        sheet = Sheet(name=name, rows=[], col_widths={chr(65 + o): 8, chr(66 + o): 70, chr(67 + o): 16, chr(68 + o): 14,
                                                        chr(69 + o): 20})
        sheets.append(sheet)
        return sheet

    def add_header(sheet: Sheet) -> None:
        rows, merges = header_rows(habits)
        r0 = len(sheet.rows) + 1
        sheet.rows.extend(rows)
        sheet.merges.extend(m.format(r0=r0, r1=r0 + 1) for m in merges)

    def add_rows(sheet: Sheet, form: int, form_prefix: str) -> None:
        form_codes = by_form[form]
        numbers = numbering(form_codes, catalog, habits, form_prefix)
        for i, code in enumerate(form_codes):
            ind = catalog[code]
            if habits.repeat_header and habits.layout != "sheet_per_form" and i == len(form_codes) // 2 and form == 7:
                add_header(sheet)  # a page break repeats the header
            value = figures[code]
            stt = numbers[code]
            label = _label(code, habits, r, catalog)
            bold = ind.kind == "heading" or not ind.parent
            if ind.kind == "heading":
                sheet.rows.append(pad + [Cell(stt, "bold" if bold else None), Cell(label, "bold"), Cell(None), Cell(None)])
                continue
            unit_text = ind.unit_vi
            spill = None
            if ind.kind == "coded" and habits.legend_spill and len(ind.legend) >= 3:
                parts = unit_text.split("; ")
                unit_text, spill = " ".join(parts[:-1]), parts[-1]
            elif ind.kind == "coded":
                unit_text = unit_text.replace("; ", " ")
            cell = _figure_cell(code, value, ind.kind, habits, r, catalog, figures)
            note = Cell("Đang thực hiện" if r.random() < 0.03 else None)
            sheet.rows.append(pad + [Cell(stt, "bold" if bold else None), Cell(label, "bold" if bold else None),
                                     Cell(unit_text), cell, note])
            truth[code] = None if value is None else format(value.normalize() + 0, "f")
            cells[code] = (sheet.name, len(sheet.rows), o + 3)
            if spill:
                sheet.rows.append(pad + [Cell(None), Cell(None), Cell(spill), Cell(None)])

    forms = sorted(by_form)
    top = title_rows(unit, parent_name, ty, tq, habits, title_unit)
    if habits.layout == "sheet_per_form":
        for form in forms:
            name = r.choice((f"Biểu mẫu {form}", f"BM{form}", f"Bieu {form:02d}"))
            sheet = new_sheet(name)
            if form == forms[0]:
                sheet.rows.extend(top)
            sheet.rows.append([Cell(FORM_NAMES_VI[form], "bold")])
            add_header(sheet)
            add_rows(sheet, form, "")
    elif habits.layout == "stacked":
        sheet = new_sheet("Phụ lục")
        sheet.rows.extend(top)
        for form in forms:
            sheet.rows.append([Cell(f"Biểu mẫu {form}", "bold")])
            sheet.rows.append([Cell(FORM_NAMES_VI[form], "bold")])
            if form == forms[0] or habits.repeat_header:
                add_header(sheet)
            add_rows(sheet, form, "")
            sheet.rows.append([])
    else:  # one table, forms as numbered sections
        sheet = new_sheet("Phụ lục")
        sheet.rows.extend(top)
        add_header(sheet)
        for form in forms:
            sheet.rows.append(pad + [Cell(f"{form}.", "bold"), Cell(FORM_NAMES_VI[form], "bold"), Cell(None), Cell(None)])
            add_rows(sheet, form, str(form))
    if habits.footnote:
        sheets[-1].rows.append([])
        sheets[-1].rows.append([Cell("Ghi chú: số liệu lũy kế tính từ đầu năm đến thời điểm báo cáo.", "italic")])
    if level_blocks:
        # A province's dossiers per level, on a sheet of their own under form 3: every figure has a scope.
        sheet = new_sheet("Theo cấp")
        sheet.rows.append([Cell("Biểu mẫu 3", "bold")])
        sheet.rows.append([Cell("Kết quả tiếp nhận và giải quyết hồ sơ TTHC theo cấp", "bold")])
        add_header(sheet)
        for n, (scope, block) in enumerate(level_blocks.items(), start=1):
            heading = r.choice(LEVEL_BLOCK_HEADINGS[scope])
            sheet.rows.append(pad + [Cell(_ROMAN[n], "bold"), Cell(heading, "bold"), Cell(None), Cell(None)])
            for i, (code, value) in enumerate(block.items(), start=1):
                label = LEVEL_BLOCK_LABELS[code]
                stt = "Trong đó" if code == "tthc_dossiers_resolved_early_ontime" else (
                    None if code == "tthc_dossiers_resolved_late" else f"{i}")
                cell = _figure_cell(code, value, "count", habits, r, catalog, figures)
                sheet.rows.append(pad + [Cell(stt), Cell(label), Cell("Hồ sơ"), cell, Cell(None)])
                truth[f"{code}@{scope}"] = format(value.normalize() + 0, "f")
                cells[f"{code}@{scope}"] = (sheet.name, len(sheet.rows), o + 3)
    return Rendered(sheets, truth, cells)
