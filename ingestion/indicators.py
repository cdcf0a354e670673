"""The indicator catalog (dbt_project/seeds/indicator_catalog.csv) and label matching.

The CSV is the one declarative list of indicators: dbt loads it as a seed, the
parser matches rows against it, the rule engines expand its relations
(numerator/denominator, parts of a total, part of a whole) into checks.

Rows are identified by form and normalised label, never by STT: the same
indicator is "1.1." in one template and "2." in another. Where one label
names several indicators (e.g. "Tổng số hồ sơ TTHC đã giải quyết xong" under
the district rate and under the commune rate), the rows just above decide.

The form is a hard constraint: when a row's form is known (sheet name, "Biểu mẫu N"
heading, numbered section title), only indicators of that form are candidates — an
indicator's name and aliases belong to its form, plus the forms some real templates
move it to (``also_forms``: the older national template lists the online-service rows
of form 7 under form 3). An indicator is unique per scope (text/scope.py): a
provincial report gives "Số hồ sơ đã giải quyết" for the whole province and again for
each level.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Sequence

from . import config
from .domain import LEVEL_LETTERS  # noqa: F401  (read here by the catalog's users)
from .text.labels import LabelKey, label_key
from .text.scope import UNIT
from .text.values import parse_legend


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
    scope: str | None = None  # the level a level-specific indicator is about (its label names it)
    also_forms: tuple[int, ...] = ()

    @property
    def legend_map(self) -> dict[int, str]:
        return dict(self.legend)

    @property
    def concept(self) -> str:
        """The concept a level variant stands for ("_district" rows are the district's figure of it)."""
        return self.canonical or self.code

    def in_form(self, form: int | None) -> bool:
        return form is None or form == self.form or form in self.also_forms

    def scope_in(self, context_scope: str | None) -> str:
        """A figure's scope: the indicator's own level, else what the report says (block, label), else the unit."""
        return self.scope or context_scope or UNIT


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
    how: str  # exact | prefix | context | ambiguous | unmatched | duplicate | other_form
    key: str | None = None  # the catalog text (normalised) the label matched


# After a prefix, these words mean the label goes on to name a second figure ("... trước hạn và đúng hạn").
_CONJUNCTIONS = ("va", "hoac")


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
        # Labels of each indicator's siblings: a label that runs on from one part into another names both.
        keys_of: dict[str, set[str]] = {}
        for ind in indicators:
            keys_of[ind.code] = {label_key(t).short for t in (ind.name_vi, *ind.aliases)}
        self._sibling_keys: dict[str, set[str]] = {}
        for ind in indicators:
            self._sibling_keys[ind.code] = set().union(*(keys_of[o.code] for o in indicators
                                                        if o.parent == ind.parent and o.code != ind.code)) \
                if ind.parent else set()
        # Every leading run of words of every catalog label, and the codes whose labels start so: a label that
        # runs on past a catalog label the way another indicator's label does ("Số hồ sơ tiếp nhận" +
        # "trực ..." is where "trực tuyến" and "trực tiếp" part) is not the shorter label's indicator.
        self._word_prefixes: dict[str, set[str]] = {}
        for k, codes in self._short.items():
            words = k.split()
            for n in range(_PREFIX_MIN_WORDS + 1, len(words) + 1):
                self._word_prefixes.setdefault(" ".join(words[:n]), set()).update(codes)
        # Section headings a table's title may name among other words ("Biểu tổng hợp tình hình giải quyết
        # hồ sơ TTHC quý III"), longest first.
        self._heading_keys = sorted(((f" {k} ", ind.code) for ind in indicators if ind.kind == "heading"
                                     for k in {label_key(t).short for t in (ind.name_vi, *ind.aliases)}
                                     if len(k.split()) >= _PREFIX_MIN_WORDS), key=lambda kc: -len(kc[0]))
        self._candidates_cache: dict[tuple[str, int | None], tuple[tuple[str, ...], str, int, str | None]] = {}
        self._key_cache: dict[tuple[LabelKey, int | None], tuple[tuple[str, ...], str, int, str | None]] = {}
        self._ancestors: dict[str, tuple[str, ...]] = {}
        # Each indicator's concept and own level, read for every candidate of every row.
        self._concept_scope = {i.code: (i.concept, i.scope) for i in indicators}
        self._matches: dict[tuple[str, str, str | None], Match] = {}

    def __getitem__(self, code: str) -> Indicator:
        return self.indicators[code]

    def __contains__(self, code: object) -> bool:
        return code in self.indicators

    def __iter__(self):
        return (self.indicators[c] for c in self.order)

    def __len__(self) -> int:
        return len(self.indicators)

    def ancestors(self, code: str) -> list[str]:
        found = self._ancestors.get(code)
        if found is None:
            out, parent = [], self.indicators[code].parent
            while parent and parent not in out:
                out.append(parent)
                parent = self.indicators[parent].parent
            found = self._ancestors[code] = tuple(out)
        return list(found)

    def children(self, code: str) -> list[Indicator]:
        return [i for i in self if i.parent == code]

    def heading_within(self, key: str, form: int | None = None) -> str | None:
        """The section heading of the form whose label a longer text contains, whole words (a table's title)."""
        padded = f" {key} "
        return next((code for k, code in self._heading_keys
                     if k in padded and self.indicators[code].in_form(form)), None)

    def candidates(self, label: str, form: int | None = None) -> tuple[list[str], str, int, str | None]:
        """Catalog codes a typed label may mean in a form, how they were found, the label's word count
        and the catalog text matched. ``other_form``: the label belongs to another form's indicators."""
        cache_key = (label, form)
        found = self._candidates_cache.get(cache_key)
        if found is None:
            if len(self._candidates_cache) > 65536:
                self._candidates_cache.clear()
            found = self._candidates_cache[cache_key] = self._lookup(label_key(label), form)
        codes, how, words, key = found
        return list(codes), how, words, key

    def candidates_for_key(self, key: LabelKey, form: int | None = None) -> tuple[list[str], str, int, str | None]:
        codes, how, words, text = self._lookup(key, form)
        return list(codes), how, words, text

    def _lookup(self, key: LabelKey, form: int | None) -> tuple[tuple[str, ...], str, int, str | None]:
        """``candidates_for_key``, remembered: every report of a template repeats the same labels."""
        cache_key = (key, form)
        found = self._key_cache.get(cache_key)
        if found is None:
            if len(self._key_cache) > 65536:
                self._key_cache.clear()
            codes, how, words, text = self._find_candidates(key, form)
            found = self._key_cache[cache_key] = (tuple(codes), how, words, text)
        return found

    def _find_candidates(self, key: LabelKey, form: int | None) -> tuple[list[str], str, int, str | None]:
        words = len(key.short.split())
        elsewhere = False
        for text, index in ((key.full, self._full), (key.short, self._short), (key.full, self._short)):
            codes = index.get(text)
            if codes:
                in_form = [c for c in codes if self.indicators[c].in_form(form)]
                if in_form:
                    return in_form, "exact", words, text
                elsewhere = True
        for prefix, codes in self._prefixes:
            if key.short.startswith(prefix + " "):
                in_form = [c for c in codes if self.indicators[c].in_form(form)]
                if not in_form:
                    elsewhere = True
                    continue
                if self._names_another_part(key.short[len(prefix) + 1:], in_form) \
                        or self._continues_as_another(prefix, key.short, in_form):
                    return [], "unmatched", words, None
                return in_form, "prefix", words, prefix
        return [], "other_form" if elsewhere else "unmatched", words, None

    def _continues_as_another(self, prefix: str, label: str, codes: list[str]) -> bool:
        """'so ho so tiep nhan' + 'truc tiep': the catalog's labels go on from the prefix in the same way into
        other indicators, so the label is more specific than the prefix's indicator."""
        extended = " ".join(label.split()[:len(prefix.split()) + 1])
        return bool(self._word_prefixes.get(extended, set()) - set(codes))

    def _names_another_part(self, rest: str, codes: list[str]) -> bool:
        """'so ho so giai quyet truoc han' + 'dung han': the label names two parts, it is not the first one."""
        words = rest.split()
        if words and words[0] in _CONJUNCTIONS:
            return True
        return any(rest == k or rest.startswith(k + " ") for c in codes for k in self._sibling_keys[c])

    def match(self, label: str, form: int | None, recent: Iterable[str], used: set | frozenset = frozenset(),
              scope: str | None = None, key: LabelKey | None = None) -> Match:
        """Match one row. ``recent`` are the codes matched just above, nearest first; ``used`` the
        (concept, scope) pairs already attributed in the workbook; ``scope`` the row's scope from
        the report (block heading or label), for indicators that are not level-specific."""
        if key is None:
            codes, how, words, matched = self.candidates(label, form)
        else:
            found = self._key_cache.get((key, form))
            codes, how, words, matched = found if found is not None else self._lookup(key, form)
        if not codes:
            return Match(None, how)
        if used:
            concept_scope = self._concept_scope
            context = scope or UNIT
            free = [c for c in codes if (concept_scope[c][0], concept_scope[c][1] or context) not in used]
        else:
            free = list(codes)
        if not free:
            return Match(None, "duplicate", matched)
        if len(free) == 1 and (words > _SHORT_LABEL_WORDS or not self.indicators[free[0]].parent):
            # what the rows above would decide: one candidate, not ambiguous (a Match is immutable: made once)
            found = self._matches.get((free[0], how, matched))
            if found is None:
                found = self._matches[(free[0], how, matched)] = Match(free[0], how, matched)
            return found
        in_context: list[str] = []
        for r in recent:  # the nearest row above that is this row's parent, a sibling or an ancestor decides
            parent_of_r = self.indicators[r].parent if r in self.indicators else None
            in_context = [c for c in free if self.indicators[c].parent == r] or \
                [c for c in free if parent_of_r is not None and self.indicators[c].parent == parent_of_r] or \
                [c for c in free if r in self.ancestors(c)]  # "Tiếp nhận trực tuyến" right under the total
            if in_context:
                break
        if words <= _SHORT_LABEL_WORDS and not in_context and all(self.indicators[c].parent for c in free):
            return Match(None, "ambiguous", matched)  # "Cấp xã" away from its parent row says nothing
        chosen = in_context or free
        if len(chosen) > 1 and form is not None:
            chosen = [c for c in chosen if self.indicators[c].form == form] or chosen
        if len(chosen) == 1:
            return Match(chosen[0], "context" if len(free) > 1 else how, matched)
        return Match(None, "ambiguous", matched)


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
            additive=r["additive"].strip() == "1", scope=_opt(r.get("scope", "")),
            also_forms=tuple(int(f) for f in _split(r.get("also_forms", ""))),
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
