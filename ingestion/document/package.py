"""Opening a .docx safely.

A .docx is a zip of XML parts like an .xlsx, so it goes through the same gate
(``workbook.package.open_office_package``: empty or oversized files, legacy and encrypted
OLE containers, then every part inflated and checked by ``workbook.ooxml`` — real sizes and
CRCs, no DTD or entity in any part or encoding). The reader then sees only those checked
parts. On top: macro-enabled documents are refused, and the main part has its own size
limit because it is parsed whole.
"""
from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from posixpath import join as posix_join, normpath

from defusedxml import ElementTree as SafeET

from ..workbook.ooxml import MESSAGES, RESAVE, OoxmlPackage
from ..workbook.package import RESAVE_DOCX, WorkbookError, open_office_package

# A quarterly report is a few dozen pages; its document.xml is well under 5 MB.
MAX_DOCUMENT_XML = 20 * 1024 * 1024
MAX_TABLES = 300
MAX_PARAGRAPHS = 50_000

_NS_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_OFFICE_DOCUMENT = "/officeDocument"
_MACRO_CONTENT = ("macroenabled", "vbaproject", "vbadata")


@dataclass
class DocxPackage:
    data: bytes
    package: OoxmlPackage  # the checked parts: the only bytes the reader parses
    main_part: str

    def document_xml(self) -> bytes:
        return self.package.read_part(self.main_part)


def is_docx(data: bytes) -> bool:
    """A zip holding a Word main document (and no workbook): read as a document, not a workbook.

    Only the archive's directory is looked at here (names, nothing inflated); the document's
    parts are checked by ``open_document`` like any workbook's.
    """
    if not data.startswith(b"PK") or b"word/" not in data:
        return False  # an archive's entry names are stored as they are: no "word/" in the bytes, no Word part
    try:
        names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, OSError):
        return False
    return "xl/workbook.xml" not in names and ("word/document.xml" in names or any(
        n.startswith("word/") and n.endswith(".xml") for n in names))


def _main_part(package: OoxmlPackage) -> str | None:
    """The officeDocument target of _rels/.rels (usually word/document.xml)."""
    if "_rels/.rels" in package:
        rels = SafeET.fromstring(package.read_part("_rels/.rels"))
        for rel in rels.iter(f"{{{_NS_PKG_REL}}}Relationship"):
            if rel.get("Type", "").endswith(_OFFICE_DOCUMENT):
                target = rel.get("Target", "")
                path = target.lstrip("/") if target.startswith("/") else normpath(posix_join("", target))
                if path in package:
                    return path
    return "word/document.xml" if "word/document.xml" in package else None


def _has_macros(package: OoxmlPackage) -> bool:
    if any(n.lower().endswith(("vbaproject.bin", "vbadata.xml")) for n in package.parts):
        return True
    if "[Content_Types].xml" in package:
        types = package.read_part("[Content_Types].xml").lower()
        return any(word.encode() in types for word in _MACRO_CONTENT)
    return False


def open_document(data: bytes) -> DocxPackage:
    """Check a document's bytes and open it, or raise WorkbookError with the cause (Vietnamese)."""
    package = open_office_package(data, "docx")
    if "xl/workbook.xml" in package:
        raise WorkbookError("not_docx", "tệp là bảng tính Excel (.xlsx), không phải văn bản Word .docx")
    if _has_macros(package):
        raise WorkbookError("macro_document", "văn bản Word có chứa macro (.docm); vì an toàn hệ thống không mở tệp có macro — "
                                              "hãy lưu lại dưới dạng “Word Document (.docx)” rồi gửi lại")
    try:
        main = _main_part(package)
    except Exception as exc:  # malformed XML (declarations were refused by the package checks)
        raise WorkbookError("corrupt_zip", MESSAGES["corrupt_zip"].replace(RESAVE, RESAVE_DOCX),
                            f"_rels/.rels: {type(exc).__name__}: {exc}") from exc
    if main is None:
        raise WorkbookError("not_docx", "tệp nén không chứa văn bản Word (thiếu word/document.xml)")
    size = len(package.read_part(main))
    if size > MAX_DOCUMENT_XML:
        raise WorkbookError("too_large", f"nội dung văn bản quá lớn ({size / 1048576:.0f} MB khi giải nén; "
                                         f"giới hạn {MAX_DOCUMENT_XML // 1048576} MB)")
    return DocxPackage(data, package, main)
