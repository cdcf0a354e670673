"""From cell grids to figures: find the indicator tables, their columns and forms.

Layouts seen in real appendices, all handled here:
- one sheet per form (the sheet name says "Biểu mẫu 3", "BM3", ...);
- all forms stacked in one sheet under "Biểu mẫu N" headings, table headers repeated;
- one table with numbered sections 1-7 whose titles name the forms;
- merged two-row headers ("Kết quả thống kê" over "Đơn vị tính | Số liệu");
- sub-rows with a blank STT or "Trong đó"; legends in the unit cell that spill
  onto the next rows; remarks in parentheses on a row of their own;
- provincial and district reports that repeat indicators per level, in blocks under
  a level heading ("Cấp huyện", "Hồ sơ do các sở, ngành tiếp nhận") or with the level
  in the label: every figure gets a scope (scope.py);
- aggregate tables laid out by level: a row per indicator, a column per level
  ("Tổng số | Trong đó: Cấp tỉnh | Cấp huyện | Cấp xã", maybe over two header rows):
  every filled level cell is a figure with its column's scope;
- terse rows ("Đã giải quyết", "Quá hạn") whose meaning comes from the section they are in,
  also when the section is named only by the table's title ("Tình hình giải quyết hồ sơ TTHC").
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache

from ..indicators import Catalog, Indicator, Match, legend_of
from ..text.labels import LabelKey, clean_text, fold, is_parenthetical, label_key
from .package import WorkbookError, column_letters
from .reader import SheetGrid
from ..text.scope import UNIT, column_scope, combined_heading_scope, label_scope, strip_scope_phrases, stt_depth
from ..text.values import CODED, COUNT, HEADING, MONEY, PERCENT, UNKNOWN, parse_figure, parse_legend

FORM_NAMES_VI = {
    1: "Công tác chỉ đạo, điều hành CCHC",
    2: "Cải cách thể chế",
    3: "Cải cách thủ tục hành chính",
    4: "Cải cách tổ chức bộ máy",
    5: "Cải cách chế độ công vụ",
    6: "Cải cách tài chính công",
    7: "Xây dựng và phát triển Chính quyền điện tử, Chính quyền số",
}
# Section titles that name a form, matched on the normalised label.
_FORM_TITLES = {
    1: re.compile(r"chi dao dieu hanh"),
    2: re.compile(r"\bthe che\b"),
    3: re.compile(r"cai cach tthc|^tthc$|kiem soat tthc"),
    4: re.compile(r"to chuc bo may"),
    5: re.compile(r"che do cong vu|^cong vu$|cai cach cong vu"),
    6: re.compile(r"tai chinh cong"),
    7: re.compile(r"chinh (quyen|phu) (dien tu|so)"),
}
_FORM_HEADING = re.compile(r"^(?:phu luc\s+\S+\s+)?bieu (?:mau\s*(?:so\s*)?|so\s*)0?([1-7])\b")
_SHEET_FORM = re.compile(r"(?:bieu mau|bieu|mau|bm|form)\s*(?:so\s*)?0?([1-7])\b")
_TOP_LEVEL_STT = re.compile(r"^(?:phan\s+)?(?:[1-7]|i{1,3}|iv|v|vi|vii)\.?$")
_QUARTER = re.compile(r"qu[yi]\s+(iv|i{1,3}|[1-4])\s*(?:nam|/|-|,)?\s*(\d{4})")
_ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4}
_MONEY_UNITS = {"trieu dong", "trieu", "dong", "ty dong", "nghin dong"}

MAX_CONTEXT = 12
# A row label this short ("Tiếp nhận", "Quá hạn") is a section heading when the row has no figure and no unit.
_TERSE_WORDS = 3


@dataclass
class Fact:
    sheet: str
    row: int
    form: int | None
    stt: str | None
    label: str
    unit: str | None
    raw: str | None
    value: Decimal | None
    indicator: str | None
    kind: str = UNKNOWN
    numerator: Decimal | None = None
    denominator: Decimal | None = None
    note: str | None = None
    legend: str | None = None
    match: str = "unmatched"
    column: int = 0  # 0-based column of the figure cell
    scope: str = UNIT  # unit | department | district | commune (scope.py)

    @property
    def cell(self) -> str:
        return f"{column_letters(self.column)}{self.row}"


@dataclass
class Issue:
    severity: str  # error (the file cannot be accepted as typed) | warning | info
    code: str
    sheet: str | None
    row: int | None
    message: str  # Vietnamese, names the cell and the cause


@dataclass
class Extraction:
    facts: list[Fact] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    title: str | None = None
    title_period: tuple[int, int] | None = None
    title_unit: str | None = None
    level_hint: str | None = None
    source_format: str = "xlsx"  # xlsx | docx
    narrative: list = field(default_factory=list)  # figures a document's narrative states (document.narrative)

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "error"]


@dataclass
class _Columns:
    stt: int | None
    label: int
    unit: int | None
    value: int
    note: int | None
    levels: tuple[tuple[int, str], ...] = ()  # (column, scope) of a table laid out by level


def _text(cell: object) -> str:
    if cell.__class__ is str:  # most cells: skip the checks below
        return clean_text(cell)
    if cell is None:
        return ""
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return clean_text(str(cell))


def _raw(cell: object) -> str | None:
    if cell is None:
        return None
    if isinstance(cell, float):
        return str(int(cell)) if cell.is_integer() else repr(cell)
    return str(cell).strip() or None


def _find(folded: list[str], *needles: str) -> int | None:
    for needle in needles:
        for i, text in enumerate(folded):
            if needle in text:
                return i
    return None


# A second figure column about another period or a target ("Số liệu quý trước | Số liệu quý này"): not the figure.
_OTHER_PERIOD = re.compile(r"\b(?:ky truoc|quy truoc|thang truoc|cung ky|nam truoc|ke hoach|chi tieu giao|muc tieu)\b")


def _value_column(folded: list[str], *needles: str) -> int | None:
    found = [i for i, text in enumerate(folded) if any(n in text for n in needles)]
    current = [i for i in found if not _OTHER_PERIOD.search(folded[i])]
    return (current or found or [None])[0]


def _may_be_header(cells: list[object]) -> bool:
    """Cheap test before the full header detection: a header names the STT or 'chỉ tiêu' column."""
    for c in cells:
        if isinstance(c, str) and _names_header_column(c):
            return True
    return False


@lru_cache(maxsize=65536)
def _names_header_column(c: str) -> bool:
    if len(c) < 200:
        folded = fold(c)
        if "chi tieu" in folded or "noi dung" in folded or folded.strip() in ("stt", "tt", "so tt", "so thu tu"):
            return True
    return False


@lru_cache(maxsize=65536)
def _form_heading(text: str) -> int | None:
    """The form a "Biểu mẫu N" heading names, from a row's first text (the same headings recur in every report)."""
    heading = _FORM_HEADING.match(fold(text))
    return int(heading.group(1)) if heading else None


@lru_cache(maxsize=65536)
def _stt_info(stt: str) -> tuple[int | None, bool]:
    """A row number's nesting depth, and whether it numbers a top-level section."""
    folded = fold(stt)
    return stt_depth(folded), _TOP_LEVEL_STT.match(folded) is not None


@lru_cache(maxsize=65536)
def _unit_info(unit_text: str) -> tuple[bool, str | None]:
    """Whether a unit cell types a legend, and the row kind it says on its own (None: the indicator decides)."""
    if parse_legend(unit_text):
        return True, CODED
    if "%" in unit_text:
        return False, PERCENT
    folded = fold(unit_text).strip(" .:-")
    if folded in _MONEY_UNITS:
        return False, MONEY
    if folded and any(ch.isalpha() for ch in folded):
        return False, COUNT  # Văn bản, Hồ sơ, Người, Đơn vị ...
    return False, None


@dataclass(frozen=True)
class _LabelPlan:
    """What a row's label says whatever the rows around it: its keys, the form a section title names,
    its catalog candidates in the form, the level it names. ``*_bare`` for a row with no figure and no unit."""
    key: LabelKey
    parenthetical: bool
    empty: bool  # nothing left once normalised, or just "Trong đó"
    title_form: int | None  # a form's section title, when no indicator of any form has the label
    named: str | None
    named_bare: str | None
    match_key: LabelKey  # the key to match on (without its level phrase where that makes it a catalog label)
    match_key_bare: LabelKey
    terse: bool  # the match key is a few words only
    terse_bare: bool


@lru_cache(maxsize=65536)  # every report of a template repeats the same labels
def _label_plan(catalog: Catalog, label: str, form: int | None) -> _LabelPlan:
    key = label_key(label)
    title_form = next((f for f, rx in _FORM_TITLES.items() if rx.search(key.short)), None)
    if not (title_form and len(key.short.split()) <= 14 and catalog.candidates(label)[1] in ("unmatched", "other_form")):
        title_form = None
    codes, _, _, matched = catalog.candidates(label, form)
    named = label_scope(key.full, matched, key.short)
    named_bare = named if named is not None else combined_heading_scope(key.full, key.short, matched)

    def match_key(named: str | None) -> LabelKey:
        if not codes and named is not None:
            # "Số hồ sơ do các sở, ngành tiếp nhận": the label without its level phrase may be a catalog label
            stripped = label_key(strip_scope_phrases(key.full))
            if stripped.full != key.full and catalog.candidates_for_key(stripped, form)[0]:
                return stripped
        return key

    plain, bare = match_key(named), match_key(named_bare)
    return _LabelPlan(key, is_parenthetical(label), key.short in ("", "trong do"), title_form, named, named_bare,
                      plain, bare, len(plain.short.split()) <= _TERSE_WORDS, len(bare.short.split()) <= _TERSE_WORDS)


def _level_columns(cells: list[object], following: list[list[object]],
                   taken: set[int | None]) -> tuple[tuple[tuple[int, str], ...], int]:
    """Columns of a table laid out by level ("Toàn tỉnh | Cấp tỉnh (sở, ngành) | Cấp huyện | Cấp xã"), and
    how many rows below are part of the header ("Tổng số | Trong đó" over "Cấp tỉnh | Cấp huyện | Cấp xã",
    maybe under "Số liệu" on a row of its own).

    A level table names at least two levels in distinct columns, one of them not the whole unit."""
    header = [[_text(c) for c in cells]]
    for row in following[:2]:
        texts = [_text(c) for c in row]
        # A row below continues the header when it has nothing in the STT and label columns.
        if not any(texts) or any(texts[i] for i in taken if i is not None and i < len(texts)):
            break
        header.append(texts)
    found: list[tuple[int, str]] = []
    used = 0
    for i in range(max(len(texts) for texts in header)):
        if i in taken:
            continue
        # the lowest header cell of the column names it ("Trong đó" spans the levels named below it)
        depth, text = next(((d, texts[i]) for d, texts in reversed(list(enumerate(header)))
                            if i < len(texts) and texts[i]), (0, ""))
        if not text or _OTHER_PERIOD.search(fold(text)):
            continue
        scope = column_scope(label_key(text))
        if scope is not None:
            found.append((i, scope))
            used = max(used, depth)
    scopes = {scope for _, scope in found}
    if len(found) < 2 or len(scopes) < len(found) or scopes == {UNIT}:
        return (), 0
    return tuple(found), len(header) - 1 if used else 0


def _header_columns(cells: list[object], following: list[list[object]]) -> tuple[_Columns, int] | None:
    """Columns from a header row ('STT | Chỉ tiêu | Đơn vị tính | Số liệu | Ghi chú'), maybe on two rows
    (three for a table laid out by level).

    Returns the columns and how many rows below were part of the header.
    """
    next_cells = following[0] if following else None
    folded = [fold(_text(c)) for c in cells]
    label = _find(folded, "chi tieu", "noi dung", "ten chi tieu")
    stt = next((i for i, t in enumerate(folded) if t in ("stt", "tt", "so tt", "so thu tu")), None)
    if label is None or (stt is None and not any("don vi tinh" in t or t == "dvt" for t in folded)):
        return None
    note = _find(folded, "ghi chu")
    unit = _find(folded, "don vi tinh", "dvt")
    levels, header_rows = _level_columns(cells, following, {stt, label, unit, note})
    if levels:
        return _Columns(stt=stt, label=label, unit=unit, value=levels[0][0], note=note, levels=levels), header_rows
    value = _value_column(folded, "so lieu", "gia tri")
    used_next = False
    if next_cells is not None and (unit is None or value is None):
        nxt = [fold(_text(c)) for c in next_cells]
        n_unit, n_value = _find(nxt, "don vi tinh", "dvt"), _value_column(nxt, "so lieu", "gia tri", "ket qua")
        if n_unit is not None or n_value is not None:
            unit = n_unit if n_unit is not None else unit
            value = n_value if n_value is not None else value
            note = note if note is not None else _find(nxt, "ghi chu")
            used_next = True
    if unit is None and value is None:
        merged = _find(folded, "ket qua")  # "Kết quả" merged over unit and value
        unit, value = (merged, merged + 1) if merged is not None else (label + 1, label + 2)
    elif unit is None:
        unit = value - 1 if value - 1 > label else label + 1
    elif value is None:
        value = unit + 1
    return _Columns(stt=stt, label=label, unit=unit, value=value, note=note), int(used_next)


def _row_kind(unit_text: str, indicator: Indicator | None) -> str:
    if parse_legend(unit_text):
        return CODED
    if "%" in unit_text:
        return PERCENT
    folded = fold(unit_text).strip(" .:-")
    if folded in _MONEY_UNITS:
        return MONEY
    if folded and any(ch.isalpha() for ch in folded):
        return COUNT  # Văn bản, Hồ sơ, Người, Đơn vị ...
    if indicator is not None:
        return indicator.kind
    return UNKNOWN


def find_period(text: str) -> tuple[int, int] | None:
    m = _QUARTER.search(fold(text))
    if not m:
        return None
    q = m.group(1)
    quarter = int(q) if q.isdigit() else _ROMAN[q]
    return int(m.group(2)), quarter


def level_hint_of(unit_text: str) -> str | None:
    t = f" {fold(unit_text)} "
    if " thi xa " in t or " huyen " in t:
        return "district"
    if any(w in t for w in (" xa ", " phuong ", " thi tran ", " dac khu ")):
        return "commune"
    if " so " in t or " ban " in t:
        return "department"
    if " tinh " in t:
        return "province"
    return None


class _SheetReader:
    """Walks one sheet's rows, tracking the current form, table columns and row context."""

    def __init__(self, grid: SheetGrid, catalog: Catalog, out: Extraction, used: set[str]):
        self.grid, self.catalog, self.out, self.used = grid, catalog, out, used
        m = _SHEET_FORM.search(fold(grid.name))
        self.form: int | None = int(m.group(1)) if m else None
        self.columns: _Columns | None = None
        self.recent: list[str] = []
        self.last: Fact | None = None
        # The level block the rows are in ("Cấp huyện" ...) and the row number depth of its heading.
        self.block_scope: str | None = None
        self.block_depth: int | None = None

    def _set_form(self, form: int) -> None:
        if form != self.form:
            self.form = form
            self.recent = []
            self.block_scope = self.block_depth = None

    def continue_from(self, previous: "_SheetReader") -> None:
        """A document table goes on where the previous one stopped: same form, and same columns
        when it has as many (a table split by a page break need not repeat its header), and the same
        level block ("Cấp huyện" ...) when nothing above it names a form of its own."""
        if self.form is None or self.form == previous.form:
            self.block_scope, self.block_depth = previous.block_scope, previous.block_depth
        self.form = self.form or previous.form
        self.recent = list(previous.recent)
        self.last = previous.last  # a legend or a remark may spill past the break
        if previous.columns is not None and _width(self.grid) == _width(previous.grid):
            self.columns = previous.columns

    def read(self, columns: _Columns | None = None) -> None:
        rows = self.grid.rows
        skip = 0
        if columns is not None:
            self.columns = columns
        for text in self.grid.preamble:
            heading = _FORM_HEADING.match(fold(text))
            if heading:
                self._set_form(int(heading.group(1)))
            else:
                self._title_row(" ".join(text.split()))
                self._title_context(" ".join(text.split()))
        for i, (r, cells) in enumerate(rows):
            if skip:
                skip -= 1
                continue
            first = cells[0] if cells and cells[0] is not None else next((c for c in cells if c is not None), "")
            heading = _form_heading(clean_text(first) if first.__class__ is str else _text(first))
            if heading and not self._value_cell(cells):
                self._set_form(heading)
                continue
            if _may_be_header(cells):
                header = _header_columns(cells, [c for _, c in rows[i + 1:i + 3]])
                if header is not None:
                    self.columns, skip = header
                    continue
            if self.columns is None:
                self._title_row(" ".join(t for t in map(_text, cells) if t))
                self._title_context(" ".join(t for t in map(_text, cells) if t))
                continue
            if self.columns.levels:
                self._data_row(r, cells)
            else:
                self._figure_row(r, cells, self.columns.value, None)

    def _value_cell(self, cells: list[object]) -> object:
        if self.columns is None:
            return None
        columns = [col for col, _ in self.columns.levels] or [self.columns.value]
        return next((cells[col] for col in columns if col < len(cells) and cells[col] is not None), None)

    def _title_context(self, text: str) -> None:
        """A title above the table that names a section ("Tình hình giải quyết hồ sơ TTHC quý III") gives
        terse rows below ("Đã giải quyết", "Quá hạn") their context, as a heading row would."""
        code = self.catalog.heading_within(label_key(text).short, self.form) if text else None
        if code is not None:
            self.recent = [code]

    def _title_row(self, text: str) -> None:
        if not text:
            return
        if self.out.title_period is None and (period := find_period(text)):
            self.out.title_period = period
            self.out.title = text
        # "(Kèm theo Báo cáo số ... của UBND xã X)" names the reporting unit; "ban hành kèm theo" names the template's issuer.
        m = re.search(r"\bcủa\s+(.{3,80}?)\)?\s*$", text, re.I)
        if self.out.title_unit is None and m and "kem theo bao cao" in fold(text):
            self.out.title_unit = m.group(1).strip(" )*")
            self.out.level_hint = level_hint_of(self.out.title_unit)

    def _cell(self, cells: list[object], index: int | None) -> object:
        return cells[index] if index is not None and index < len(cells) else None

    def _data_row(self, r: int, cells: list[object]) -> None:
        c = self.columns
        if not c.levels:
            self._figure_row(r, cells, c.value, None)
            return
        # A table laid out by level: every filled level cell is a figure of the row's indicator, in its
        # column's scope; each is matched in the context the row had (not after its own first column).
        filled = [(col, scope) for col, scope in c.levels if self._cell(cells, col) is not None] or [c.levels[0]]
        before = list(self.recent)
        for col, scope in filled:
            self.recent = list(before)
            self._figure_row(r, cells, col, scope)

    def _figure_row(self, r: int, cells: list[object], value_col: int, column_scope: str | None) -> None:
        c = self.columns
        n = len(cells)
        # _text inlined for the usual str cell: four calls a row add up over a national quarter
        stt = cells[c.stt] if c.stt is not None and c.stt < n else None
        stt = (clean_text(stt) if stt.__class__ is str else _text(stt)) or None
        label = cells[c.label] if c.label < n else None
        label = clean_text(label) if label.__class__ is str else _text(label)
        unit = cells[c.unit] if c.unit is not None and c.unit < n else None
        unit = clean_text(unit) if unit.__class__ is str else _text(unit)
        value_cell = cells[value_col] if value_col is not None and value_col < n else None
        note = cells[c.note] if c.note is not None and c.note < n else None
        note = (clean_text(note) if note.__class__ is str else _text(note)) or None
        if unit in ("-", "–"):
            unit = ""
        if not label:
            if unit and value_cell is None and parse_legend(unit) and self.last is not None:
                self.last.legend = f"{self.last.legend or self.last.unit or ''} {unit}".strip()
            elif not stt or c.stt is None:
                self._title_row(" ".join(_text(x) for x in cells if x is not None))
            return  # footnotes and stray text outside the label column are not figures
        plan = _label_plan(self.catalog, label, self.form)
        if plan.parenthetical and value_cell is None and not unit and self.last is not None:
            self.last.label = f"{self.last.label} {label}"
            return
        if plan.empty and value_cell is None:
            return
        depth, top_level = _stt_info(stt) if stt else (None, False)
        bare = value_cell is None and not unit  # a heading-like row: no figure, no unit
        if bare and plan.title_form and (not stt or top_level):
            self._set_form(plan.title_form)
            return
        if self.block_scope is not None and depth is not None and self.block_depth is not None \
                and depth <= self.block_depth:
            self.block_scope = self.block_depth = None  # a row numbered at or above the block's heading ends it
        if bare:
            named, key, terse = plan.named_bare, plan.match_key_bare, plan.terse_bare
        else:
            named, key, terse = plan.named, plan.match_key, plan.terse
        context_scope = named or self.block_scope
        if column_scope is not None and column_scope != UNIT:
            context_scope = column_scope  # the level column says which level, whatever the block above
        match = self.catalog.match(label, self.form, self.recent, self.used, context_scope, key=key)
        indicator = self.catalog.indicators[match.code] if match.code else None
        if bare and indicator is not None and indicator.kind != HEADING and terse and indicator.parts:
            # "I. TIẾP NHẬN" with no figure: a section heading whose rows give the figures, not the figure
            # itself left empty (which would take the indicator from the row that has it).
            self.recent.insert(0, match.code)
            del self.recent[MAX_CONTEXT:]
            match, indicator = Match(None, "unmatched"), None
        if bare and named is not None and (indicator is None or indicator.kind == HEADING):
            # A level heading: the rows below are that level's figures, until the next heading at its depth.
            self.block_scope, self.block_depth = named, depth
            self.recent = [match.code] if match.code else []
            return
        if bare and self.block_scope is not None and self.block_depth is None and depth is None \
                and indicator is not None and indicator.kind == HEADING and not indicator.parent:
            self.block_scope = None  # an unnumbered block ends at the next top-level heading
            context_scope = named
        scope = indicator.scope_in(context_scope) if indicator else (context_scope or UNIT)
        if match.code:
            self.used.add((indicator.concept, scope))
            self.recent.insert(0, match.code)
            del self.recent[MAX_CONTEXT:]
            if indicator.kind == HEADING and value_cell is None and not unit:
                return  # a heading gives context to the rows below it; it carries no figure
        legend, kind = _unit_info(unit)
        if kind is None:
            kind = indicator.kind if indicator is not None else UNKNOWN
        if kind == HEADING:
            kind = UNKNOWN
        # Positional, in Fact's field order: its keyword form costs three times as much, once per figure.
        fact = Fact(self.grid.name, r, self.form or (indicator.form if indicator else None), stt,  # sheet row form stt
                    label, unit or None, _raw(value_cell), None, match.code,  # label unit raw value indicator
                    kind, None, None, note, unit if legend else None,  # kind numerator denominator note legend
                    match.how, value_col, scope)  # match column scope
        self._read_value(fact, value_cell, indicator)
        self.out.facts.append(fact)
        self.last = fact
        if indicator is None:
            self._report_unmatched(fact, match.how)

    def _read_value(self, fact: Fact, cell: object, indicator: Indicator | None) -> None:
        def where() -> str:  # only a cell with a problem is named (formatting it costs more than reading it)
            return f"trang “{fact.sheet}”, dòng {fact.row}, ô {fact.cell}"

        grid = self.grid
        if grid.error_cells and (fact.row, fact.column) in grid.error_cells:
            error = grid.error_cells[(fact.row, fact.column)]
            self.out.issues.append(Issue("error", "excel_error", fact.sheet, fact.row,
                                         f"{where()}: ô số liệu chứa lỗi công thức Excel “{error}”; hãy sửa công thức hoặc nhập số"))
            return
        if grid.formulas_without_value and (fact.row, fact.column) in grid.formulas_without_value:
            self.out.issues.append(Issue("error", "formula_without_value", fact.sheet, fact.row,
                                         f"{where()}: công thức chưa có giá trị tính sẵn; hãy mở tệp bằng Excel, tính lại và lưu"))
            return
        parsed = parse_figure(cell, fact.kind, percent_format=bool(grid.percent_cells) and grid.is_percent(fact.row, fact.column),
                              legend=legend_of(indicator, fact.unit) if fact.kind == CODED else None, unit_text=fact.unit)
        if parsed.error:
            self.out.issues.append(Issue("error", "text_in_figure", fact.sheet, fact.row, f"{where()}: {parsed.error}"))
            return
        fact.value, fact.numerator, fact.denominator = parsed.value, parsed.numerator, parsed.denominator
        if fact.value is not None and fact.value < 0 and fact.kind in (COUNT, MONEY, UNKNOWN, CODED):
            self.out.issues.append(Issue("error", "negative_count", fact.sheet, fact.row,
                                         f"{where()}: số âm ({fact.raw}) ở chỉ tiêu đếm “{fact.label}”"))

    def _report_unmatched(self, fact: Fact, how: str) -> None:
        if self.out.issues and (self.out.issues[-1].sheet, self.out.issues[-1].row) == (fact.sheet, fact.row) \
                and self.out.issues[-1].code == f"{how}_row":
            return  # the row's other level columns: said once per row
        reason = {"duplicate": "chỉ tiêu đã xuất hiện ở dòng khác",
                  "ambiguous": "nhãn có thể ứng với nhiều chỉ tiêu",
                  "other_form": f"nhãn thuộc chỉ tiêu của biểu mẫu khác, không phải Biểu mẫu {fact.form}"}.get(
            how, "không có trong danh mục chỉ tiêu")
        self.out.issues.append(Issue("info", f"{how}_row", fact.sheet, fact.row,
                                     f"trang “{fact.sheet}”, dòng {fact.row}: “{fact.label}” — {reason}; giữ lại, chưa gán chỉ tiêu"))


def _width(grid: SheetGrid) -> int:
    return max((len(cells) for _, cells in grid.rows), default=0)


def extract_facts(grids: list[SheetGrid], catalog: Catalog, out: Extraction | None = None) -> Extraction:
    """All figures of a workbook (or of a document's tables), each tied to a catalog indicator where one
    matches. ``out`` may come with the title already known (a document's title is in its narrative)."""
    out = out if out is not None else Extraction()
    used: set[tuple[str, str]] = set()  # (concept, scope) pairs attributed so far
    found_table = False
    previous: _SheetReader | None = None
    for grid in grids:
        reader = _SheetReader(grid, catalog, out, used)
        if grid.continues_previous and previous is not None:
            reader.continue_from(previous)
        reader.read()
        if reader.columns is not None:
            found_table = True
        elif grid.rows:
            # No header row: accept the usual STT | label | unit | value | note layout if labels match the catalog.
            trial = Extraction()
            _SheetReader(grid, catalog, trial, set(used)).read(_Columns(0, 1, 2, 3, 4))
            if sum(1 for f in trial.facts if f.indicator) >= 5:
                reader = _SheetReader(grid, catalog, out, used)
                reader.read(_Columns(0, 1, 2, 3, 4))
                found_table = True
        previous = reader
    if not out.facts or not any(f.indicator for f in out.facts):
        if not any(g.rows for g in grids):
            raise WorkbookError("empty_workbook", "bảng tính trống, không có dữ liệu")
        what = "không có dòng nào khớp danh mục chỉ tiêu" if found_table else "không tìm thấy dòng tiêu đề “STT | Chỉ tiêu | Đơn vị tính | Số liệu”"
        raise WorkbookError("no_indicator_table", f"không tìm thấy bảng chỉ tiêu CCHC ({what})")
    return out
