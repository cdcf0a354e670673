"""Opening an .xlsx safely, and reading what the cell readers do not tell us.

Every workbook passes through ``open_package`` first: it recognises files that
are not xlsx at all (legacy .xls, password-protected, PDF, Word ...), refuses
zip and XML bombs and oversized sheets before any parser expands them, and
exposes per-sheet facts python-calamine does not report: which cells carry a
percent number format and which formulas have no cached value.
"""
from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field
from functools import cached_property
from posixpath import join as posix_join, normpath

from defusedxml import ElementTree as SafeET

# Limits. A unit's appendix is ~150 rows and a few dozen KB; these leave ample room.
MAX_FILE_BYTES = 25 * 1024 * 1024
MAX_TOTAL_UNCOMPRESSED = 200 * 1024 * 1024
MAX_PART_UNCOMPRESSED = 50 * 1024 * 1024
MAX_COMPRESSION_RATIO = 200  # checked for parts above 1 MiB
MAX_SHEETS = 60
MAX_ROWS = 10_000
MAX_COLUMNS = 100

_NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_NS_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTED_MARK = "EncryptionInfo".encode("utf-16-le")
_CELL = re.compile(rb"<(?:\w+:)?c\b([^>]*?)(?:/>|>(.*?)</(?:\w+:)?c>)", re.S)
_CELL_REF = re.compile(rb'\br="([A-Z]{1,3})(\d+)"')
_HAS_VALUE = re.compile(rb"<(?:\w+:)?v>[^<]")
_HAS_FORMULA = re.compile(rb"<(?:\w+:)?f[\s>/]")
_ERROR_TYPE = re.compile(rb'\bt="e"')
_VALUE_TEXT = re.compile(rb"<(?:\w+:)?v>([^<]*)<")
_DIMENSION = re.compile(rb'<(?:\w+:)?dimension\s+ref="([A-Z]{1,3})?(\d+)?(?::([A-Z]{1,3})(\d+))?"')
_BUILTIN_PERCENT_FORMATS = {9, 10}


class WorkbookError(Exception):
    """A workbook that cannot be read. ``code`` is stable, ``message`` is for people (Vietnamese)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


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
    """An opened, checked xlsx package. ``data`` is the whole file (already read for hashing)."""

    def __init__(self, data: bytes, zf: zipfile.ZipFile | None = None):
        self.data = data
        self.zip = zf if zf is not None else zipfile.ZipFile(io.BytesIO(data))
        self.sheets: list[SheetPart] = []

    def read_part(self, path: str) -> bytes:
        return self.zip.read(path)

    @cached_property
    def percent_styles(self) -> frozenset[int]:
        """Indexes into cellXfs whose number format shows a percentage."""
        try:
            root = SafeET.fromstring(self.read_part("xl/styles.xml"))
        except KeyError:
            return frozenset()
        custom: dict[int, str] = {}
        for fmt in root.iter(f"{{{_NS_MAIN}}}numFmt"):
            custom[int(fmt.get("numFmtId", "-1"))] = fmt.get("formatCode", "")
        cell_xfs = root.find(f"{{{_NS_MAIN}}}cellXfs")
        styles: set[int] = set()
        if cell_xfs is None:
            return frozenset()
        for i, xf in enumerate(cell_xfs.findall(f"{{{_NS_MAIN}}}xf")):
            fmt_id = int(xf.get("numFmtId", "0"))
            if fmt_id in _BUILTIN_PERCENT_FORMATS or _is_percent_format(custom.get(fmt_id, "")):
                styles.add(i)
        return frozenset(styles)

    def scan_sheet(self, sheet: SheetPart, *, want_percent: bool) -> SheetPart:
        """Find percent-formatted cells (when asked) and formulas without cached values."""
        xml = self.read_part(sheet.path)
        check_formulas = _HAS_FORMULA.search(xml) is not None
        check_errors = _ERROR_TYPE.search(xml) is not None
        percent = self.percent_styles if want_percent else frozenset()
        if not check_formulas and not check_errors and not percent:
            return sheet
        if percent:
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


def _is_percent_format(code: str) -> bool:
    code = re.sub(r'"[^"]*"|\\.', "", code)  # quoted literals and escaped characters do not count
    return "%" in code


_WORD_STREAM = "WordDocument".encode("utf-16-le")
_KIND_NAMES = {"xlsx": "bảng tính Excel", "docx": "văn bản Word"}


def refuse_non_zip(data: bytes, kind: str) -> None:
    """Whole-file checks shared by every Office package (kind "xlsx" or "docx"), before any unzip."""
    if len(data) == 0:
        raise WorkbookError("empty_file", "tệp rỗng (0 byte)")
    if len(data) > MAX_FILE_BYTES:
        raise WorkbookError("too_large", f"tệp quá lớn ({len(data) / 1048576:.1f} MB, giới hạn {MAX_FILE_BYTES // 1048576} MB)")
    if data.startswith(_OLE_MAGIC):
        # An OLE2 container: an encrypted Office file of any kind, or a pre-2007 .xls/.doc.
        if _ENCRYPTED_MARK in data:
            raise WorkbookError("password_protected", "tệp được đặt mật khẩu; hãy gỡ mật khẩu rồi gửi lại")
        if _WORD_STREAM in data:
            raise WorkbookError("legacy_doc", "tệp Word định dạng cũ (.doc); hãy mở bằng Word và lưu lại dưới dạng .docx")
        raise WorkbookError("legacy_xls", "tệp Excel định dạng cũ (.xls); hãy mở bằng Excel và lưu lại dưới dạng .xlsx")
    if not data.startswith(b"PK"):
        what = "PDF" if data.startswith(b"%PDF") else f"không phải {_KIND_NAMES[kind]}"
        raise WorkbookError(f"not_{kind}", f"tệp không phải .{kind} ({what})")


def open_zip(data: bytes, kind: str) -> tuple[zipfile.ZipFile, list[zipfile.ZipInfo]]:
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        return zf, zf.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError) as exc:
        raise WorkbookError("corrupt_zip", f"tệp .{kind} bị hỏng, không giải nén được ({exc})") from exc


def check_parts(zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo], kind: str) -> None:
    """Zip bombs, oversized parts and DTD/ENTITY declarations in any XML part, before parsing."""
    total = 0
    for info in infos:
        total += info.file_size
        if info.file_size > MAX_PART_UNCOMPRESSED:
            raise WorkbookError("too_large", f"thành phần {info.filename} quá lớn khi giải nén ({info.file_size / 1048576:.0f} MB)")
        if info.file_size > 1048576 and info.file_size > MAX_COMPRESSION_RATIO * max(info.compress_size, 1):
            raise WorkbookError("zip_bomb", f"tỷ lệ nén bất thường ở {info.filename} (nghi ngờ bom nén)")
    if total > MAX_TOTAL_UNCOMPRESSED:
        raise WorkbookError("too_large", f"tổng dung lượng giải nén quá lớn ({total / 1048576:.0f} MB)")
    try:
        for info in infos:
            if info.filename.endswith((".xml", ".rels")):
                with zf.open(info) as fh:
                    head = fh.read(4096)
                if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
                    raise WorkbookError("xml_bomb", f"{info.filename} chứa khai báo DTD/ENTITY (nghi ngờ bom XML); "
                                                    f"tệp {_KIND_NAMES[kind].split()[-1]} hợp lệ không có khai báo này")
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
        raise WorkbookError("corrupt_zip", f"tệp .{kind} bị hỏng ({type(exc).__name__}: {exc})") from exc


def open_package(data: bytes) -> XlsxPackage:
    """Check a workbook's bytes and open it, or raise WorkbookError with the cause."""
    refuse_non_zip(data, "xlsx")
    zf, infos = open_zip(data, "xlsx")
    pkg = XlsxPackage(data, zf)
    names = {i.filename for i in infos}
    if "xl/workbook.xml" not in names:
        if "word/document.xml" in names:
            raise WorkbookError("not_xlsx", "tệp là văn bản Word (.docx), không phải bảng tính .xlsx")
        raise WorkbookError("not_xlsx", "tệp nén không chứa bảng tính Excel (thiếu xl/workbook.xml)")
    check_parts(pkg.zip, infos, "xlsx")
    try:
        pkg.sheets = _sheet_parts(pkg)
    except WorkbookError:
        raise
    except (zipfile.BadZipFile, EOFError, KeyError, SafeET.ParseError, OSError, ValueError) as exc:
        raise WorkbookError("corrupt_zip", f"tệp .xlsx bị hỏng ({type(exc).__name__}: {exc})") from exc
    except Exception as exc:  # defusedxml raises its own types for forbidden constructs
        raise WorkbookError("xml_bomb", f"cấu trúc XML không an toàn ({type(exc).__name__})") from exc
    if not pkg.sheets:
        raise WorkbookError("empty_workbook", "bảng tính không có trang tính nào")
    if len(pkg.sheets) > MAX_SHEETS:
        raise WorkbookError("too_many_sheets", f"bảng tính có {len(pkg.sheets)} trang tính (giới hạn {MAX_SHEETS})")
    for sheet in pkg.sheets:
        _check_dimension(pkg, sheet)
    return pkg


def _sheet_parts(pkg: XlsxPackage) -> list[SheetPart]:
    workbook = SafeET.fromstring(pkg.read_part("xl/workbook.xml"))
    rels = SafeET.fromstring(pkg.read_part("xl/_rels/workbook.xml.rels"))
    targets = {r.get("Id"): r.get("Target", "") for r in rels.iter(f"{{{_NS_PKG_REL}}}Relationship")}
    sizes = {i.filename: i.file_size for i in pkg.zip.infolist()}
    parts = []
    for sheet in workbook.iter(f"{{{_NS_MAIN}}}sheet"):
        target = targets.get(sheet.get(f"{{{_NS_REL}}}id"), "")
        path = target.lstrip("/") if target.startswith("/") else normpath(posix_join("xl", target))
        if path not in sizes:
            continue  # chartsheets and dialog sheets carry no cells
        parts.append(SheetPart(name=sheet.get("name", ""), path=path,
                               visible=sheet.get("state", "visible") == "visible", xml_size=sizes[path]))
    return parts


def _check_dimension(pkg: XlsxPackage, sheet: SheetPart) -> None:
    with pkg.zip.open(sheet.path) as fh:
        head = fh.read(2048)
    m = _DIMENSION.search(head)
    if not m or not m.group(4):
        return
    rows = int(m.group(4)) - int(m.group(2) or 1) + 1
    cols = column_index(m.group(3)) - column_index(m.group(1) or b"A") + 1
    if rows > MAX_ROWS or cols > MAX_COLUMNS:
        raise WorkbookError("sheet_too_large",
                            f"trang tính “{sheet.name}” quá lớn ({rows} dòng × {cols} cột; giới hạn {MAX_ROWS} dòng × {MAX_COLUMNS} cột)")
