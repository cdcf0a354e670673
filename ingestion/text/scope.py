"""The scope of a figure: which part of the reporting unit's administration it covers.

One small vocabulary, used from the parser to the marts:

- ``unit``       the whole reporting unit (toàn tỉnh, toàn huyện; a commune's or a department's own figures);
- ``department`` provincial-level bodies (các sở, ban, ngành; cơ quan, đơn vị cấp tỉnh; Trung tâm Phục vụ
                 hành chính công tỉnh), the level the catalog's "_province" variants and authority ``p`` name;
- ``district``   the district level (cấp huyện, UBND các huyện, Bộ phận Một cửa cấp huyện);
- ``commune``    the commune level (cấp xã, UBND các xã);
- two levels at once (``district_commune``: "Cấp huyện, cấp xã", "UBND cấp huyện và cấp xã"): a figure
  that is neither level alone. Rules compare it only with figures of the same two levels, and
  "whole = sum of its levels" never counts it as one level.

Provincial and district reports repeat the same indicators per level: under block headings
("Cấp huyện", "Hồ sơ do các sở, ngành tiếp nhận") or with the level in the label itself
("Tổng số hồ sơ tiếp nhận cấp tỉnh"). Phrases are matched on normalised label keys
(ASCII-folded, abbreviations applied: see labels.py).
"""
from __future__ import annotations

import re
from functools import lru_cache

from .labels import LabelKey

UNIT, DEPARTMENT, DISTRICT, COMMUNE = "unit", "department", "district", "commune"
SCOPES = (UNIT, DEPARTMENT, DISTRICT, COMMUNE)
# Two levels named at once: a scope of its own ("cấp huyện, cấp xã" is neither level alone).
COMBINED_SCOPES = {frozenset(pair): "_".join(pair) for pair in
                   ((DEPARTMENT, DISTRICT), (DISTRICT, COMMUNE), (DEPARTMENT, COMMUNE))}
# The catalog's level letters (authority of a level variant) and the scope they name.
SCOPE_OF_LETTER = {"p": DEPARTMENT, "s": DEPARTMENT, "d": DISTRICT, "c": COMMUNE}
# The level slices that together make up a unit's whole, by the unit's level, in the order they are
# tried: a province's departments, districts and communes, else its departments and its district and
# commune levels together ("Cấp huyện, cấp xã").
LEVEL_PARTITIONS = {"province": ((DEPARTMENT, DISTRICT, COMMUNE), (DEPARTMENT, "district_commune")),
                    "district": ((DISTRICT, COMMUNE),)}
# The slice a unit's own bodies are: a province's own figures are its provincial bodies' (cấp tỉnh).
OWN_SCOPE = {"province": DEPARTMENT, "department": DEPARTMENT, "district": DISTRICT, "commune": COMMUNE}
# Units that are one body at one level: there the level slice is the whole unit.
SINGLE_LEVEL = ("commune", "department")

SCOPE_NAMES_VI = {UNIT: "toàn đơn vị", DEPARTMENT: "cấp tỉnh (sở, ngành)", DISTRICT: "cấp huyện", COMMUNE: "cấp xã",
                  "department_district": "cấp tỉnh và cấp huyện", "district_commune": "cấp huyện và cấp xã",
                  "department_commune": "cấp tỉnh và cấp xã"}

_PHRASES = (
    (UNIT, re.compile(r"\btoan (tinh|huyen|thi xa|thanh pho|quan|xa|phuong|thi tran|don vi)\b"
                      r"|\btren dia ban toan\b|\btong cong\b|\btong hop chung\b"
                      r"|\bso ban nganh (va )?(dia phuong|ubnd)\b")),
    (DEPARTMENT, re.compile(r"\bso ban nganh\b(?! (va )?(dia phuong|ubnd))|\b(cac|do|cua|thuoc|cap|tai) so nganh\b"
                            r"|\bcap tinh\b|\btrung tam phuc vu hanh chinh cong( cap)? tinh\b")),
    (DISTRICT, re.compile(r"\bcap huyen\b|\bubnd (cac )?huyen\b|\bcac huyen\b|\bmot cua (cap )?huyen\b")),
    (COMMUNE, re.compile(r"\bcap xa\b|\bubnd (cac )?xa\b|\bcac xa\b(?! hoi)|\bmot cua (cap )?xa\b")),
)
# Besides its level phrases, a heading about levels says little more ("ho so tiep nhan va giai quyet").
_HEADING_REST_WORDS = 8
_ROMAN = re.compile(r"(?:phan )?(?:i{1,3}|iv|vi{0,3}|ix|x)")
_NUMBERED = re.compile(r"\d+(?:\s*\.\s*\d+)*")


@lru_cache(maxsize=65536)  # the same labels come back in every report of a template
def scopes_named(key: str) -> frozenset[str]:
    """Scopes whose phrases occur in a normalised label key."""
    return frozenset(scope for scope, rx in _PHRASES if rx.search(key))


@lru_cache(maxsize=65536)
def label_scope(label_key: str, explained_by: str | None = None, short_key: str | None = None,
                combined: bool = False) -> str | None:
    """The scope a label names beyond the catalog text it matched (None: none, or several).

    "Số UBND cấp xã đã kiểm tra" names a level as part of what it counts, like its catalog
    label does; "Tổng số hồ sơ tiếp nhận cấp tỉnh" adds "cấp tỉnh" to "Tổng số hồ sơ tiếp nhận".
    A remark in parentheses does not change the level: "Cấp huyện (bao gồm cả cấp xã)" is the
    district level (``short_key``, the label without its remarks, decides when both are named).
    """
    explained = scopes_named(explained_by) if explained_by else frozenset()
    named = scopes_named(label_key) - explained
    if len(named) > 1 and short_key is not None:
        named = scopes_named(short_key) - explained
    if len(named) == 1:
        return next(iter(named))
    # "Cấp huyện, cấp xã": both levels, neither alone; asked for only where the text is about the levels
    # (a heading, a column), not a long label that mentions them ("liên thông từ tỉnh đến cấp huyện, cấp xã").
    return COMBINED_SCOPES.get(frozenset(named)) if combined else None


def combined_heading_scope(label_key: str, short_key: str, explained_by: str | None = None) -> str | None:
    """The two levels a short heading names ("Cấp huyện, cấp xã", "Hồ sơ do UBND cấp huyện và cấp xã tiếp nhận");
    None when it names one level, none, or mentions levels as part of what a catalog heading says."""
    rest = strip_scope_phrases(short_key).split()
    if len(rest) > _HEADING_REST_WORDS or any(w.isdigit() for w in rest):
        return None
    scope = label_scope(label_key, explained_by, short_key, combined=True)
    return scope if scope in COMBINED_SCOPES.values() else None


# A column header for the whole unit in a table laid out by level ("Tổng số | Trong đó: Cấp tỉnh | ...").
_WHOLE_COLUMN = re.compile(r"^(tong so|tong cong|tong|cong|toan bo|chung)$")


def column_scope(header_key: LabelKey) -> str | None:
    """The scope a column header names in a table laid out by level ("Toàn tỉnh", "Cấp tỉnh (sở, ngành)",
    "Trong đó: Cấp huyện", "Tổng số"); None when it names no level."""
    if _WHOLE_COLUMN.match(header_key.short):
        return UNIT
    return label_scope(header_key.full, None, header_key.short, combined=True)


@lru_cache(maxsize=65536)
def strip_scope_phrases(key: str) -> str:
    """The key without its level phrases ("so ho so do cac so nganh tiep nhan" -> "so ho so tiep nhan")."""
    for _, rx in _PHRASES:
        key = rx.sub(" ", key)
    key = re.sub(r"\b(do|cua|thuoc|tai)\s+(?=(tiep nhan|giai quyet|$))", " ", key)
    return " ".join(key.split())


def stt_depth(folded_stt: str | None) -> int | None:
    """Nesting depth of a row number: 'I' 0, '3.' 1, '3.2' 2, 'a)' 9; None when there is none."""
    if not folded_stt:
        return None
    text = folded_stt.strip().rstrip(".)").strip()
    if not text:
        return None
    if _ROMAN.fullmatch(text):
        return 0
    if _NUMBERED.fullmatch(text):
        return text.count(".") + 1
    if re.fullmatch(r"[a-z]", text):
        return 9
    return None


def rule_scope(scope: str | None, level: str | None) -> str:
    """The scope rules compare within: in a commune's or a department's report, its own level is the whole."""
    scope = scope or UNIT
    if level in SINGLE_LEVEL and scope == OWN_SCOPE[level]:
        return UNIT
    return scope
