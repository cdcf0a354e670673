"""How a unit lays out its appendix sheet: its habits (layout, header, numbering, typing), the header rows
and the row numbers (STT) derived from the catalog's parent links.

`cchc template` writes the one layout units are asked to use; the demo generator (cchc_tools.demo) varies
these habits the way real units do.
"""
from __future__ import annotations

from dataclasses import dataclass

from .indicators import Catalog
from .workbook.writer import Cell


@dataclass(frozen=True)
class Habits:
    layout: str
    two_row_header: bool
    numbering: str  # "dotted" 1.1. | "plain" 1.1 | "trong_do" (first sub-row marked "Trong đó") | "blank" (sub-rows unnumbered)
    typing: str  # "numbers" | "text" | "mixed"
    percent_cells: bool  # rates typed as percent-formatted cells (0.758 shown as 75.8%)
    aliases: bool  # labels from the unit's own template wording
    col_offset: int  # the table starts in column A or B
    legend_spill: bool
    repeat_header: bool
    footnote: bool
    title_style: int


def numbering(codes: list[str], catalog: Catalog, habits: Habits, form_prefix: str) -> dict[str, str | None]:
    """STT for each row: hierarchical numbers from the catalog's parent links."""
    out: dict[str, str | None] = {}
    counters: dict[str | None, int] = {}
    present = set(codes)
    for code in codes:
        parent = catalog[code].parent if catalog[code].parent in present else None
        counters[parent] = counters.get(parent, 0) + 1
        base = out.get(parent) if parent else form_prefix
        base = (base or "").rstrip(".")
        number = f"{base}.{counters[parent]}" if base else str(counters[parent])
        out[code] = number
    styled: dict[str, str | None] = {}
    first_child: set[str] = set()
    seen_parents: set[str] = set()
    for code in codes:
        parent = catalog[code].parent if catalog[code].parent in present else None
        if parent and parent not in seen_parents:
            seen_parents.add(parent)
            first_child.add(code)
    for code in codes:
        number = out[code]
        is_child = catalog[code].parent in present
        if habits.numbering == "dotted":
            styled[code] = number + "."
        elif habits.numbering == "plain":
            styled[code] = number
        elif habits.numbering == "trong_do" and is_child:
            styled[code] = "Trong đó" if code in first_child else None
        elif habits.numbering == "blank" and is_child:
            styled[code] = None
        else:
            styled[code] = number + "."
    return styled


def header_rows(habits: Habits) -> tuple[list[list[Cell]], list[str]]:
    o = habits.col_offset
    pad = [Cell(None)] * o
    cols = "ABCDEFG"
    if habits.two_row_header:
        rows = [pad + [Cell("STT", "bold"), Cell("Chỉ tiêu thống kê (Sử dụng trong kỳ báo cáo hàng quý, 6 tháng, năm)", "bold"),
                       Cell("Kết quả thống kê", "bold"), Cell(None), Cell("Ghi chú", "bold")],
                pad + [Cell(None), Cell(None), Cell("Đơn vị tính", "bold"), Cell("Số liệu", "bold"), Cell(None)]]
        merges = [f"{cols[o + 2]}{{r0}}:{cols[o + 3]}{{r0}}", f"{cols[o]}{{r0}}:{cols[o]}{{r1}}",
                  f"{cols[o + 1]}{{r0}}:{cols[o + 1]}{{r1}}", f"{cols[o + 4]}{{r0}}:{cols[o + 4]}{{r1}}"]
        return rows, merges
    return [pad + [Cell("STT", "bold"), Cell("Chỉ tiêu", "bold"), Cell("Đơn vị tính", "bold"), Cell("Số liệu", "bold"),
                   Cell("Ghi chú", "bold")]], []
