"""The body of a Word document in reading order: paragraphs and tables.

Tables become cell grids the layout reader treats like sheets. Merged cells are
resolved the way Excel merges are: the text sits in the first cell of a horizontal
span (gridSpan) or of a vertical merge (vMerge restart), the cells it covers are
empty. Paragraph text is what Word shows: runs, hyperlinks, fields' results and
tracked insertions; deleted text, field codes, text boxes and drawings are left out.
Superscript digits (footnote marks typed by hand) become superscript characters,
which labels drop.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from defusedxml import ElementTree as SafeET

from ..workbook.ooxml import MESSAGES, RESAVE
from ..workbook.package import MAX_COLUMNS, MAX_ROWS, RESAVE_DOCX, WorkbookError
from .package import MAX_PARAGRAPHS, MAX_TABLES

_W_NAMESPACES = ("http://schemas.openxmlformats.org/wordprocessingml/2006/main",
                 "http://purl.oclc.org/ooxml/wordprocessingml/main")
_MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"
_SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
# Containers whose content is read as if it stood in their place.
_TRANSPARENT = {"sdt", "sdtContent", "customXml", "smartTag", "ins", "moveTo", "hyperlink", "fldSimple", "dir", "bdo"}
# Elements whose text Word does not show as part of the paragraph.
_HIDDEN = {"del", "moveFrom", "delText", "instrText", "txbxContent", "pPr", "rPr", "footnoteReference",
           "endnoteReference", "commentReference", "annotationRef", "drawing", "pict", "object"}


@dataclass
class Paragraph:
    number: int  # 1-based among the non-empty paragraphs of the body
    text: str


@dataclass
class Table:
    number: int  # 1-based position among the document's tables ("Bảng N")
    rows: list[tuple[int, list[str | None]]]  # (1-based row within the table, cells by grid column)
    width: int
    preamble: list[Paragraph] = field(default_factory=list)  # paragraphs since the previous table


@dataclass
class DocumentBody:
    paragraphs: list[Paragraph] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)


def _split(tag: str) -> tuple[str, str]:
    if tag[:1] == "{":
        ns, _, local = tag[1:].partition("}")
        return ns, local
    return "", tag


def _w_attr(el, name: str) -> str | None:
    for ns in _W_NAMESPACES:
        value = el.get(f"{{{ns}}}{name}")
        if value is not None:
            return value
    return None


def _child(el, name: str):
    for child in el:
        ns, local = _split(child.tag)
        if local == name and ns in _W_NAMESPACES:
            return child
    return None


def _is_superscript(run) -> bool:
    rpr = _child(run, "rPr")
    align = _child(rpr, "vertAlign") if rpr is not None else None
    return align is not None and _w_attr(align, "val") == "superscript"


def _inline_text(el, out: list[str], superscript: bool = False) -> None:
    for child in el:
        ns, local = _split(child.tag)
        if ns == _MC:
            if local in ("AlternateContent", "Choice"):
                _inline_text(child, out, superscript)  # Fallback repeats the Choice: read once
            continue
        if ns not in _W_NAMESPACES or local in _HIDDEN:
            continue
        if local == "r":
            _inline_text(child, out, _is_superscript(child))
        elif local == "t":
            text = child.text or ""
            out.append(text.translate(_SUPERSCRIPT) if superscript and text.strip().isdigit() else text)
        elif local in ("tab", "ptab"):
            out.append("\t")
        elif local in ("br", "cr"):
            out.append("\n")
        elif local == "noBreakHyphen":
            out.append("-")
        elif local in _TRANSPARENT or local == "p":
            _inline_text(child, out, superscript)


def paragraph_text(p) -> str:
    out: list[str] = []
    _inline_text(p, out)
    return "".join(out).replace("\u00a0", " ").strip()


class _BodyReader:
    def __init__(self):
        self.body = DocumentBody()
        self.pending: list[Paragraph] = []  # paragraphs since the last table

    def paragraph(self, p) -> None:
        text = paragraph_text(p)
        if not text:
            return
        if len(self.body.paragraphs) >= MAX_PARAGRAPHS:
            raise WorkbookError("too_large", f"văn bản quá dài (hơn {MAX_PARAGRAPHS} đoạn văn)")
        para = Paragraph(len(self.body.paragraphs) + 1, text)
        self.body.paragraphs.append(para)
        self.pending.append(para)

    def blocks(self, el) -> None:
        for local, child in _w_children(el, ("p", "tbl")):
            if local == "p":
                self.paragraph(child)
            else:
                self.table(child)

    def table(self, tbl) -> None:
        number = len(self.body.tables) + 1
        if number > MAX_TABLES:
            raise WorkbookError("too_large", f"văn bản có quá nhiều bảng (hơn {MAX_TABLES} bảng)")
        table = Table(number, [], 0, preamble=self.pending)
        self.pending = []
        self.body.tables.append(table)
        nested: list = []
        grid = _child(tbl, "tblGrid")
        width = sum(1 for c in grid if _split(c.tag)[1] == "gridCol") if grid is not None else 0
        for r, (_, tr) in enumerate(_w_children(tbl, ("tr",)), start=1):
            if r > MAX_ROWS:
                raise WorkbookError("sheet_too_large", f"bảng {number} quá lớn (hơn {MAX_ROWS} dòng)")
            cells: list[str | None] = []
            trpr = _child(tr, "trPr")
            before = _child(trpr, "gridBefore") if trpr is not None else None
            if before is not None:
                cells.extend([None] * _int(_w_attr(before, "val"), 0))
            for _, tc in _w_children(tr, ("tc",)):
                tcpr = _child(tc, "tcPr")
                span = _int(_w_attr(_child(tcpr, "gridSpan"), "val"), 1) if tcpr is not None and _child(tcpr, "gridSpan") is not None else 1
                covered = False
                if tcpr is not None:
                    vmerge, hmerge = _child(tcpr, "vMerge"), _child(tcpr, "hMerge")
                    covered = (vmerge is not None and _w_attr(vmerge, "val") in (None, "continue")) or \
                        (hmerge is not None and _w_attr(hmerge, "val") in (None, "continue"))
                texts = []
                for local, part in _w_children(tc, ("p", "tbl")):
                    if local == "tbl":
                        nested.append(part)
                    elif text := paragraph_text(part):
                        texts.append(text)
                text = "\n".join(texts)
                cells.append(None if covered or not text else text)
                cells.extend([None] * (max(span, 1) - 1))
            width = max(width, len(cells))
            if width > MAX_COLUMNS:
                raise WorkbookError("sheet_too_large", f"bảng {number} có quá nhiều cột ({width}; giới hạn {MAX_COLUMNS})")
            while cells and cells[-1] is None:
                cells.pop()
            if cells:
                table.rows.append((r, cells))
        table.width = width
        for inner in nested:  # tables inside cells follow their table, in reading order
            self.table(inner)


def _int(value: str | None, default: int) -> int:
    try:
        return max(int(value), 0) if value is not None else default
    except ValueError:
        return default


def _w_children(el, wanted: tuple[str, ...]):
    """The children of ``el`` named in ``wanted``, looking through transparent containers (sdt, customXml ...)."""
    for child in el:
        ns, local = _split(child.tag)
        if ns not in _W_NAMESPACES:
            continue
        if local in wanted:
            yield local, child
        elif local in _TRANSPARENT:
            yield from _w_children(child, wanted)


def _refused(code: str, detail: str) -> WorkbookError:
    """A plain cause for the clerk (how to re-save a Word file), the technical one in ``detail``."""
    return WorkbookError(code, MESSAGES[code].replace(RESAVE, RESAVE_DOCX), detail)


def read_body(document_xml: bytes) -> DocumentBody:
    """Paragraphs and tables of word/document.xml, or WorkbookError (Vietnamese) for what cannot be read."""
    try:
        root = SafeET.fromstring(document_xml)
    except SafeET.ParseError as exc:
        raise _refused("corrupt_zip", f"word/document.xml: {exc}") from exc
    except Exception as exc:  # defusedxml's own refusals; the package checks should have caught them first
        raise _refused("xml_bomb", f"word/document.xml: {type(exc).__name__}: {exc}") from exc
    reader = _BodyReader()
    body = _child(root, "body")
    if body is not None:
        reader.blocks(body)
    return reader.body
