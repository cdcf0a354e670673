"""The indicator catalog (dbt_project/seeds/indicator_catalog.csv) and label matching.

The CSV is the one declarative list of indicators: dbt loads it as a seed, the
parser matches rows against it, the rule engines expand its relations
(numerator/denominator, parts of a total, part of a whole) into checks.

Rows are identified by form and normalised label, never by STT: the same
indicator is "1.1." in one template and "2." in another. Where one label
names several indicators (e.g. "Tổng số hồ sơ TTHC đã giải quyết xong" under
the district rate and under the commune rate), the rows just above decide.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Sequence

from . import config
from .workbook.labels import label_key
from .workbook.values import parse_legend

LEVEL_LETTERS = {"province": "p", "department": "s", "district": "d", "commune": "c"}
LEVEL_NAMES_VI = {"p": "tỉnh", "s": "sở, ngành", "d": "huyện", "c": "xã"}

# Labels this short ("Cấp xã", "Quá hạn") are only trusted next to their parent row.
_SHORT_LABEL_WORDS = 3
# A typed label may run on past a catalog label ("... họp trực tuyến Liên thông 2 cấp: ...").
_PREFIX_MIN_WORDS = 4


@dataclass(frozen=True)
class Indicator:
    code: str
    form: int
    parent: str | None
    kind: str
    unit_vi: str
    name_vi: str
    name_en: str
    aliases: tuple[str, ...]
    legend: tuple[tuple[int, str], ...]
    levels: str
    numerator: str | None
    denominator: str | None
    parts: tuple[str, ...]
    whole: str | None
    cumulative: bool
    zscore: bool
    required: str
    canonical: str | None
    authority: str | None
    additive: bool

    @property
    def legend_map(self) -> dict[int, str]:
        return dict(self.legend)


def _opt(value: str) -> str | None:
    value = (value or "").strip()
    return value or None


def _split(value: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in (value or "").split("|") if v.strip())


def _legend(value: str) -> tuple[tuple[int, str], ...]:
    items = []
    for item in (value or "").split(";"):
        if "=" in item:
            code, label = item.split("=", 1)
            items.append((int(code), label.strip()))
    return tuple(items)


@dataclass(frozen=True)
class Match:
    code: str | None
    how: str  # exact | prefix | context | ambiguous | unmatched | duplicate


class Catalog:
    def __init__(self, indicators: Sequence[Indicator]):
        self.indicators = {i.code: i for i in indicators}
        self.order = [i.code for i in indicators]
        self._full: dict[str, list[str]] = {}
        self._short: dict[str, list[str]] = {}
        for ind in indicators:
            for text in (ind.name_vi, *ind.aliases):
                key = label_key(text)
                for index, k in ((self._full, key.full), (self._short, key.short)):
                    codes = index.setdefault(k, [])
                    if ind.code not in codes:
                        codes.append(ind.code)
        # Longest first, so the most specific catalog label wins a prefix match.
        self._prefixes = sorted(((k, codes) for k, codes in self._short.items() if len(k.split()) >= _PREFIX_MIN_WORDS),
                                key=lambda kc: -len(kc[0]))

    def __getitem__(self, code: str) -> Indicator:
        return self.indicators[code]

    def __contains__(self, code: object) -> bool:
        return code in self.indicators

    def __iter__(self):
        return (self.indicators[c] for c in self.order)

    def __len__(self) -> int:
        return len(self.indicators)

    def children(self, code: str) -> list[Indicator]:
        return [i for i in self if i.parent == code]

    def candidates(self, label: str) -> tuple[list[str], str, int]:
        """Catalog codes a typed label may mean, how they were found, and the label's word count."""
        key = label_key(label)
        words = len(key.short.split())
        for codes in (self._full.get(key.full), self._short.get(key.short), self._short.get(key.full)):
            if codes:
                return list(codes), "exact", words
        for prefix, codes in self._prefixes:
            if key.short.startswith(prefix + " "):
                return list(codes), "prefix", words
        return [], "unmatched", words

    def match(self, label: str, form: int | None, recent: Iterable[str], used: set[str] | frozenset = frozenset()) -> Match:
        """Match one row. ``recent`` are the codes matched just above, nearest first."""
        codes, how, words = self.candidates(label)
        if not codes:
            return Match(None, "unmatched")
        free = [c for c in codes if c not in used]
        if not free:
            return Match(None, "duplicate")
        in_context: list[str] = []
        for r in recent:  # the nearest row above that is this row's parent, or a sibling, decides
            parent_of_r = self.indicators[r].parent if r in self.indicators else None
            in_context = [c for c in free if self.indicators[c].parent == r] or \
                [c for c in free if parent_of_r is not None and self.indicators[c].parent == parent_of_r]
            if in_context:
                break
        if words <= _SHORT_LABEL_WORDS and not in_context and all(self.indicators[c].parent for c in free):
            return Match(None, "ambiguous")  # "Cấp xã" away from its parent row says nothing
        chosen = in_context or free
        if len(chosen) > 1 and form is not None:
            chosen = [c for c in chosen if self.indicators[c].form == form] or chosen
        if len(chosen) == 1:
            return Match(chosen[0], "context" if len(free) > 1 else how)
        return Match(None, "ambiguous")


def read_catalog(path: Path) -> Catalog:
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    indicators = [
        Indicator(
            code=r["code"].strip(), form=int(r["form"]), parent=_opt(r["parent"]), kind=r["kind"].strip(),
            unit_vi=r["unit_vi"].strip(), name_vi=r["name_vi"].strip(), name_en=r["name_en"].strip(),
            aliases=_split(r["aliases"]), legend=_legend(r["legend"]), levels=r["levels"].strip(),
            numerator=_opt(r["numerator"]), denominator=_opt(r["denominator"]), parts=_split(r["parts"]),
            whole=_opt(r["whole"]), cumulative=r["cumulative"].strip() == "1", zscore=r["zscore"].strip() == "1",
            required=r["required"].strip(), canonical=_opt(r["canonical"]), authority=_opt(r["authority"]),
            additive=r["additive"].strip() == "1",
        )
        for r in rows
    ]
    return Catalog(indicators)


@lru_cache(maxsize=4)
def load_catalog(path: str | None = None) -> Catalog:
    return read_catalog(Path(path) if path else config.INDICATOR_CATALOG)


def legend_of(indicator: Indicator | None, unit_text: str | None) -> dict[int, str]:
    """The legend typed in the row's unit cell, completed by the catalog's (a typed legend
    often spills onto the next row, which is read only after this row's value)."""
    legend = dict(indicator.legend_map) if indicator else {}
    legend.update(parse_legend(unit_text))
    return legend
