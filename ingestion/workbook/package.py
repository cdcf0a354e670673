"""Opening an .xlsx safely, and reading what the cell readers do not tell us.

Every workbook passes through ``open_package`` first: it recognises files that
are not xlsx at all (legacy .xls, password-protected, PDF, Word ...), runs the
package checks every OOXML file gets (``open_office_package``, shared with Word
reports: ``ooxml.open_ooxml``'s real sizes, CRCs, no DTD or entity in any part,
UTF-8 parts), and measures every sheet's real extent from
its cells before any reader allocates a grid. It exposes per-sheet facts
python-calamine does not report: which cells carry a percent number format and which
formulas have no cached value. Readers get ``XlsxPackage.reader_bytes``, the package
rebuilt from the checked parts.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from posixpath import join as posix_join, normpath

from defusedxml import ElementTree as SafeET

from .ooxml import (MAX_COMPRESSION_RATIO, MAX_FILE_BYTES, MAX_PART_UNCOMPRESSED,  # noqa: F401 (re-exported)
                    MAX_TOTAL_UNCOMPRESSED, OLE_MAGIC, RESAVE, OoxmlPackage, UnreadableFile, open_ooxml, refuse)

MAX_SHEETS = 60
RESAVE_XLSX = "hãy mở tệp bằng Excel, chọn Lưu thành (Save As) dạng Sổ làm việc Excel (.xlsx) rồi gửi lại"
RESAVE_DOCX = "hãy mở tệp bằng Word, chọn Lưu thành (Save As) dạng Tài liệu Word (.docx) rồi gửi lại"
MAX_ROWS = 10_000
MAX_COLUMNS = 100

_NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_NS_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_ENCRYPTED_MARK = "EncryptionInfo".encode("utf-16-le")
_CELL = re.compile(rb"<(?:\w+:)?c\b([^>]*?)(?:/>|>(.*?)</(?:\w+:)?c>)", re.S)
_CELL_REF = re.compile(rb'\br="([A-Z]{1,3})(\d+)"')
_HAS_VALUE = re.compile(rb"<(?:\w+:)?v>[^<]")
_HAS_FORMULA = re.compile(rb"<(?:\w+:)?f[\s>/]")
_ERROR_TYPE = re.compile(rb'\bt="e"')
_VALUE_TEXT = re.compile(rb"<(?:\w+:)?v>([^<]*)<")
_DIMENSION = re.compile(rb'<(?:\w+:)?dimension\s+ref="([A-Z]{1,3})?(\d+)?(?::([A-Z]{1,3})(\d+))?"')
_BUILTIN_PERCENT_FORMATS = {9, 10}
# The extent scan: every cell start tag, the ones carrying a plain reference, and row tags.
_CELL_TAG = re.compile(rb"<(?:\w+:)?c[\s/>]")
_CELL_REF_COLUMNS = re.compile(rb'<(?:\w+:)?c\s[^>]*?\br="([A-Z]{1,3})\d{1,7}"')
_CELL_REF_ROWS = re.compile(rb'<(?:\w+:)?c\s[^>]*?\br="[A-Z]{1,3}(\d{1,7})"')
_PREFIXED_CELL = re.compile(rb":c[\s/>]")
_EXCEL_CELL_REFS = re.compile(rb'<c r="([A-Z]{1,3})(\d{1,7})"')
_ROW_OR_CELL = re.compile(rb"<(?:\w+:)?(row|c)(?=[\s/>])([^>]*)")
_R_ATTR = re.compile(rb'\br="([^"]*)"')
_REF = re.compile(rb"([A-Z]{1,3})(\d{1,7})")

# Excel refuses to save these; a sheet that needs more is not a unit's appendix.
_EXCEL_ROWS, _EXCEL_COLUMNS = 1_048_576, 16_384


# One exception type for every file the project reads; the workbook code has always called it this.
WorkbookError = UnreadableFile


def column_index(letters: bytes | str) -> int:
    """'A' -> 0, 'AB' -> 27."""
    if isinstance(letters, bytes):
        letters = letters.decode()
    n = 0
    for ch in letters:
        n = n * 26 + (ord(ch) - 64)
    return n - 1


def column_letters(index: int) -> str:
    index += 1
    out = ""
    while index:
        index, rem = divmod(index - 1, 26)
        out = chr(65 + rem) + out
    return out


@dataclass
class SheetPart:
    name: str
    path: str
    visible: bool
    xml_size: int

    # Filled lazily by XlsxPackage.scan_sheet
    percent_cells: set[tuple[int, int]] = field(default_factory=set)  # (excel row, 0-based column)
    formulas_without_value: set[tuple[int, int]] = field(default_factory=set)
    error_cells: dict[tuple[int, int], str] = field(default_factory=dict)  # cached Excel errors: #DIV/0! ...


class XlsxPackage:
    """An opened, checked xlsx package. ``data`` is the file's bytes as read (and hashed)."""

    def __init__(self, package: OoxmlPackage):
        self.package = package
        self.data = package.data
        self.sheets: list[SheetPart] = []

    def read_part(self, path: str) -> bytes:
        return self.package.read_part(path)

    @property
    def reader_bytes(self) -> bytes:
        """The package rebuilt from the checked parts: the only bytes a cell reader is given."""
        return self.package.checked_zip()

    @cached_property
    def percent_styles(self) -> frozenset[int]:
        """Indexes into cellXfs whose number format shows a percentage."""
        try:
            xml = self.read_part("xl/styles.xml")
        except KeyError:
            return frozenset()
        # Workbooks made from one template share their styles part byte for byte: parse each once.
        return _percent_styles_cached(xml) if len(xml) <= _CACHED_STYLES_BYTES else _percent_styles(xml)

    def scan_sheet(self, sheet: SheetPart, *, want_percent: bool) -> SheetPart:
        """Find percent-formatted cells (when asked) and formulas without cached values."""
        xml = self.read_part(sheet.path)
        # Substring tests first (a formula tag needs "<f" or a prefixed ":f", an error cell 't="e"'): most
        # sheets have neither, and a plain search is many times faster than the pattern's.
        check_formulas = (b"<f" in xml or b":f" in xml) and _HAS_FORMULA.search(xml) is not None
        check_errors = b't="e"' in xml and _ERROR_TYPE.search(xml) is not None
        percent = self.percent_styles if want_percent else frozenset()
        if not check_formulas and not check_errors and not percent:
            return sheet
        if percent and any(b's="%d"' % i in xml for i in percent):  # no cell carries a percent style: none to find
            # Only cells carrying one of the percent styles, found by the regex engine in one pass.
            styled = re.compile(rb'<(?:\w+:)?c\b([^>]*?\bs="(?:' + b"|".join(str(i).encode() for i in sorted(percent))
                                + rb')"[^>]*)>')
            for m in styled.finditer(xml):
                ref = _CELL_REF.search(m.group(1))
                if ref is not None:
                    sheet.percent_cells.add((int(ref.group(2)), column_index(ref.group(1))))
        if check_formulas or check_errors:
            for m in _CELL.finditer(xml):
                attrs, body = m.group(1), m.group(2) or b""
                ref = _CELL_REF.search(attrs)
                if ref is None:
                    continue
                pos = (int(ref.group(2)), column_index(ref.group(1)))
                if check_formulas and _HAS_FORMULA.search(body) and not _HAS_VALUE.search(body):
                    sheet.formulas_without_value.add(pos)
                if check_errors and _ERROR_TYPE.search(attrs):
                    text = _VALUE_TEXT.search(body)
                    sheet.error_cells[pos] = text.group(1).decode("utf-8", "replace") if text else "#ERROR"
        return sheet


def _percent_styles(xml: bytes) -> frozenset[int]:
    try:
        root = SafeET.fromstring(xml)
    except SafeET.ParseError as exc:
        raise refuse("corrupt_zip", f"xl/styles.xml: {exc}") from exc
    custom: dict[int, str] = {}
    styles: set[int] = set()
    try:
        for fmt in root.iter(f"{{{_NS_MAIN}}}numFmt"):
            custom[int(fmt.get("numFmtId", "-1"))] = fmt.get("formatCode", "")
        cell_xfs = root.find(f"{{{_NS_MAIN}}}cellXfs")
        if cell_xfs is None:
            return frozenset()
        for i, xf in enumerate(cell_xfs.findall(f"{{{_NS_MAIN}}}xf")):
            fmt_id = int(xf.get("numFmtId", "0"))
            if fmt_id in _BUILTIN_PERCENT_FORMATS or _is_percent_format(custom.get(fmt_id, "")):
                styles.add(i)
    except ValueError as exc:  # a number format id that is not a number
        raise refuse("corrupt_zip", f"xl/styles.xml: {exc}") from exc
    return frozenset(styles)


# Parts remembered by content are bounded in size and number (at most 4 MiB each way held in a reader):
# a part larger than any template's is parsed every time.
_CACHED_STYLES_BYTES, _CACHED_WORKBOOK_BYTES = 1 << 18, 1 << 16
_percent_styles_cached = lru_cache(maxsize=16)(_percent_styles)


def _is_percent_format(code: str) -> bool:
    code = re.sub(r'"[^"]*"|\\.', "", code)  # quoted literals and escaped characters do not count
    return "%" in code


_WORD_STREAM = "WordDocument".encode("utf-16-le")
_KIND_NAMES = {"xlsx": "bảng tính Excel", "docx": "văn bản Word"}
# How each reader tells a clerk to re-save a refused package (the shared checks say "Excel, Word").
RESAVE_AS = {"xlsx": RESAVE_XLSX, "docx": RESAVE_DOCX}


def refuse_non_zip(data: bytes, kind: str) -> None:
    """Whole-file checks shared by every Office package (kind "xlsx" or "docx"), before any unzip."""
    if len(data) == 0:
        raise WorkbookError("empty_file", "tệp rỗng (0 byte)")
    if len(data) > MAX_FILE_BYTES:
        raise WorkbookError("too_large", f"tệp quá lớn ({len(data) / 1048576:.1f} MB, giới hạn {MAX_FILE_BYTES // 1048576} MB)")
    if data.startswith(OLE_MAGIC):
        # An OLE2 container: an encrypted Office file of any kind, or a pre-2007 .xls/.doc.
        if _ENCRYPTED_MARK in data:
            raise WorkbookError("password_protected", "tệp được đặt mật khẩu; hãy gỡ mật khẩu rồi gửi lại")
        if _WORD_STREAM in data:
            raise WorkbookError("legacy_doc", "tệp Word định dạng cũ (.doc); hãy mở bằng Word và lưu lại dưới dạng .docx")
        raise WorkbookError("legacy_xls", "tệp Excel định dạng cũ (.xls); hãy mở bằng Excel và lưu lại dưới dạng .xlsx")
    if not data.startswith(b"PK"):
        what = "PDF" if data.startswith(b"%PDF") else f"không phải {_KIND_NAMES[kind]}"
        raise WorkbookError(f"not_{kind}", f"tệp không phải .{kind} ({what})")


def open_office_package(data: bytes, kind: str) -> OoxmlPackage:
    """The one safety gate of every Office file, workbook or Word report: the whole-file checks above,
    then ``ooxml.open_ooxml`` (every part inflated with real sizes and CRCs, no DTD or entity in any
    part or encoding). Raises UnreadableFile worded for the kind of file expected."""
    refuse_non_zip(data, kind)
    try:
        return open_ooxml(data)
    except UnreadableFile as exc:  # the package checks speak of any Office file; say how to re-save this one
        raise UnreadableFile(exc.code, exc.message.replace(RESAVE, RESAVE_AS[kind]), exc.detail) from exc


def open_package(data: bytes) -> XlsxPackage:
    """Check a workbook's bytes and open it, or raise WorkbookError with the cause."""
    package = open_office_package(data, "xlsx")
    if "xl/workbook.xml" not in package:
        if "word/document.xml" in package:
            raise WorkbookError("not_xlsx", "tệp là văn bản Word (.docx), không phải bảng tính .xlsx")
        raise WorkbookError("not_xlsx", "tệp nén không chứa bảng tính Excel (thiếu xl/workbook.xml)")
    pkg = XlsxPackage(package)
    try:
        pkg.sheets = _sheet_parts(pkg)
    except WorkbookError:
        raise
    except (KeyError, SafeET.ParseError, ValueError) as exc:
        raise refuse("corrupt_zip", f"workbook structure: {type(exc).__name__}: {exc}") from exc
    except Exception as exc:  # defusedxml's own errors; the package check should have caught them first
        raise refuse("xml_bomb", f"workbook structure: {type(exc).__name__}: {exc}") from exc
    if not pkg.sheets:
        raise WorkbookError("empty_workbook", "bảng tính không có trang tính nào")
    if len(pkg.sheets) > MAX_SHEETS:
        raise WorkbookError("too_many_sheets", f"bảng tính có {len(pkg.sheets)} trang tính (giới hạn {MAX_SHEETS})")
    for sheet in pkg.sheets:
        _check_dimension(pkg, sheet)
        _check_extent(pkg, sheet)
    return pkg


def _sheet_entries(workbook_xml: bytes, rels_xml: bytes) -> tuple[tuple[str, str, bool], ...]:
    """(name, part path, visible) of every sheet the workbook lists, in its order."""
    workbook = SafeET.fromstring(workbook_xml)
    rels = SafeET.fromstring(rels_xml)
    targets = {r.get("Id"): r.get("Target", "") for r in rels.iter(f"{{{_NS_PKG_REL}}}Relationship")}
    entries = []
    for sheet in workbook.iter(f"{{{_NS_MAIN}}}sheet"):
        target = targets.get(sheet.get(f"{{{_NS_REL}}}id"), "")
        path = target.lstrip("/") if target.startswith("/") else normpath(posix_join("xl", target))
        entries.append((sheet.get("name", ""), path, sheet.get("state", "visible") == "visible"))
    return tuple(entries)


_sheet_entries_cached = lru_cache(maxsize=64)(_sheet_entries)  # one template, one workbook part


def _sheet_parts(pkg: XlsxPackage) -> list[SheetPart]:
    workbook_xml, rels_xml = pkg.read_part("xl/workbook.xml"), pkg.read_part("xl/_rels/workbook.xml.rels")
    small = len(workbook_xml) + len(rels_xml) <= _CACHED_WORKBOOK_BYTES
    parts = []
    seen: dict[str, str] = {}
    for name, path, visible in (_sheet_entries_cached if small else _sheet_entries)(workbook_xml, rels_xml):
        if path not in pkg.package:
            continue  # chartsheets and dialog sheets carry no cells
        # Excel refuses two sheets whose names differ only in case; readers would mix them up.
        if name.casefold() in seen:
            raise WorkbookError("duplicate_sheet",
                                f"bảng tính có hai trang tính cùng tên “{name}”, điều Excel không cho phép "
                                f"(tệp có thể do phần mềm khác tạo ra); {RESAVE_XLSX}",
                                f"sheets {seen[name.casefold()]!r} and {name!r}")
        seen[name.casefold()] = name
        parts.append(SheetPart(name=name, path=path, visible=visible, xml_size=len(pkg.read_part(path))))
    return parts


def _too_large(sheet: SheetPart, rows: int, cols: int, detail: str) -> UnreadableFile:
    return WorkbookError("sheet_too_large",
                         f"trang tính “{sheet.name}” quá lớn ({rows} dòng × {cols} cột; giới hạn {MAX_ROWS} dòng × "
                         f"{MAX_COLUMNS} cột); hãy xóa các dòng, cột thừa ngoài bảng số liệu rồi gửi lại", detail)


def _check_dimension(pkg: XlsxPackage, sheet: SheetPart) -> None:
    head = pkg.read_part(sheet.path)[:2048]
    m = _DIMENSION.search(head)
    if not m or not m.group(4):
        return
    rows = int(m.group(4)) - int(m.group(2) or 1) + 1
    cols = column_index(m.group(3)) - column_index(m.group(1) or b"A") + 1
    if rows > MAX_ROWS or cols > MAX_COLUMNS:
        raise _too_large(sheet, rows, cols, f"{sheet.path}: dimension {m.group(0).decode()}")


def sheet_extent(xml: bytes) -> tuple[int, int]:
    """(last row, last column) over every cell element of a sheet, counted 1-based, from the XML itself.

    The <dimension> element is only a claim; readers size their grids from the cells they
    meet, so this is what they would allocate. Cells and rows may omit their reference
    ("r"): they then follow the previous one, as readers place them.
    """
    # The usual case, in C: no namespace prefix, and every cell starts <c r="A1" (as Excel writes).
    if _PREFIXED_CELL.search(xml) is None:
        n_cells = xml.count(b"<c ") + xml.count(b"<c>") + xml.count(b"<c/>")
        if n_cells == 0:
            return 0, 0
        refs = _EXCEL_CELL_REFS.findall(xml)  # (column, row) of every cell in one pass
        if len(refs) == n_cells:
            columns, rows = zip(*refs)
            return max(map(int, set(rows))), max(map(column_index, set(columns))) + 1
    n_cells = len(_CELL_TAG.findall(xml))
    if n_cells == 0:
        return 0, 0
    columns = _CELL_REF_COLUMNS.findall(xml)
    if len(columns) == n_cells:  # every cell says where it is, somewhere among its attributes
        rows = max(map(int, set(_CELL_REF_ROWS.findall(xml))))
        return rows, max(map(column_index, set(columns))) + 1
    last_row = last_col = row = col = 0
    for m in _ROW_OR_CELL.finditer(xml):
        r = _R_ATTR.search(m.group(2))
        if m.group(1) == b"row":
            row = int(r.group(1)) if r and r.group(1).isdigit() else row + 1
            col = 0
            continue
        ref = _REF.fullmatch(r.group(1)) if r else None
        if ref is not None:
            col, row = column_index(ref.group(1)) + 1, int(ref.group(2))
        else:
            col += 1
        last_row, last_col = max(last_row, max(row, 1)), max(last_col, col)
    return last_row, last_col


def _check_extent(pkg: XlsxPackage, sheet: SheetPart) -> None:
    rows, cols = sheet_extent(pkg.read_part(sheet.path))
    if rows > MAX_ROWS or cols > MAX_COLUMNS:
        raise _too_large(sheet, rows, cols, f"{sheet.path}: cells reach row {rows}, column {cols}")
