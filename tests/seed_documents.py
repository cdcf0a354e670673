"""Word documents built from the three real reports in tests/fixtures/seeds.

The reports were converted from Word to text; this turns them back into .docx the way
Word holds such a report: the narrative as paragraphs (bold headings, list items, hand-typed
superscript footnote marks), then the statistical appendix as tables:

- the two-row header with "Kết quả (thống kê)" merged over "Đơn vị tính | Số liệu"
  (gridSpan) and STT / label / note merged down (vMerge);
- bold section rows and italic sub-rows as runs;
- "Biểu mẫu N" headings and the appendix title in paragraphs above the tables;
- a table split by a page break: where the text shows a blank line inside a table the
  table ends, a page break follows, and the rest goes on in a new table, repeating the
  header only where the report did (002, 003) and not where it did not (000).

000 also gets the letterhead table every administrative document opens with, and 002 its
signature block as a table, so the appendix is not the document's first table.
"""
from __future__ import annotations

import re
from pathlib import Path

from docx import Document
from docx.enum.text import WD_BREAK
from docx.shared import Cm, Pt

from seed_workbooks import SEEDS, SEEDS_DIR

_MARKUP = re.compile(r"(<b>|</b>|<i>|</i>|<sup>\d+</sup>|\*\*)")


def _runs(paragraph, text: str, *, bold: bool = False) -> None:
    """Add the seed text's markup as runs: <b>, <i>, ** for bold, <sup>n</sup> as superscript."""
    text = text.replace("\\_", "_")
    state = {"b": bold, "i": False}
    for token in _MARKUP.split(text):
        if not token:
            continue
        if token in ("<b>", "</b>", "**"):
            state["b"] = token == "<b>" or (token == "**" and not state["b"])
            continue
        if token in ("<i>", "</i>"):
            state["i"] = token == "<i>"
            continue
        if token.startswith("<sup>"):
            run = paragraph.add_run(re.sub(r"\D", "", token))
            run.font.superscript = True
            continue
        parts = token.split("\n")
        for i, part in enumerate(parts):
            if i:
                paragraph.add_run().add_break()
            if part:
                run = paragraph.add_run(part)
                run.bold = state["b"] or None
                run.italic = state["i"] or None


def _paragraph(doc, line: str) -> None:
    text = line.strip()
    heading = text.startswith("#")
    text = re.sub(r"^#+\s*", "", text).strip()
    if text.startswith("*") and text.endswith("*") and not text.startswith("**"):
        text = text.strip("*")
    p = doc.add_paragraph()
    _runs(p, text, bold=heading)


def _page_break(doc) -> None:
    doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)


def _table(doc, rows: list[list[str]]):
    width = 5
    table = doc.add_table(rows=len(rows), cols=width)
    table.style = "Table Grid"
    header_rows = 0
    for r, cells in enumerate(rows):
        cells = (cells + [""] * width)[:width]
        for c, text in enumerate(cells):
            if text.strip():
                _runs(table.cell(r, c).paragraphs[0], text.strip())
        if cells[0].strip() == "STT":
            header_rows = 1
        elif r == 1 and header_rows == 1 and "Đơn vị tính" in cells[2]:
            header_rows = 2
    for r in range(len(rows)):  # a narrow STT, a wide label, as typed on an A4 page
        for c, width in enumerate((Cm(1.3), Cm(8.5), Cm(2.4), Cm(2.2), Cm(2.4))):
            table.cell(r, c).width = width
    if header_rows == 2:
        # "Kết quả thống kê" over unit and value; STT, label and note span both header rows.
        table.cell(0, 2).merge(table.cell(0, 3))
        for c in (0, 1, 4):
            top = table.cell(0, c)
            text = top.text
            merged = top.merge(table.cell(1, c))
            for extra in merged.paragraphs[1:]:  # python-docx keeps the emptied cell's paragraph
                if not extra.text:
                    extra._element.getparent().remove(extra._element)
            assert merged.text == text
    return table


def _letterhead(doc, left: str, right: str) -> None:
    table = doc.add_table(rows=1, cols=2)
    for c, text in enumerate((left, right)):
        p = table.cell(0, c).paragraphs[0]
        _runs(p, text, bold=True)


def build_document(seed: str, path: Path, changes: dict[str, str] | None = None) -> Path:
    """The seed report as a .docx; ``changes`` retypes appendix figures (label fragment -> new figure)."""
    name, marker, _ = SEEDS[seed]
    lines = (SEEDS_DIR / name).read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if marker in line)
    doc = Document()
    doc.styles["Normal"].font.name = "Times New Roman"
    doc.styles["Normal"].font.size = Pt(13)
    narrative = lines[:start]
    if seed == "000":
        _letterhead(doc, "ỦY BAN NHÂN DÂN\nXÃ KIM PHƯỢNG\nSố: 35/BC-UBND",
                    "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\nĐộc lập - Tự do - Hạnh phúc\nKim Phượng, ngày 14 tháng 3 năm 2024")
        narrative = [line for line in narrative if not line.startswith(("Số: 35", "Kim Phượng, ngày"))]
    signature_at = next((i for i, line in enumerate(narrative) if "Nơi nhận" in line), None) if seed == "002" else None
    i = 0
    while i < len(narrative):
        line = narrative[i]
        if signature_at is not None and i == signature_at:
            # "Nơi nhận" on the left, the signer on the right: a borderless two-column table.
            block = [x for x in narrative[i:] if x.strip()]
            recipients = [x for x in block if x.startswith("- ") or "Nơi nhận" in x]
            signer = [x for x in block if x not in recipients]
            _letterhead(doc, "\n".join(x.replace("**", "") for x in recipients),
                        "\n".join(x.replace("**", "").strip() for x in signer))
            break
        if line.strip() and line.strip() != "---":
            _paragraph(doc, line)
        i += 1
    _page_break(doc)
    rows: list[list[str]] = []
    gap = False
    for line in lines[start:]:
        if "\t" in line:
            cells = line.split("\t")
            for fragment, figure in (changes or {}).items():
                if len(cells) > 3 and fragment in cells[1]:
                    cells[3] = figure
            if rows and gap:  # a page break splits the table; the next part repeats the header or not
                _table(doc, rows)
                _page_break(doc)
                rows = []
            rows.append(cells)
            gap = False
            continue
        if not line.strip():
            gap = bool(rows)
            continue
        if line.strip() == "---":
            continue
        if rows:
            _table(doc, rows)
            rows = []
        gap = False
        for part in line.split("  \n"):
            _paragraph(doc, part)
    if rows:
        _table(doc, rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc.save(path)
    return path
