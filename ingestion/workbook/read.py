"""One call from report bytes to figures: safety checks, cell grid, layout, matching.

A report is a workbook (.xlsx) or a Word document (.docx, ingestion/document/); which one is
told by the content, not the file name. Both end in the same layout reader (extract.py).

Commands and the nightly load read a file through ``ingestion.submission``: read once (a regular
file, size-capped, never a pipe or a device) and parsed in a worker process, so a reader that
crashes or hangs on it ends as an unreadable submission, not as the command or the night.
"""
from __future__ import annotations

from pathlib import Path

from ..indicators import Catalog, load_catalog
from ..isolation import Failure
from .extract import Extraction, extract_facts
from .ooxml import UnreadableFile
from .package import RESAVE_DOCX, RESAVE_XLSX, open_package
from .reader import read_grids


def read_workbook_bytes(data: bytes, engine: str = "calamine", catalog: Catalog | None = None) -> Extraction:
    """Raises WorkbookError (with a Vietnamese message) for anything that is not a readable appendix."""
    pkg = open_package(data)
    grids = read_grids(pkg, engine)
    return extract_facts(grids, catalog or load_catalog())


def read_workbook(path: str | Path, engine: str = "calamine", catalog: Catalog | None = None) -> Extraction:
    return read_workbook_bytes(Path(path).read_bytes(), engine, catalog)


def read_report_bytes(data: bytes, engine: str = "calamine", catalog: Catalog | None = None,
                      name: str | None = None) -> Extraction:
    """A workbook or a Word document, told apart by content (the file name only words the refusal of
    something that is neither); WorkbookError for what cannot be read."""
    from ..document.package import is_docx
    from ..document.read import read_document_bytes
    from .package import refuse_non_zip

    if is_docx(data):
        return read_document_bytes(data, catalog)
    if name and name.lower().endswith((".docx", ".doc", ".docm")):
        refuse_non_zip(data, "docx")  # a PDF or a legacy .doc named like a document is refused as one
    return read_workbook_bytes(data, engine, catalog)


def read_report(path: str | Path, engine: str = "calamine", catalog: Catalog | None = None) -> Extraction:
    return read_report_bytes(Path(path).read_bytes(), engine, catalog, Path(path).name)


# A reader that died, hung or ran out of memory on a file, as the person who gave the file reads it:
# a Word report is re-saved in Word, anything else in Excel.
def _failure_messages(word: bool) -> dict[str, tuple[str, str]]:
    reader, resave = ("tài liệu", RESAVE_DOCX) if word else ("bảng tính", RESAVE_XLSX)
    return {
        "crashed": ("reader_crashed", f"chương trình đọc {reader} dừng bất thường khi mở tệp này (cấu trúc tệp bất "
                                      "thường, có thể tệp bị hỏng hoặc do phần mềm khác tạo ra); " + resave),
        "timeout": ("read_timeout", "đọc tệp quá lâu nên đã dừng (tệp có cấu trúc bất thường hoặc ổ đĩa chia sẻ "
                                    "không phản hồi)"),
        "memory": ("too_much_memory", "tệp cần quá nhiều bộ nhớ để đọc (cấu trúc tệp bất thường); " + resave),
        "error": ("unreadable", "không đọc được tệp do cấu trúc bất thường; " + resave),
    }


def failure_error(failure: Failure, name: str = "") -> UnreadableFile:
    messages = _failure_messages(name.lower().endswith((".docx", ".doc")))
    code, message = messages.get(failure.reason, messages["error"])
    return UnreadableFile(code, message, f"{failure.reason}: {failure.detail}")
