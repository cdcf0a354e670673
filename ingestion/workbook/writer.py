"""A small, fast, dependency-free .xlsx writer for generated workbooks.

The demo generator writes thousands of unit workbooks; openpyxl spends 10-20 ms
on each, this writer about 1 ms for a typical 150-row appendix. It
writes the SpreadsheetML parts as strings and zips them with fixed timestamps,
so identical input gives byte-identical files (files are identified by their
content hash).

Used by the generator, the ``cchc template`` command and the feedback reports; only what
they need is supported:
shared strings, numbers, booleans, formulas (with or without a cached value),
a fixed set of cell styles (plain, and bordered ones for printed tables: headers, input cells,
severities), merged cells, column widths, data validation, hidden sheets, frozen header rows and
an A4 page set-up that fits the width to one page.
"""
from __future__ import annotations

import math
import re
import struct
import zlib
from dataclasses import dataclass, field
from os import PathLike

__all__ = ["Cell", "Validation", "Sheet", "STYLES", "workbook_bytes", "write_workbook",
           "workbook_parts", "zip_parts", "column_letters"]

# Style name -> index into cellXfs of STYLES_XML. Keep both in the same order.
STYLES: dict[str | None, int] = {
    None: 0,
    "bold": 1,
    "wrap": 2,
    "bold_wrap": 3,
    "percent": 4,    # custom numFmt 164 "0.0%"
    "percent0": 5,   # built-in 9 "0%"
    "thousands": 6,  # built-in 3 "#,##0"
    "italic": 7,
    # Bordered table cells for what people print (feedback reports, the blank template).
    "header": 8,     # bold, light blue, centred, wrapped
    "cell": 9,       # wrapped, top-aligned
    "input": 10,     # light yellow: a cell the unit fills in
    "error": 11,     # light red, bold: an error
    "warning": 12,   # amber: a warning
    "cell_bold": 13,
    "title": 14,     # bold, larger, no border
}

_NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_NS_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_TAB_SELECTED = ' tabSelected="1"'
_HIDDEN = ' state="hidden"'
_XML_DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'

# Excel's own limits; a file beyond them opens only after "repair".
_MAX_ROWS = 1_048_576
_MAX_COLS = 16_384
_MAX_CELL_CHARS = 32_767
_MAX_SHEET_NAME = 31
_VALIDATION_TYPES = {"none", "whole", "decimal", "list", "date", "time", "textLength", "custom"}
_VALIDATION_OPERATORS = {"between", "notBetween", "equal", "notEqual", "lessThan", "lessThanOrEqual",
                         "greaterThan", "greaterThanOrEqual"}

# Characters XML 1.0 cannot carry at all, even as character references.
_ILLEGAL_XML = re.compile("[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# Text that needs any treatment; most strings do not, and skipping them is the fast path.
_NEEDS_TEXT_ESCAPE = re.compile("[&<>\r]|_x[0-9A-Fa-f]{4}_|[^\x09\x0a\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# Readers decode "_xHHHH_" (Excel's escape for control characters), so a literal one is escaped.
_LITERAL_ESCAPE = re.compile("_(?=x[0-9A-Fa-f]{4}_)")
_SHEET_NAME_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
_RANGE = re.compile(r"^([A-Z]{1,3})([0-9]+)(?::([A-Z]{1,3})([0-9]+))?$")


@dataclass
class Cell:
    value: str | int | float | bool | None = None
    style: str | None = None
    # Written as <f>; without a value no <v> is written, as when a file was never recalculated.
    formula: str | None = None


@dataclass
class Validation:
    """Data validation (drop-downs, number-only cells) over ``sqref`` ("D5:D40" or "D7 D9 D12")."""

    sqref: str
    type: str
    operator: str | None = None
    formula1: str | None = None  # list: '"0,1,2"' (quoted literal list) or a range like "Lists!$A$1:$A$3"
    formula2: str | None = None
    allow_blank: bool = True
    prompt_title: str | None = None
    prompt: str | None = None
    error_title: str | None = None
    error: str | None = None


@dataclass
class Sheet:
    name: str
    rows: list[list[Cell | str | int | float | None]]  # dense, from row 1 / column A
    merges: list[str] = field(default_factory=list)
    col_widths: dict[str, float] = field(default_factory=dict)
    validations: list[Validation] = field(default_factory=list)
    hidden: bool = False
    freeze_rows: int = 0  # rows kept in view when scrolling (a table's header)
    row_heights: dict[int, float] = field(default_factory=dict)  # 1-based row -> points (wrapped text)
    print_a4: bool = False  # A4, columns fitted to the page width
    landscape: bool = False


# -- escaping ---------------------------------------------------------------------------------

def wrapped_height(texts: list[tuple[str, float]], line: float = 15.0) -> float:
    """Row height (points) for wrapped cells: the tallest of (text, column width in characters).

    Spreadsheet programs do not re-measure rows they open, so a row of wrapped text needs its height."""
    lines = 1
    for text, width in texts:
        chars = max(int(width * 1.1), 1)  # a width unit is about one digit; text runs a little narrower
        lines = max(lines, sum(max(1, math.ceil(len(part) / chars)) for part in str(text or "").split("\n")))
    return lines * line


def _escape_text(text: str) -> str:
    """Element text: markup escaped, characters XML 1.0 cannot carry dropped.

    Excel would write those characters as "_xHHHH_", but openpyxl does not decode
    that (calamine does), so the two reading engines would disagree; dropping them
    keeps both identical. A literal "_xHHHH_" in the text is escaped as Excel does
    ("_x005F_xHHHH_"), which both engines read back as typed.
    """
    if _NEEDS_TEXT_ESCAPE.search(text) is None:
        return text
    text = _ILLEGAL_XML.sub("", text)
    text = _LITERAL_ESCAPE.sub("_x005F_", text)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    # A raw CR would be normalised to LF by every XML parser; a character reference survives.
    return text.replace("\r", "&#13;")


def _escape_attr(text: str) -> str:
    """Attribute values: also quotes, and whitespace that attribute normalisation would turn into spaces."""
    text = _ILLEGAL_XML.sub("", text)
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
            .replace("\n", "&#10;").replace("\r", "&#13;").replace("\t", "&#9;"))


def _escape_formula(text: str) -> str:
    text = _ILLEGAL_XML.sub("", text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# -- references -------------------------------------------------------------------------------

_LETTERS: list[str] = []


def column_letters(index: int) -> str:
    """0 -> 'A', 27 -> 'AB' (cached: the hot loop asks for the same few columns)."""
    if index < len(_LETTERS):
        return _LETTERS[index]
    if not 0 <= index < _MAX_COLS:
        raise ValueError(f"column index {index} outside Excel's {_MAX_COLS} columns")
    while len(_LETTERS) <= index:
        n, out = len(_LETTERS) + 1, ""
        while n:
            n, rem = divmod(n - 1, 26)
            out = chr(65 + rem) + out
        _LETTERS.append(out)
    return _LETTERS[index]


def _column_index(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + (ord(ch) - 64)
    return n - 1


def _parse_range(ref: str) -> tuple[int, int, int, int]:
    """'A1:E3' -> (row1, col1, row2, col2), 1-based rows, 0-based columns; rejects malformed refs."""
    m = _RANGE.match(ref.replace("$", ""))
    if m is None:
        raise ValueError(f"bad cell range {ref!r}")
    r1, c1 = int(m.group(2)), _column_index(m.group(1))
    r2, c2 = (int(m.group(4)), _column_index(m.group(3))) if m.group(3) else (r1, c1)
    if min(r1, r2) < 1 or max(r1, r2) > _MAX_ROWS or max(c1, c2) >= _MAX_COLS:
        raise ValueError(f"cell range {ref!r} outside the sheet")
    return min(r1, r2), min(c1, c2), max(r1, r2), max(c1, c2)


# -- parts ------------------------------------------------------------------------------------

def _number(value: int | float) -> str:
    if isinstance(value, int):
        return int.__repr__(value)  # also for IntEnum, whose str() is its name
    if not math.isfinite(value):
        raise ValueError(f"{value!r} cannot be stored in a cell (Excel has no NaN/infinity)")
    return repr(float(value))


class _SharedStrings:
    __slots__ = ("index", "items", "count")

    def __init__(self):
        self.index: dict[str, int] = {}
        self.items: list[str] = []
        self.count = 0

    def xml(self) -> str:
        out = [_XML_DECL, f'<sst xmlns="{_NS_MAIN}" count="{self.count}" uniqueCount="{len(self.items)}">']
        for s in self.items:
            t = _escape_text(s)
            visible = _ILLEGAL_XML.sub("", s)  # decide on the text that is actually written
            if visible != visible.strip():
                out.append(f'<si><t xml:space="preserve">{t}</t></si>')
            else:
                out.append(f"<si><t>{t}</t></si>")
        out.append("</sst>")
        return "".join(out)


def _sheet_xml(sheet: Sheet, strings: _SharedStrings, selected: bool) -> str:
    index = strings.index
    items = strings.items
    count = 0
    styles = STYLES
    heights = sheet.row_heights
    body: list[str] = []
    append = body.append
    min_row = max_row = max_col = 0
    min_col = _MAX_COLS
    for r, row in enumerate(sheet.rows, start=1):
        if not row:
            continue
        if r > _MAX_ROWS:
            raise ValueError(f"sheet {sheet.name!r} has more than {_MAX_ROWS} rows")
        if len(row) > _MAX_COLS:
            raise ValueError(f"sheet {sheet.name!r} row {r} has more than {_MAX_COLS} columns")
        cells: list[str] = []
        add = cells.append
        rs = str(r)
        first = last = -1
        for c, cell in enumerate(row):
            if type(cell) is Cell:
                value, formula = cell.value, cell.formula
                try:
                    s = styles[cell.style]
                except KeyError:
                    raise ValueError(f"unknown style {cell.style!r}; expected one of {sorted(k for k in styles if k)}") from None
                sattr = f' s="{s}"' if s else ""
            else:
                value, formula, sattr = cell, None, ""
            ref = column_letters(c) + rs
            tv = type(value)
            if tv is not str and tv is not int and tv is not float and isinstance(value, str):
                value, tv = str.__str__(value), str  # str subclasses (enums ...) as their text
            if formula is None and tv is str:
                if len(value) > _MAX_CELL_CHARS:
                    raise ValueError(f"cell {sheet.name}!{ref} holds {len(value)} characters; Excel allows {_MAX_CELL_CHARS}")
                i = index.get(value)
                if i is None:
                    i = index[value] = len(items)
                    items.append(value)
                count += 1
                add(f'<c r="{ref}"{sattr} t="s"><v>{i}</v></c>')
            elif formula is None and tv is int:
                add(f'<c r="{ref}"{sattr}><v>{value}</v></c>')
            elif formula is None and tv is float:
                add(f'<c r="{ref}"{sattr}><v>{_number(value)}</v></c>')
            elif formula is None and value is None:
                if not sattr:
                    continue  # an empty unstyled cell is simply absent
                add(f'<c r="{ref}"{sattr}/>')
            else:
                add(_other_cell_xml(ref, sattr, value, formula))
            if first < 0:
                first = c
            last = c
        if cells:
            height = heights.get(r)
            append(f'<row r="{rs}" ht="{height!r}" customHeight="1">' if height else f'<row r="{rs}">')
            append("".join(cells))
            append("</row>")
            if not max_row:
                min_row = r
            max_row = r
            if first < min_col:
                min_col = first
            if last > max_col:
                max_col = last
    strings.count += count

    # The used range, as Excel records it; readers use it to size the sheet before parsing.
    if max_row:
        dimension = f"{column_letters(min_col)}{min_row}:{column_letters(max_col)}{max_row}"
    else:
        dimension = "A1"
    if sheet.freeze_rows:
        top = f"A{sheet.freeze_rows + 1}"
        view = (f'<sheetView{_TAB_SELECTED if selected else ""} workbookViewId="0"><pane ySplit="{sheet.freeze_rows}" '
                f'topLeftCell="{top}" activePane="bottomLeft" state="frozen"/>'
                f'<selection pane="bottomLeft" activeCell="{top}" sqref="{top}"/></sheetView>')
    else:
        view = f'<sheetView{_TAB_SELECTED if selected else ""} workbookViewId="0"/>'
    out = [_XML_DECL, f'<worksheet xmlns="{_NS_MAIN}" xmlns:r="{_NS_R}">',
           '<sheetPr><pageSetUpPr fitToPage="1"/></sheetPr>' if sheet.print_a4 else "",
           f'<dimension ref="{dimension}"/>',
           f"<sheetViews>{view}</sheetViews>",
           '<sheetFormatPr defaultRowHeight="15"/>']
    if sheet.col_widths:
        cols = []
        for letters, width in sheet.col_widths.items():
            if not re.fullmatch(r"[A-Z]{1,3}", letters) or _column_index(letters) >= _MAX_COLS:
                raise ValueError(f"bad column {letters!r} in col_widths of sheet {sheet.name!r}")
            if not (isinstance(width, (int, float)) and 0 <= width <= 255):
                raise ValueError(f"column width {width!r} outside 0..255")
            cols.append((_column_index(letters), float(width)))
        out.append("<cols>")
        for i, width in sorted(cols):
            out.append(f'<col min="{i + 1}" max="{i + 1}" width="{width!r}" customWidth="1"/>')
        out.append("</cols>")
    out.append("<sheetData>")
    out.extend(body)
    out.append("</sheetData>")
    if sheet.merges:
        out.append(_merges_xml(sheet))
    if sheet.validations:
        out.append(_validations_xml(sheet))
    if sheet.print_a4:
        out.append('<printOptions horizontalCentered="1"/>')
        out.append('<pageMargins left="0.4" right="0.4" top="0.5" bottom="0.5" header="0.3" footer="0.3"/>')
        out.append(f'<pageSetup paperSize="9" orientation="{"landscape" if sheet.landscape else "portrait"}" '
                   'fitToWidth="1" fitToHeight="0"/>')
    else:
        out.append('<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>')
    out.append("</worksheet>")
    return "".join(out)


def _other_cell_xml(ref: str, sattr: str, value, formula: str | None) -> str:
    """Cells off the fast path: formulas, booleans, int/float subclasses; anything else is refused."""
    if formula is not None:
        f = _escape_formula(formula[1:] if formula.startswith("=") else formula)
        if value is None:
            return f'<c r="{ref}"{sattr}><f>{f}</f></c>'
        if isinstance(value, str):
            return f'<c r="{ref}"{sattr} t="str"><f>{f}</f><v>{_escape_text(str.__str__(value))}</v></c>'
        if isinstance(value, bool):
            return f'<c r="{ref}"{sattr} t="b"><f>{f}</f><v>{int(value)}</v></c>'
        if isinstance(value, (int, float)):
            return f'<c r="{ref}"{sattr}><f>{f}</f><v>{_number(value)}</v></c>'
    elif isinstance(value, bool):
        return f'<c r="{ref}"{sattr} t="b"><v>{int(value)}</v></c>'
    elif isinstance(value, (int, float)):
        return f'<c r="{ref}"{sattr}><v>{_number(value)}</v></c>'
    raise TypeError(f"cell {ref}: cannot write {type(value).__name__} {value!r}")


def _merges_xml(sheet: Sheet) -> str:
    boxes = []
    for ref in sheet.merges:
        box = _parse_range(ref)
        if box[0] == box[2] and box[1] == box[3]:
            raise ValueError(f"merge {ref!r} on sheet {sheet.name!r} is a single cell")
        for other, other_ref in boxes:
            # Excel refuses (repairs) files with overlapping merged ranges.
            if box[0] <= other[2] and other[0] <= box[2] and box[1] <= other[3] and other[1] <= box[3]:
                raise ValueError(f"merges {other_ref!r} and {ref!r} overlap on sheet {sheet.name!r}")
        boxes.append((box, ref))
    inner = "".join(f'<mergeCell ref="{ref.replace("$", "")}"/>' for ref in sheet.merges)
    return f'<mergeCells count="{len(sheet.merges)}">{inner}</mergeCells>'


def _validations_xml(sheet: Sheet) -> str:
    out = [f'<dataValidations count="{len(sheet.validations)}">']
    for v in sheet.validations:
        if v.type not in _VALIDATION_TYPES:
            raise ValueError(f"validation type {v.type!r}; expected one of {sorted(_VALIDATION_TYPES)}")
        if v.operator is not None and v.operator not in _VALIDATION_OPERATORS:
            raise ValueError(f"validation operator {v.operator!r}; expected one of {sorted(_VALIDATION_OPERATORS)}")
        refs = v.sqref.split()
        if not refs:
            raise ValueError("validation without sqref")
        for ref in refs:
            _parse_range(ref)
        # Excel rejects longer texts and literal lists (the dialog enforces the same limits).
        for label, text, limit in (("prompt_title", v.prompt_title, 32), ("error_title", v.error_title, 32),
                                   ("prompt", v.prompt, 255), ("error", v.error, 255)):
            if text is not None and len(text) > limit:
                raise ValueError(f"validation {label} has {len(text)} characters; Excel allows {limit}")
        if v.type == "list" and v.formula1 and v.formula1.startswith('"') and len(v.formula1) - 2 > 255:
            raise ValueError("a literal drop-down list may hold at most 255 characters")
        attrs = [f'type="{v.type}"']
        if v.operator is not None and v.type not in ("list", "custom", "none"):
            attrs.append(f'operator="{v.operator}"')
        if v.allow_blank:
            attrs.append('allowBlank="1"')
        # Without showErrorMessage Excel accepts any input silently, which defeats the validation.
        attrs.append('showInputMessage="1" showErrorMessage="1"')
        for name, text in (("errorTitle", v.error_title), ("error", v.error),
                           ("promptTitle", v.prompt_title), ("prompt", v.prompt)):
            if text is not None:
                attrs.append(f'{name}="{_escape_attr(text)}"')
        attrs.append(f'sqref="{" ".join(r.replace("$", "") for r in refs)}"')
        inner = ""
        if v.formula1 is not None:
            inner += f"<formula1>{_escape_formula(v.formula1)}</formula1>"
        if v.formula2 is not None:
            inner += f"<formula2>{_escape_formula(v.formula2)}</formula2>"
        out.append(f'<dataValidation {" ".join(attrs)}>{inner}</dataValidation>')
    out.append("</dataValidations>")
    return "".join(out)


def _check_names(sheets: list[Sheet]) -> None:
    if not sheets:
        raise ValueError("a workbook needs at least one sheet")
    if all(s.hidden for s in sheets):
        raise ValueError("a workbook needs at least one visible sheet")
    seen: set[str] = set()
    for s in sheets:
        name = s.name
        if not name or len(name) > _MAX_SHEET_NAME or _SHEET_NAME_FORBIDDEN.search(name) \
                or name.startswith("'") or name.endswith("'") or _ILLEGAL_XML.search(name):
            raise ValueError(f"invalid sheet name {name!r} (1-{_MAX_SHEET_NAME} characters, none of []:*?/\\, "
                             "no leading/trailing apostrophe)")
        if name.casefold() in seen:
            raise ValueError(f"duplicate sheet name {name!r} (Excel compares names case-insensitively)")
        seen.add(name.casefold())


STYLES_XML = (
    _XML_DECL
    + f'<styleSheet xmlns="{_NS_MAIN}">'
    '<numFmts count="1"><numFmt numFmtId="164" formatCode="0.0%"/></numFmts>'
    '<fonts count="4">'
    '<font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
    '<font><i/><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
    '<font><b/><sz val="14"/><name val="Calibri"/><family val="2"/></font>'
    "</fonts>"
    '<fills count="6"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill>'
    '<fill><patternFill patternType="solid"><fgColor rgb="FFDDEBF7"/><bgColor indexed="64"/></patternFill></fill>'
    '<fill><patternFill patternType="solid"><fgColor rgb="FFFFF2CC"/><bgColor indexed="64"/></patternFill></fill>'
    '<fill><patternFill patternType="solid"><fgColor rgb="FFF8CBAD"/><bgColor indexed="64"/></patternFill></fill>'
    '<fill><patternFill patternType="solid"><fgColor rgb="FFFFE699"/><bgColor indexed="64"/></patternFill></fill>'
    "</fills>"
    '<borders count="2"><border><left/><right/><top/><bottom/><diagonal/></border>'
    '<border><left style="thin"><color rgb="FF808080"/></left><right style="thin"><color rgb="FF808080"/></right>'
    '<top style="thin"><color rgb="FF808080"/></top><bottom style="thin"><color rgb="FF808080"/></bottom><diagonal/></border>'
    "</borders>"
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="15">'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0" applyAlignment="1"><alignment vertical="top" wrapText="1"/></xf>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1" applyAlignment="1"><alignment vertical="top" wrapText="1"/></xf>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="9" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="3" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="0" fontId="2" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="0" fontId="1" fillId="2" borderId="1" xfId="0" applyFont="1" applyFill="1" applyBorder="1" '
    'applyAlignment="1"><alignment horizontal="center" vertical="center" wrapText="1"/></xf>'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="1" xfId="0" applyBorder="1" applyAlignment="1">'
    '<alignment vertical="top" wrapText="1"/></xf>'
    '<xf numFmtId="0" fontId="0" fillId="3" borderId="1" xfId="0" applyFill="1" applyBorder="1" applyAlignment="1">'
    '<alignment vertical="top"/></xf>'
    '<xf numFmtId="0" fontId="1" fillId="4" borderId="1" xfId="0" applyFont="1" applyFill="1" applyBorder="1" '
    'applyAlignment="1"><alignment vertical="top" wrapText="1"/></xf>'
    '<xf numFmtId="0" fontId="0" fillId="5" borderId="1" xfId="0" applyFill="1" applyBorder="1" applyAlignment="1">'
    '<alignment vertical="top" wrapText="1"/></xf>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="1" xfId="0" applyFont="1" applyBorder="1" applyAlignment="1">'
    '<alignment vertical="top" wrapText="1"/></xf>'
    '<xf numFmtId="0" fontId="3" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    "</cellXfs>"
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)

_RELS = (
    _XML_DECL
    + '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" Target="docProps/core.xml"/>'
    '<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/extended-properties" Target="docProps/app.xml"/>'
    "</Relationships>"
)


def _core_xml(creator: str) -> str:
    # No dcterms:created/modified: a timestamp would make identical workbooks hash differently.
    return (_XML_DECL
            + '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
            'xmlns:dcmitype="http://purl.org/dc/dcmitype/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
            f"<dc:creator>{_escape_text(creator)}</dc:creator></cp:coreProperties>")


def _app_xml(sheets: list[Sheet]) -> str:
    names = "".join(f"<vt:lpstr>{_escape_text(s.name)}</vt:lpstr>" for s in sheets)
    return (_XML_DECL
            + '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties" '
            'xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">'
            "<Application>cchc-warehouse</Application>"
            '<HeadingPairs><vt:vector size="2" baseType="variant"><vt:variant><vt:lpstr>Worksheets</vt:lpstr></vt:variant>'
            f'<vt:variant><vt:i4>{len(sheets)}</vt:i4></vt:variant></vt:vector></HeadingPairs>'
            f'<TitlesOfParts><vt:vector size="{len(sheets)}" baseType="lpstr">{names}</vt:vector></TitlesOfParts>'
            "</Properties>")


def _content_types_xml(n: int) -> str:
    sheets = "".join(
        f'<Override PartName="/xl/worksheets/sheet{i}.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        for i in range(1, n + 1))
    return (_XML_DECL
            + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            f"{sheets}"
            '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
            '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
            '<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
            '<Override PartName="/docProps/app.xml" ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/>'
            "</Types>")


def _workbook_xml(sheets: list[Sheet], active: int) -> str:
    entries = "".join(
        f'<sheet name="{_escape_attr(s.name)}" sheetId="{i}"{_HIDDEN if s.hidden else ""} r:id="rId{i}"/>'
        for i, s in enumerate(sheets, start=1))
    # fullCalcOnLoad: formulas written without a cached value get computed when Excel opens the file.
    return (_XML_DECL
            + f'<workbook xmlns="{_NS_MAIN}" xmlns:r="{_NS_R}">'
            f'<bookViews><workbookView activeTab="{active}"/></bookViews>'
            f"<sheets>{entries}</sheets>"
            '<calcPr calcId="191029" fullCalcOnLoad="1"/>'
            "</workbook>")


def _workbook_rels_xml(n: int) -> str:
    sheets = "".join(
        f'<Relationship Id="rId{i}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
        f'Target="worksheets/sheet{i}.xml"/>' for i in range(1, n + 1))
    return (_XML_DECL
            + '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f"{sheets}"
            f'<Relationship Id="rId{n + 1}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>'
            f'<Relationship Id="rId{n + 2}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>'
            "</Relationships>")


def workbook_parts(sheets: list[Sheet], *, creator: str = "cchc-warehouse") -> list[tuple[str, bytes]]:
    """The package parts (path, bytes) in zip order; for callers that need to alter a part before zipping."""
    _check_names(sheets)
    active = next(i for i, s in enumerate(sheets) if not s.hidden)
    strings = _SharedStrings()
    sheet_parts = []
    for i, sheet in enumerate(sheets, start=1):
        xml = _sheet_xml(sheet, strings, selected=i - 1 == active)
        sheet_parts.append((f"xl/worksheets/sheet{i}.xml", xml.encode("utf-8")))
    n = len(sheets)
    return [
        ("[Content_Types].xml", _content_types_xml(n).encode()),
        ("_rels/.rels", _RELS.encode()),
        ("docProps/app.xml", _app_xml(sheets).encode("utf-8")),
        ("docProps/core.xml", _core_xml(creator).encode("utf-8")),
        ("xl/workbook.xml", _workbook_xml(sheets, active).encode("utf-8")),
        ("xl/_rels/workbook.xml.rels", _workbook_rels_xml(n).encode()),
        ("xl/styles.xml", _STYLES_BYTES),
        ("xl/sharedStrings.xml", strings.xml().encode("utf-8")),
        *sheet_parts,
    ]


_STYLES_BYTES = STYLES_XML.encode()
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest zip date; any fixed value keeps output deterministic


def zip_parts(parts: list[tuple[str, bytes]], *, compresslevel: int = 6) -> bytes:
    """Deflate ``parts`` into a zip with fixed metadata, so equal parts give equal bytes.

    The bytes are those zipfile writes for such entries (tests/test_xlsx_writer.py compares them),
    assembled here: zipfile's own per-entry work was most of the time taken to write a feedback
    workbook, and the parts every workbook shares (styles, relationships) are deflated once.
    """
    local, central = [], []
    offset = 0
    for name, data in parts:
        encoded = name.encode("ascii")  # part names are ASCII: no UTF-8 flag, as zipfile would write them
        crc, deflated = _deflated(data, compresslevel)
        header = struct.pack("<4s2B4HL2L2H", b"PK\x03\x04", 20, 0, 0, 8, _DOS_TIME, _DOS_DATE, crc,
                             len(deflated), len(data), len(encoded), 0)
        local += [header, encoded, deflated]
        central += [struct.pack("<4s4B4HL2L5H2L", b"PK\x01\x02", 20, 0, 20, 0, 0, 8, _DOS_TIME, _DOS_DATE, crc,
                                len(deflated), len(data), len(encoded), 0, 0, 0, 0, _ATTRIBUTES, offset), encoded]
        offset += len(header) + len(encoded) + len(deflated)
    directory = b"".join(central)
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(parts), len(parts), len(directory), offset, 0)
    return b"".join(local) + directory + end


_DOS_DATE = (_FIXED_TIME[0] - 1980) << 9 | _FIXED_TIME[1] << 5 | _FIXED_TIME[2]
_DOS_TIME = _FIXED_TIME[3] << 11 | _FIXED_TIME[4] << 5 | _FIXED_TIME[5] // 2
_ATTRIBUTES = 0o600 << 16  # rw------- : what zipfile gives an entry written with no attributes
_DEFLATED: dict[tuple[bytes, int], tuple[int, bytes]] = {}  # small parts seen before: their CRC and deflated bytes


def _deflated(data: bytes, level: int) -> tuple[int, bytes]:
    small = len(data) <= 32_768  # the shared parts are small; a sheet is rarely seen twice
    if small and (data, level) in _DEFLATED:
        return _DEFLATED[data, level]
    compressor = zlib.compressobj(level, zlib.DEFLATED, -15)
    result = (zlib.crc32(data), compressor.compress(data) + compressor.flush())
    if small:
        if len(_DEFLATED) >= 256:
            _DEFLATED.clear()
        _DEFLATED[data, level] = result
    return result


def workbook_bytes(sheets: list[Sheet], *, compresslevel: int = 6, creator: str = "cchc-warehouse") -> bytes:
    """The .xlsx file for ``sheets``; byte-identical for identical input."""
    return zip_parts(workbook_parts(sheets, creator=creator), compresslevel=compresslevel)


def write_workbook(path: str | PathLike, sheets: list[Sheet], **kw) -> None:
    with open(path, "wb") as fh:
        fh.write(workbook_bytes(sheets, **kw))
