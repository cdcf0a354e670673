"""Cell grids from a checked package, by python-calamine (fast) or openpyxl (reference).

Both engines yield the same ``SheetGrid``: non-empty rows with their Excel row
number, cell values (``None`` when empty) and the set of percent-formatted
cells. Tests hold the engines to identical output on every fixture.
"""
from __future__ import annotations

import datetime as dt
import io
import re
import warnings
from dataclasses import dataclass, field

from .package import MAX_COLUMNS, MAX_ROWS, RESAVE_XLSX, WorkbookError, XlsxPackage

ENGINES = ("calamine", "openpyxl")


@dataclass
class SheetGrid:
    name: str
    rows: list[tuple[int, list[object]]]  # (Excel row number, cells by 0-based column)
    percent_cells: set[tuple[int, int]] = field(default_factory=set)
    formulas_without_value: set[tuple[int, int]] = field(default_factory=set)
    error_cells: dict[tuple[int, int], str] = field(default_factory=dict)
    # A Word table: the paragraphs just before it ("Biểu mẫu 3", the appendix title), and whether it
    # continues the document's previous table (form, columns) as a table split by a page break does.
    preamble: list[str] = field(default_factory=list)
    continues_previous: bool = False

    def is_percent(self, row: int, col: int) -> bool:
        return (row, col) in self.percent_cells


# Control characters a cell can smuggle in (Excel's "_x0000_" escapes, a pasted ESC ...): no
# figure or label needs them, PostgreSQL refuses NUL, and a terminal obeys ESC. Tab and line
# breaks (Alt+Enter) are kept.
_CONTROL = dict.fromkeys([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F, *range(0x80, 0xA0)])


def clean_cell_text(value: str) -> str:
    return value.translate(_CONTROL) if not value.isprintable() else value


def _unreadable(what: str, exc: Exception) -> WorkbookError:
    return WorkbookError("corrupt_zip", f"không đọc được {what}: cấu trúc tệp bất thường; {RESAVE_XLSX}",
                         f"{type(exc).__name__}: {exc}")


def _trim(cells: list[object]) -> list[object]:
    while cells and cells[-1] is None:
        cells.pop()
    return cells


def _check_size(name: str, n_rows: int, n_cols: int) -> None:
    if n_rows > MAX_ROWS or n_cols > MAX_COLUMNS:
        raise WorkbookError("sheet_too_large",
                            f"trang tính “{name}” quá lớn ({n_rows} dòng × {n_cols} cột; giới hạn {MAX_ROWS} dòng × {MAX_COLUMNS} cột)")


def _read_calamine(pkg: XlsxPackage) -> list[SheetGrid]:
    import python_calamine

    try:
        wb = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(pkg.reader_bytes))
    except Exception as exc:  # calamine raises several error types for broken packages
        raise _unreadable("bảng tính", exc) from exc
    grids = []
    for part in pkg.sheets:
        if not part.visible:
            continue
        try:
            sheet = wb.get_sheet_by_name(part.name)
        except Exception as exc:
            raise _unreadable(f"trang tính “{part.name}”", exc) from exc
        # total_height/total_width are the last row/column indexes (0-based), not counts.
        _check_size(part.name, sheet.total_height + 1, sheet.total_width + 1)
        pkg.scan_sheet(part, want_percent=True)
        rows = []
        try:
            values_by_row = sheet.to_python(skip_empty_area=False)
        except Exception as exc:
            raise _unreadable(f"trang tính “{part.name}”", exc) from exc
        for r, values in enumerate(values_by_row, start=1):
            # clean_cell_text inlined: this runs once per cell of every sheet
            cells = _trim([((v if v.isprintable() else v.translate(_CONTROL)) or None) if isinstance(v, str) else v
                           for v in values])
            if cells:
                rows.append((r, cells))
        grids.append(SheetGrid(part.name, rows, _numeric_cells(rows, part.percent_cells), part.formulas_without_value,
                               part.error_cells))
    return grids


def _numeric_cells(rows: list[tuple[int, list[object]]], cells: set[tuple[int, int]]) -> set[tuple[int, int]]:
    """Those of ``cells`` that hold a number: like openpyxl, a percent format matters only on a number."""
    if not cells:
        return set()
    by_row = dict(rows)
    out = set()
    for r, c in cells:
        row = by_row.get(r)
        v = row[c] if row is not None and c < len(row) else None
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            out.add((r, c))
    return out


def _read_openpyxl(pkg: XlsxPackage) -> list[SheetGrid]:
    import openpyxl

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # openpyxl warns about unsupported extensions units use
        try:
            wb = openpyxl.load_workbook(io.BytesIO(pkg.reader_bytes), read_only=True, data_only=True)
        except Exception as exc:
            raise _unreadable("bảng tính", exc) from exc
    grids = []
    try:
        for part in pkg.sheets:
            if not part.visible:
                continue
            ws = wb[part.name]
            pkg.scan_sheet(part, want_percent=False)  # openpyxl reports number formats itself
            rows, percent = [], set()
            for row in ws.iter_rows():
                cells: list[object] = []
                r = None
                for cell in row:
                    if getattr(cell, "row", None) is None:
                        continue  # EmptyCell padding in read-only mode
                    r = cell.row
                    col = cell.column - 1
                    value = cell.value
                    if isinstance(value, str):
                        value = clean_cell_text(value) or None
                    elif isinstance(value, dt.datetime) and value.time() == dt.time(0):
                        value = value.date()  # calamine returns date-only cells as dates
                    while len(cells) < col:
                        cells.append(None)
                    cells.append(value)
                    if value is not None and isinstance(value, (int, float)) and "%" in _format_without_literals(cell.number_format):
                        percent.add((r, col))
                cells = _trim(cells)
                if cells and r is not None:
                    _check_size(part.name, r, len(cells))
                    rows.append((r, cells))
            grids.append(SheetGrid(part.name, rows, percent, part.formulas_without_value, part.error_cells))
    except WorkbookError:
        raise
    except Exception as exc:  # openpyxl's own errors on cells it cannot make sense of
        raise _unreadable("bảng tính", exc) from exc
    finally:
        wb.close()
    return grids


def _format_without_literals(code: str | None) -> str:
    return re.sub(r'"[^"]*"|\\.', "", code or "")


def read_grids(pkg: XlsxPackage, engine: str = "calamine") -> list[SheetGrid]:
    if engine == "calamine":
        return _read_calamine(pkg)
    if engine == "openpyxl":
        return _read_openpyxl(pkg)
    raise ValueError(f"unknown engine {engine!r}; expected one of {ENGINES}")
