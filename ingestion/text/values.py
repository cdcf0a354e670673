"""Reading one figure cell the way a Vietnamese typist meant it.

The dot groups thousands and the comma marks decimals (``1.200`` = 1200,
``99,02%`` = 99.02), but typists mix styles, so the row's kind decides:
in a percent row a single dot is a decimal point (``12.16%``, ``76.1``), in a
count or money row a dot followed by exactly three digits groups thousands.
A dash or an empty cell means "not reported", never zero.
"""
from __future__ import annotations

import datetime as dt
import math
import re
from functools import lru_cache
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from .labels import fold

COUNT, PERCENT, MONEY, CODED, HEADING, UNKNOWN = "count", "percent", "money", "coded", "heading", "unknown"
KINDS = (COUNT, PERCENT, MONEY, CODED, HEADING, UNKNOWN)

MISSING_MARKS = {"", "-", "--", "---", "–", "—", "…", "...", "x/x"}

_SPACES = re.compile(r"[\s\u00a0\u202f\u2009]+")
_NUM = r"[-−+]?\d[\d.,\s\u00a0\u202f\u2009]*"
_NUM_ONLY = re.compile(rf"^{_NUM}$")
_PERCENT = re.compile(rf"^(?P<n>{_NUM})\s*%$")
_RATE_WITH_FRACTION = re.compile(rf"^(?P<n>{_NUM})\s*(?P<pct>%)?\s*\(\s*(?P<a>{_NUM})\s*/\s*(?P<b>{_NUM})\s*\)$")
_FRACTION = re.compile(rf"^(?P<a>{_NUM})\s*/\s*(?P<b>{_NUM})$")
_NUMBER_THEN_WORDS = re.compile(rf"^(?P<n>{_NUM})\s*(?P<w>[^\d%/()]+)$")
_LEGEND_ITEM = re.compile(r"=\s*(\d+)")

# Unit words a typist may leave after a number ("05 văn bản").
_UNIT_WORDS = {fold(w) for w in (
    "văn bản", "hồ sơ", "thủ tục", "người", "đơn vị", "nhiệm vụ", "vấn đề", "cơ quan", "ban", "tổ chức",
    "pakn", "phiếu", "triệu đồng", "triệu", "cơ quan, đơn vị", "tthc", "lượt", "cuộc", "đợt", "lần")}


@dataclass(frozen=True)
class ParsedValue:
    value: Decimal | None
    numerator: Decimal | None = None
    denominator: Decimal | None = None
    error: str | None = None  # why the cell could not be read, in Vietnamese


@lru_cache(maxsize=65536)  # the same figures come back in many reports; a Decimal is immutable
def parse_number(text: str, kind: str) -> Decimal:
    """One number typed as text, e.g. '4.494.051', '99,02', '05', '1.234,5'. Raises ValueError."""
    s = _SPACES.sub("", text.strip()).replace("−", "-")
    sign = ""
    if s[:1] in "+-":
        sign, s = ("-" if s[0] == "-" else ""), s[1:]
    if not s or not s[0].isdigit() or not re.fullmatch(r"[\d.,]+", s) or not s[-1].isdigit():
        raise ValueError(text)
    dots, commas = s.count("."), s.count(",")
    if dots and commas:  # the later separator is the decimal one: 1.234,5 or 1,234.5
        dec, grp = (",", ".") if s.rfind(",") > s.rfind(".") else (".", ",")
        if s.count(dec) > 1:
            raise ValueError(text)
        whole, frac = s.split(dec)
        if not re.fullmatch(rf"\d{{1,3}}(\{grp}\d{{3}})*", whole):
            raise ValueError(text)
        s = whole.replace(grp, "") + "." + frac
    elif commas:
        if commas > 1 or (kind == COUNT and re.fullmatch(r"\d{1,3}(,\d{3})+", s)):
            if not re.fullmatch(r"\d{1,3}(,\d{3})+", s):
                raise ValueError(text)
            s = s.replace(",", "")  # counts are whole: '1,200' groups thousands
        else:
            s = s.replace(",", ".")
    elif dots:
        if dots > 1:
            if not re.fullmatch(r"\d{1,3}(\.\d{3})+", s):
                raise ValueError(text)
            s = s.replace(".", "")
        elif kind != PERCENT and re.fullmatch(r"\d{1,3}\.\d{3}", s):
            s = s.replace(".", "")
    try:
        return Decimal(sign + s).normalize() + 0
    except InvalidOperation as exc:  # pragma: no cover - the pattern above admits only digits
        raise ValueError(text) from exc


def _clean_decimal(value: float | int, scale: int = 1) -> Decimal:
    if isinstance(value, int) and scale == 1:
        return Decimal(value)
    # Excel stores binary floats: 0.758 * 100 must read as 75.8, not 75.80000000000001.
    return Decimal(repr(round(float(value) * scale, 9))).normalize() + 0


def parse_legend(text: str | None) -> dict[int, str]:
    """'Trực tuyến = 0 Phát phiếu = 1 Kết hợp = 2' -> {0: 'Trực tuyến', 1: 'Phát phiếu', 2: 'Kết hợp'}."""
    if not text or "=" not in text:
        return {}
    legend: dict[int, str] = {}
    start = 0
    for m in _LEGEND_ITEM.finditer(text):
        label = text[start:m.start()].strip(" ;,.\n\t")
        legend[int(m.group(1))] = label
        start = m.end()
    return legend


def _legend_code(text: str, legend: dict[int, str]) -> int | None:
    folded = fold(text).strip(" .;")
    for code, label in legend.items():
        if folded == fold(label).strip():
            return code
    item = parse_legend(text)  # a drop-down answer such as "Phát phiếu = 1"
    if len(item) == 1:
        code, label = next(iter(item.items()))
        if code in legend and (not label or fold(label).strip() == fold(legend[code]).strip()):
            return code
    return None


def parse_figure(cell: object, kind: str, *, percent_format: bool = False,
                 legend: dict[int, str] | None = None, unit_text: str | None = None) -> ParsedValue:
    """Read one figure cell. ``kind`` is the row's kind (see KINDS)."""
    if cell.__class__ is float:  # what calamine gives for every number: decided first
        return ParsedValue(None) if math.isnan(cell) else _number_figure(cell, 100 if percent_format else 1)
    if cell is None:
        return ParsedValue(None)
    if isinstance(cell, bool):
        return ParsedValue(None, error=f"ô số liệu chứa giá trị logic {cell!r}, không phải số")
    if isinstance(cell, (int, float)):
        if isinstance(cell, float) and math.isnan(cell):
            return ParsedValue(None)
        return _number_figure(cell, 100 if percent_format else 1)
    if isinstance(cell, (dt.date, dt.time, dt.timedelta)):
        return ParsedValue(None, error=f"ô số liệu đang ở dạng ngày/giờ ({cell}); có thể Excel đã tự đổi phân số hoặc số thập phân thành ngày")
    if legend is None and cell.__class__ is str:
        return _text_figure(cell, kind, unit_text)
    return _parse_text(cell, kind, legend, unit_text)


# A ParsedValue is immutable and the same figures recur across reports. typed: 100 and 100.0 read
# differently (Decimal('100'), Decimal('1E+2')).
@lru_cache(maxsize=65536, typed=True)
def _number_figure(cell: int | float, scale: int) -> ParsedValue:
    return ParsedValue(_clean_decimal(cell, scale))


@lru_cache(maxsize=65536)
def _text_figure(cell: str, kind: str, unit_text: str | None) -> ParsedValue:
    return _parse_text(cell, kind, None, unit_text)


def _parse_text(cell: object, kind: str, legend: dict[int, str] | None, unit_text: str | None) -> ParsedValue:
    text = " ".join(str(cell).split())
    if text in MISSING_MARKS:
        return ParsedValue(None)
    try:
        if _NUM_ONLY.match(text):
            return ParsedValue(parse_number(text, kind))
        if m := _PERCENT.match(text):
            return ParsedValue(parse_number(m["n"], PERCENT))
        if m := _RATE_WITH_FRACTION.match(text):
            value_kind = PERCENT if (m["pct"] or kind == PERCENT) else kind
            return ParsedValue(parse_number(m["n"], value_kind), parse_number(m["a"], COUNT), parse_number(m["b"], COUNT))
        if m := _FRACTION.match(text):
            a, b = parse_number(m["a"], COUNT), parse_number(m["b"], COUNT)
            if kind == PERCENT:
                value = (a * 100 / b).quantize(Decimal("0.0001")).normalize() + 0 if b else None
                return ParsedValue(value, a, b)
            return ParsedValue(a, a, b)  # '27/27' in a count row: 27 of 27
    except ValueError:
        return ParsedValue(None, error=f"không đọc được số từ “{text}”")
    if legend and (code := _legend_code(text, legend)) is not None:
        return ParsedValue(Decimal(code))
    if m := _NUMBER_THEN_WORDS.match(text):
        words = fold(m["w"]).strip(" .;:")
        if words in _UNIT_WORDS or (unit_text and words == fold(unit_text).strip()):
            try:
                return ParsedValue(parse_number(m["n"], kind))
            except ValueError:
                pass
    return ParsedValue(None, error=f"ô số liệu chứa chữ “{text}”, không phải số")


def format_vi(value: Decimal | float | int | None, decimals: int = 2) -> str:
    """Vietnamese display: 4494051 -> '4.494.051', 72.7508 -> '72,75'."""
    if value is None:
        return "(trống)"
    d = Decimal(str(value))
    q = d.quantize(Decimal(1) / (Decimal(10) ** decimals)) if decimals else d.quantize(Decimal(1))
    sign = "-" if q < 0 else ""
    whole, _, frac = f"{abs(q):f}".partition(".")
    frac = frac.rstrip("0")
    grouped = f"{int(whole):,}".replace(",", ".")
    return sign + grouped + ("," + frac if frac else "")
