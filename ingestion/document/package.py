"""Opening a .docx safely.

A .docx is a zip of XML parts like an .xlsx, so it goes through the same checks
(ingestion/workbook/package.py: empty or oversized files, legacy and encrypted OLE
containers, corrupt zips, zip bombs, DTD/ENTITY declarations in any part). On top:
macro-enabled documents are refused, and the main part has its own size limit
because it is parsed whole.
"""
from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from posixpath import join as posix_join, normpath

from defusedxml import ElementTree as SafeET

from ..workbook.package import WorkbookError, check_parts, open_zip, refuse_non_zip

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
    zip: zipfile.ZipFile
    main_part: str

    def document_xml(self) -> bytes:
        return self.zip.read(self.main_part)


def is_docx(data: bytes) -> bool:
    """A zip holding a Word main document (and no workbook): read as a document, not a workbook."""
    if not data.startswith(b"PK"):
        return False
    try:
        names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError):
        return False
    return "xl/workbook.xml" not in names and ("word/document.xml" in names or any(
        n.startswith("word/") and n.endswith(".xml") for n in names))


def _main_part(zf: zipfile.ZipFile, names: set[str]) -> str | None:
    """The officeDocument target of _rels/.rels (usually word/document.xml)."""
    if "_rels/.rels" in names:
        rels = SafeET.fromstring(zf.read("_rels/.rels"))
        for rel in rels.iter(f"{{{_NS_PKG_REL}}}Relationship"):
            if rel.get("Type", "").endswith(_OFFICE_DOCUMENT):
                target = rel.get("Target", "")
                path = target.lstrip("/") if target.startswith("/") else normpath(posix_join("", target))
                if path in names:
                    return path
    return "word/document.xml" if "word/document.xml" in names else None


def _has_macros(zf: zipfile.ZipFile, names: set[str]) -> bool:
    if any(n.lower().endswith(("vbaproject.bin", "vbadata.xml")) for n in names):
        return True
    if "[Content_Types].xml" in names:
        types = zf.read("[Content_Types].xml").lower()
        return any(word.encode() in types for word in _MACRO_CONTENT)
    return False


def open_document(data: bytes) -> DocxPackage:
    """Check a document's bytes and open it, or raise WorkbookError with the cause (Vietnamese)."""
    refuse_non_zip(data, "docx")
    zf, infos = open_zip(data, "docx")
    names = {i.filename for i in infos}
    if "xl/workbook.xml" in names:
        raise WorkbookError("not_docx", "tệp là bảng tính Excel (.xlsx), không phải văn bản Word .docx")
    check_parts(zf, infos, "docx")
    if _has_macros(zf, names):
        raise WorkbookError("macro_document", "văn bản Word có chứa macro (.docm); vì an toàn hệ thống không mở tệp có macro — "
                                              "hãy lưu lại dưới dạng “Word Document (.docx)” rồi gửi lại")
    try:
        main = _main_part(zf, names)
    except Exception as exc:  # defusedxml refuses forbidden constructs with its own exception types
        raise WorkbookError("corrupt_zip", f"tệp .docx bị hỏng (_rels/.rels: {type(exc).__name__})") from exc
    if main is None:
        raise WorkbookError("not_docx", "tệp nén không chứa văn bản Word (thiếu word/document.xml)")
    size = next(i.file_size for i in infos if i.filename == main)
    if size > MAX_DOCUMENT_XML:
        raise WorkbookError("too_large", f"nội dung văn bản quá lớn ({size / 1048576:.0f} MB khi giải nén; "
                                         f"giới hạn {MAX_DOCUMENT_XML // 1048576} MB)")
    return DocxPackage(data, zf, main)
