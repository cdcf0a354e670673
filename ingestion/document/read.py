"""From .docx bytes to figures: safety checks, body, the appendix tables through the layout
reader shared with workbooks, the document's title, and the figures its narrative states.

Provenance: a table is addressed as sheet "Bảng N" (its 1-based position in the document),
a row by its 1-based position within the table; narrative figures by paragraph number.
"""
from __future__ import annotations

import re

from ..indicators import Catalog, load_catalog
from ..workbook.extract import Extraction, Issue, extract_facts, find_period, level_hint_of
from ..text.labels import fold
from ..workbook.package import WorkbookError
from ..workbook.reader import SheetGrid
from .body import DocumentBody, Paragraph, read_body
from .narrative import NarrativeReader
from .package import open_document

TABLE_SHEET = "Bảng {}"
_ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV"}
PREAMBLE_PARAGRAPHS = 12  # "Biểu mẫu 3", the appendix title and its "(Kèm theo ...)" sit right above a table
TITLE_SEARCH = 25  # the report's title is among its first paragraphs
_REPORT_HEADING = re.compile(r"^bao cao\b")
_LEVEL_WORDS = r"(?:xã|phường|thị trấn|đặc khu|huyện|quận|thị xã|thành phố|tỉnh)"
# A department's letterhead names its superior first: "UBND TỈNH PHÚ THỌ / SỞ TƯ PHÁP / Số: 215/BC-STP".
_AGENCY = re.compile(r"^(?:sở|ban|văn phòng|thanh tra|chi cục|cục|trung tâm|bộ)\s+\w", re.I)
_NUMBER_LINE = re.compile(r"^số\s*:", re.I)
_ISSUER = re.compile(rf"(?:ủy ban nhân dân|uỷ ban nhân dân|ubnd)\s*\n?\s*({_LEVEL_WORDS}\s+[^\n\d,;:()]{{2,40}})", re.I)
_REPORTING = (
    re.compile(rf"(?:ủy ban nhân dân|uỷ ban nhân dân|ubnd)\s+({_LEVEL_WORDS}\s+[^\n\d,;:()]{{2,40}}?)\s+"
               r"(?:trân trọng\s+)?báo cáo\b", re.I),
    # "Trên đây là báo cáo ... của UBND phường Tam Quan Bắc./."
    re.compile(rf"báo cáo[^.\n]{{0,160}}?của\s+(?:ủy ban nhân dân|uỷ ban nhân dân|ubnd)\s+"
               rf"({_LEVEL_WORDS}\s+[^\n\d,;:()./]{{2,40}})", re.I),
)


def table_grids(body: DocumentBody) -> list[SheetGrid]:
    """Every table as a grid for the layout reader, with the paragraphs right above it."""
    return [SheetGrid(TABLE_SHEET.format(t.number), t.rows,
                      preamble=[p.text for p in t.preamble[-PREAMBLE_PARAGRAPHS:]], continues_previous=True)
            for t in body.tables]


def document_title(paragraphs: list[Paragraph]) -> tuple[str | None, tuple[int, int] | None]:
    """The report's title ("Kết quả thực hiện công tác cải cách hành chính quý I năm 2024") and its quarter.

    It follows the "BÁO CÁO" heading, or is the first of the opening paragraphs that names a quarter.
    """
    head = paragraphs[:TITLE_SEARCH]
    for i, p in enumerate(head):
        if _REPORT_HEADING.match(fold(p.text)):
            for candidate in (p, *head[i + 1:i + 3]):
                if period := find_period(candidate.text):
                    return " ".join(candidate.text.split()), period
            break
    for p in head:
        if (period := find_period(p.text)) and "bao cao" in fold(p.text) + " " + fold(head[0].text):
            return " ".join(p.text.split()), period
    return None, None


def document_unit(body: DocumentBody, narrative: list[Paragraph]) -> str | None:
    """The reporting unit: the letterhead ("ỦY BAN NHÂN DÂN / XÃ KIM PHƯỢNG") or "UBND xã X báo cáo ..."."""
    first_cells = []
    if body.tables and body.tables[0].rows and len(body.tables[0].preamble) <= 2:  # a letterhead opens the document
        first_cells = [c for c in body.tables[0].rows[0][1] if c]
    for text in [*first_cells[:1], *(p.text for p in body.paragraphs[:3])]:
        lines = [line.strip(" -_*") for line in text.split("\n")]
        lines = [line for line in lines[:next((i for i, line in enumerate(lines) if _NUMBER_LINE.match(line)), len(lines))]
                 if line]
        if agency := next((line for line in lines[1:] if _AGENCY.match(line)), None):
            return " ".join(agency.split())
        if m := _ISSUER.search("\n".join(lines)):
            return " ".join(m.group(1).split()).strip(" .")
    for rx in _REPORTING:
        for p in narrative:
            if m := rx.search(p.text):
                return " ".join(m.group(1).split()).strip(" .")
    return None


def appendix_period(table) -> tuple[int, int] | None:
    """The quarter the appendix's own title names: the nearest paragraph above its first table that
    names one ("THỐNG KÊ SỐ LIỆU ... QUÝ I NĂM 2024"), not the narrative's closing words above it."""
    for p in reversed(table.preamble[-4:]):
        if period := find_period(p.text):
            return period
    return None


def _appendix_tables(ex: Extraction) -> list[int]:
    return sorted({int(f.sheet.split()[-1]) for f in ex.facts if f.indicator})


def read_document_bytes(data: bytes, catalog: Catalog | None = None) -> Extraction:
    """Raises WorkbookError (with a Vietnamese message) for anything that is not a readable report."""
    catalog = catalog or load_catalog()
    pkg = open_document(data)
    body = read_body(pkg.document_xml())
    if not body.tables:
        raise WorkbookError("no_appendix_table", "văn bản Word không có bảng nào: không tìm thấy phụ lục số liệu "
                                                 "(phụ lục phải là bảng trong tệp .docx, hoặc gửi kèm tệp .xlsx)")
    out = Extraction(source_format="docx")
    title, period = document_title(body.paragraphs)
    if period:  # the report's own title outranks whatever the appendix's preamble mentions
        out.title, out.title_period = title, period
    try:
        extract_facts(table_grids(body), catalog, out)
    except WorkbookError as exc:
        if exc.code in ("no_indicator_table", "empty_workbook"):
            raise WorkbookError("no_appendix_table", f"văn bản có {len(body.tables)} bảng nhưng không bảng nào là phụ lục "
                                                     "số liệu CCHC (cần các cột “Chỉ tiêu”, “Đơn vị tính”, “Số liệu” "
                                                     "và các dòng khớp danh mục chỉ tiêu)") from exc
        raise
    first = _appendix_tables(out)[0]
    narrative = [p for t in body.tables[:first] for p in t.preamble]  # everything above the appendix
    appendix = appendix_period(body.tables[first - 1])
    if period and appendix and appendix != period:
        out.issues.append(Issue("warning", "appendix_period_differs", None, None,
                                f"tiêu đề báo cáo ghi quý {_ROMAN[period[1]]}/{period[0]} nhưng tiêu đề phụ lục ghi "
                                f"quý {_ROMAN[appendix[1]]}/{appendix[0]}; hãy kiểm tra phụ lục có đúng kỳ không"))
    unit = document_unit(body, narrative)
    if unit:
        out.title_unit = unit
        out.level_hint = level_hint_of(unit) or out.level_hint
    out.narrative = NarrativeReader(catalog).read(narrative)
    return out
