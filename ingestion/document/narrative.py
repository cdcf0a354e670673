"""Figures the narrative of a report states in sentences, tied to catalog indicators.

"Số lượng hồ sơ đã giải quyết: 438 hồ sơ; trong đó, giải quyết trước hạn: 384 hồ sơ ..."
-> tthc_dossiers_resolved_total = 438, tthc_dossiers_resolved_early = 384.

The patterns are data (dbt_project/seeds/narrative_patterns.csv, beside the indicator
catalog), one row per way of saying a figure. A pattern is a regular expression on the
folded sentence (lower case, no diacritics: "so luong ho so da giai quyet: 438 ho so")
with one number placeholder:

    {N}  a count as typed ("7.045", "05"), not part of a fraction, a decimal or a percentage
    {P}  a percentage ("75,8 %")
    {M}  an amount in million VND ("238.526 triệu đồng")
    {GAP} one character of the same clause (a dot only between digits)

A row with ``after`` only applies after a match of that pattern in the same sentence
("trước hạn: 384" after "đã giải quyết: 438"), and ``requires`` must occur somewhere in
the sentence. Scope is read from the words around the figure: "cấp huyện", "cấp xã" ...;
a parenthesis after a figure that breaks it down by level ("(cấp huyện là 2.967 hồ sơ,
cấp xã là 4.078 hồ sơ)") gives figures of the same indicator for each level.

What is certain is compared with the appendix (rule narrative_matches_appendix); what is
not (a pattern marked compare = 0, an approximate figure "hơn 600", a clause naming two
levels) is stored and shown, but not compared.
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from .. import config
from ..indicators import Catalog
from ..text.labels import fold
from ..text.values import PERCENT, parse_number

PATTERNS_CSV = config.DBT_PROJECT_DIR / "seeds" / "narrative_patterns.csv"
SCOPES = ("unit", "department", "district", "commune", "mixed")  # text/scope.py, and "mixed"

_PLACEHOLDERS = {
    "{N}": r"(?:(?:hon|tren|gan|khoang|xap xi|uoc|chua den|duoi) )?"  # approximate: read, then not compared
           r"(?<![\d/.,])(?P<n>\d{1,3}(?:\.\d{3})+|\d+)(?![\d/])(?!,\d)(?!\.\d)(?!\s*%)"
           r"(?!\s*(?:ngan|nghin|trieu|ty|ti)\b)",
    "{P}": r"(?<![\d/.,])(?P<n>\d{1,3}(?:[.,]\d+)?)\s*%",
    "{M}": r"(?<![\d/.,])(?P<n>\d{1,3}(?:\.\d{3})+(?:,\d+)?|\d+(?:,\d+)?)\s*trieu(?: dong)?\b",
    "{GAP}": r"(?:[^.;()]|(?<=\d)\.(?=\d))",
}
# The scopes of text/scope.py: "cấp tỉnh" is the provincial bodies' level (department).
_SCOPE_WORDS = (
    ("department", re.compile(r"\bcap tinh\b|\b(?:cac so|cap so|so, ban, nganh|so, nganh)\b")),
    ("district", re.compile(r"\bcap huyen\b")),
    ("commune", re.compile(r"\b(?:cap xa|cac xa)\b")),
)
_APPROXIMATE = re.compile(r"\b(?:hon|tren|gan|khoang|xap xi|uoc|uoc tinh|duoi|chua den|toi thieu|it nhat)\s*$")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[^\s])|\n+")
_UNIT_WORDS = r"(?:\s*(?:ho so|hs|thu tuc(?: hanh chinh)?|tthc|nguoi|nhiem vu|van ban|trieu dong|don vi))?"
_BREAKDOWN = re.compile(_UNIT_WORDS + r"\s*\(([^()]{3,400})\)")
_CLAUSE_BREAK = re.compile(r"[;(]")
_HAS_FIGURE = re.compile(r"\d(?![\d.]*/)")  # a digit that does not start a date or a document number


@dataclass(frozen=True)
class NarrativePattern:
    id: str
    indicator: str
    pattern: str
    after: str | None
    requires: re.Pattern | None
    levels: str  # unit levels (letters p, s, d, c) where the figure is certain; empty: every level
    compare: bool
    regex: re.Pattern


@dataclass
class NarrativeFigure:
    paragraph: int  # 1-based among the document's non-empty paragraphs
    position: int  # 1-based order of the figure within its paragraph
    sentence: str  # the sentence as written
    indicator: str
    scope: str  # unit | department | district | commune (text/scope.py) | mixed
    value: Decimal
    raw: str  # the number as typed
    kind: str
    compare: bool
    levels: str
    pattern: str


def _compile(pattern: str) -> re.Pattern:
    text = pattern
    for key, value in _PLACEHOLDERS.items():
        text = text.replace(key, value)
    return re.compile(text)


def read_patterns(path: Path, catalog: Catalog | None = None) -> list[NarrativePattern]:
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    out = []
    ids = {r["id"] for r in rows}
    for r in rows:
        regex = _compile(r["pattern"])
        if "n" not in regex.groupindex:
            raise ValueError(f"narrative_patterns.csv: {r['id']} has no number placeholder")
        if catalog is not None and r["indicator"] not in catalog:
            raise ValueError(f"narrative_patterns.csv: {r['id']} names unknown indicator {r['indicator']!r}")
        if r["after"] and r["after"] not in ids:
            raise ValueError(f"narrative_patterns.csv: {r['id']} follows unknown pattern {r['after']!r}")
        out.append(NarrativePattern(
            id=r["id"], indicator=r["indicator"], pattern=r["pattern"], after=r["after"] or None,
            requires=re.compile(r["requires"]) if r["requires"] else None, levels=r["levels"].strip(),
            compare=r["compare"].strip() == "1", regex=regex))
    return out


@lru_cache(maxsize=2)
def load_patterns(path: str | None = None) -> tuple[NarrativePattern, ...]:
    return tuple(read_patterns(Path(path) if path else PATTERNS_CSV))


def fold_sentence(text: str) -> str:
    """What the patterns read: lower case, no diacritics, single spaces ("Số lượng hồ sơ" -> "so luong ho so")."""
    return " ".join(fold(text).split())


def sentences(text: str) -> list[str]:
    """Sentences of a paragraph: a full stop followed by a capital or a list mark, or a line break.
    "hiện có mặt 62. người" is one sentence; "7.725 hồ sơ" has no full stop at all."""
    out, start = [], 0
    for m in _SENTENCE_END.finditer(text):
        nxt = text[m.end():m.end() + 1]
        if "\n" in m.group() or nxt.isupper() or nxt in "-+•–*\"“(":
            out.append(text[start:m.start()])
            start = m.end()
    out.append(text[start:])
    return [s.strip() for s in out if s.strip()]


def _scope_of(window: str) -> str:
    found = {name for name, rx in _SCOPE_WORDS if rx.search(window)}
    if not found:
        return "unit"
    return found.pop() if len(found) == 1 else "mixed"


@dataclass
class _Match:
    pattern: NarrativePattern
    start: int  # of the whole match
    end: int
    n_start: int  # of the number
    n_end: int
    raw: str
    scope: str = "unit"


def _value(raw: str, kind: str) -> Decimal | None:
    try:
        return parse_number(raw, kind)
    except ValueError:
        return None


class NarrativeReader:
    def __init__(self, catalog: Catalog, patterns: tuple[NarrativePattern, ...] | None = None):
        self.catalog = catalog
        self.patterns = patterns if patterns is not None else load_patterns()
        self.heads = [p for p in self.patterns if p.after is None]
        # A child follows any head of its parent's indicator ("đã giải quyết 1.150 hồ sơ, trong đó: trước
        # hạn 900" as well as "số lượng hồ sơ đã giải quyết: 438; trong đó, giải quyết trước hạn: 384").
        indicator_of = {p.id: p.indicator for p in self.patterns}
        self.children: dict[str, list[NarrativePattern]] = {}
        for p in self.patterns:
            if p.after:
                self.children.setdefault(indicator_of[p.after], []).append(p)

    def _claim(self, claimed: list[tuple[int, int]], m: re.Match) -> bool:
        s, e = m.span("n")
        if any(s < ce and cs < e for cs, ce in claimed):
            return False
        claimed.append((s, e))
        return True

    def read_sentence(self, folded: str) -> list[_Match]:
        """The figures of one folded sentence (fold_sentence), in the order they are written."""
        if not _HAS_FIGURE.search(folded):  # most sentences state no figure: no need to try every pattern
            return []
        claimed: list[tuple[int, int]] = []
        heads: list[_Match] = []
        for p in self.heads:
            if p.requires is not None and not p.requires.search(folded):
                continue
            for m in p.regex.finditer(folded):
                if self._claim(claimed, m):
                    heads.append(_Match(p, m.start(), m.end(), *m.span("n"), m.group("n")))
        heads.sort(key=lambda x: x.n_start)
        found: list[_Match] = []
        taken: set[int] = set()  # heads whose number a child of an earlier head took
        for i, head in enumerate(heads):
            if i in taken:
                continue
            clause_start = max([0] + [x.end() for x in _CLAUSE_BREAK.finditer(folded, 0, head.start)])
            start = max([clause_start] + [h.end for h in heads[:i] if h.end <= head.start])
            stop = _CLAUSE_BREAK.search(folded, head.end)
            later = [j for j in range(i + 1, len(heads)) if heads[j].start >= head.end]
            next_head = heads[later[0]].start if later else len(folded)
            end = min(stop.start() if stop else len(folded), next_head)
            head.scope = _scope_of(folded[start:end])
            found.append(head)
            found.extend(self._breakdown(folded, head, claimed, next_head))
            found.extend(self._children(folded, head, heads, later, taken, claimed))
        found.sort(key=lambda x: x.n_start)
        return found

    def _children(self, folded: str, head: _Match, heads: list[_Match], later: list[int], taken: set[int],
                  claimed: list[tuple[int, int]]) -> list[_Match]:
        """Figures that only mean something after their head: "..., đúng hạn: 54 hồ sơ". A child runs
        on to the next head that is not one of its own indicators said the long way."""
        children = self.children.get(head.pattern.indicator, ())
        if not children:
            return []
        own = {c.indicator for c in children}
        boundary = next((heads[j].start for j in later if heads[j].pattern.indicator not in own), len(folded))
        region = folded[head.end:boundary]  # "^" in a child pattern anchors right after its head
        out = []
        for child in children:
            if child.requires is not None and not child.requires.search(folded):
                continue
            m = child.regex.search(region)
            if m is None:
                continue
            span = (head.end + m.start("n"), head.end + m.end("n"))
            same = [j for j in later if (heads[j].n_start, heads[j].n_end) == span
                    and heads[j].pattern.indicator == child.indicator]
            if same:
                taken.update(same)  # "giải quyết trước hạn: 384" read as the head's child
            elif any(span[0] < ce and cs < span[1] for cs, ce in claimed):
                continue
            else:
                claimed.append(span)
            scope = _scope_of(region[:m.end()])
            out.append(_Match(child, head.end + m.start(), head.end + m.end(), *span, m.group("n"),
                              scope if scope != "unit" else head.scope))
        return out

    def _breakdown(self, folded: str, head: _Match, claimed, limit: int) -> list[_Match]:
        """'(thuộc thẩm quyền cấp huyện là 2.967 hồ sơ, cấp xã là 4.078 hồ sơ)' after a figure."""
        m = _BREAKDOWN.match(folded, head.end)
        if m is None or m.end() > limit:
            return []
        kind = self.catalog[head.pattern.indicator].kind
        number = re.compile(_PLACEHOLDERS["{P}" if kind == PERCENT else "{N}"])
        out = []
        for part in re.finditer(r"[^,;]+", m.group(1)):
            scope = _scope_of(part.group())
            numbers = list(number.finditer(part.group()))
            if scope in ("unit", "mixed") or len(numbers) != 1:
                continue
            n = numbers[0]
            s = m.start(1) + part.start() + n.start("n")
            e = m.start(1) + part.start() + n.end("n")
            if any(s < ce and cs < e for cs, ce in claimed):
                continue
            claimed.append((s, e))
            out.append(_Match(head.pattern, s, e, s, e, n.group("n"), scope))
        return out

    def read(self, paragraphs) -> list[NarrativeFigure]:
        """Figures of the given paragraphs (objects with ``number`` and ``text``)."""
        out: list[NarrativeFigure] = []
        for para in paragraphs:
            position = 0
            for sentence in sentences(para.text):
                folded = fold_sentence(sentence)
                for m in self.read_sentence(folded):
                    ind = self.catalog[m.pattern.indicator]
                    value = _value(m.raw, ind.kind)
                    if value is None:
                        continue
                    approximate = _APPROXIMATE.search(folded[max(0, m.n_start - 16):m.n_start]) is not None
                    position += 1
                    out.append(NarrativeFigure(
                        paragraph=para.number, position=position, sentence=sentence[:500], indicator=ind.code,
                        scope=m.scope, value=value, raw=m.raw, kind=ind.kind,
                        compare=m.pattern.compare and not approximate and m.scope != "mixed",
                        levels=m.pattern.levels, pattern=m.pattern.id))
        return out
