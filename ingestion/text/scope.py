"""The scope of a figure: which part of the reporting unit's administration it covers.

One small vocabulary, used from the parser to the marts:

- ``unit``       the whole reporting unit (toàn tỉnh, toàn huyện; a commune's or a department's own figures);
- ``department`` provincial-level bodies (các sở, ban, ngành; cơ quan, đơn vị cấp tỉnh; Trung tâm Phục vụ
                 hành chính công tỉnh), the level the catalog's "_province" variants and authority ``p`` name;
- ``district``   the district level (cấp huyện, UBND các huyện, Bộ phận Một cửa cấp huyện);
- ``commune``    the commune level (cấp xã, UBND các xã).

Provincial and district reports repeat the same indicators per level: under block headings
("Cấp huyện", "Hồ sơ do các sở, ngành tiếp nhận") or with the level in the label itself
("Tổng số hồ sơ tiếp nhận cấp tỉnh"). Phrases are matched on normalised label keys
(ASCII-folded, abbreviations applied: see labels.py).
"""
from __future__ import annotations

import re
from functools import lru_cache

UNIT, DEPARTMENT, DISTRICT, COMMUNE = "unit", "department", "district", "commune"
SCOPES = (UNIT, DEPARTMENT, DISTRICT, COMMUNE)
# The catalog's level letters (authority of a level variant) and the scope they name.
SCOPE_OF_LETTER = {"p": DEPARTMENT, "s": DEPARTMENT, "d": DISTRICT, "c": COMMUNE}
# The level slices that together make up a unit's whole, by the unit's level.
LEVEL_SCOPES = {"province": (DEPARTMENT, DISTRICT, COMMUNE), "district": (DISTRICT, COMMUNE)}
# The slice a unit's own bodies are: a province's own figures are its provincial bodies' (cấp tỉnh).
OWN_SCOPE = {"province": DEPARTMENT, "department": DEPARTMENT, "district": DISTRICT, "commune": COMMUNE}
# Units that are one body at one level: there the level slice is the whole unit.
SINGLE_LEVEL = ("commune", "department")

SCOPE_NAMES_VI = {UNIT: "toàn đơn vị", DEPARTMENT: "cấp tỉnh (sở, ngành)", DISTRICT: "cấp huyện", COMMUNE: "cấp xã"}

_PHRASES = (
    (UNIT, re.compile(r"\btoan (tinh|huyen|thi xa|thanh pho|quan|xa|phuong|thi tran|don vi)\b"
                      r"|\btren dia ban toan\b|\btong cong\b|\btong hop chung\b"
                      r"|\bso ban nganh (va )?(dia phuong|ubnd)\b")),
    (DEPARTMENT, re.compile(r"\bso ban nganh\b(?! (va )?(dia phuong|ubnd))|\b(cac|do|cua|thuoc|cap|tai) so nganh\b"
                            r"|\bcap tinh\b|\btrung tam phuc vu hanh chinh cong( cap)? tinh\b")),
    (DISTRICT, re.compile(r"\bcap huyen\b|\bubnd (cac )?huyen\b|\bcac huyen\b|\bmot cua (cap )?huyen\b")),
    (COMMUNE, re.compile(r"\bcap xa\b|\bubnd (cac )?xa\b|\bcac xa\b(?! hoi)|\bmot cua (cap )?xa\b")),
)
_ROMAN = re.compile(r"(?:phan )?(?:i{1,3}|iv|vi{0,3}|ix|x)")
_NUMBERED = re.compile(r"\d+(?:\s*\.\s*\d+)*")


@lru_cache(maxsize=65536)  # the same labels come back in every report of a template
def scopes_named(key: str) -> frozenset[str]:
    """Scopes whose phrases occur in a normalised label key."""
    return frozenset(scope for scope, rx in _PHRASES if rx.search(key))


@lru_cache(maxsize=65536)
def label_scope(label_key: str, explained_by: str | None = None, short_key: str | None = None) -> str | None:
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
    return next(iter(named)) if len(named) == 1 else None


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
