"""Which appendix figure a narrative figure is compared with (rule narrative_matches_appendix).

Both engines use the same table of targets, computed here from the catalog: for a narrative
figure of indicator I and scope S in a unit of level L, the appendix rows to look for, in order.

- Scope "unit" (no level named): the unit's own figure for I, or for a concept the rule
  catalog pairs with I (same_figure: "hồ sơ đã giải quyết" of the dossier detail and the
  count behind the on-time rate). When that concept is reported per level (catalog
  canonical/authority), a district's or a province's own row covers only its own authority
  while its narrative speaks for its whole territory: not compared. A commune or a department
  has no level below it, so there the two are one figure.
- Scope a level ("cấp huyện là 2.967 hồ sơ"): the appendix row of that concept about that level.

Targets are "own:<code>" (the unit's own figure, as Submission.own / own_indicator_code) or
"row:<code>" (the row of that indicator, as by_indicator / indicator_code). When a figure
scope is added to the appendix rows, S is matched against it here.
"""
from __future__ import annotations

from ..catalog import LEVEL_LETTERS, Catalog
from .catalog import RuleSet

LEVELS = (None, "province", "department", "district", "commune")
COMPARED_SCOPES = ("unit", "province", "department", "district", "commune")
_WHOLE_IS_OWN = ("commune", "department")  # no level below: the unit's own row is its whole figure


def partners(rules: RuleSet, code: str) -> list[str]:
    """Concepts the rule catalog declares to be the same figure as ``code`` (one code on each side)."""
    out = []
    for inst in rules.of_kind("same_figure"):
        if len(inst.left) == 1 and len(inst.right) == 1:
            if inst.left[0] == code:
                out.append(inst.right[0])
            elif inst.right[0] == code:
                out.append(inst.left[0])
    return out


def appendix_targets(catalog: Catalog, rules: RuleSet, code: str, scope: str, level: str | None) -> tuple[str, ...]:
    concepts = [code, *partners(rules, code)]
    by_level = any(ind.canonical in concepts for ind in catalog)
    out: list[str] = []
    if (scope == "unit" or scope == level) and (not by_level or level in _WHOLE_IS_OWN):
        out += [f"own:{c}" for c in concepts]
    if scope in LEVEL_LETTERS:
        letter = LEVEL_LETTERS[scope]
        out += [f"row:{ind.code}" for c in concepts for ind in catalog if ind.canonical == c and ind.authority == letter]
    return tuple(dict.fromkeys(out))


def targets_table(catalog: Catalog, rules: RuleSet) -> dict[tuple[str, str, str | None], tuple[str, ...]]:
    """Every (indicator, scope, level) the rule can meet, with its targets (empty: not compared)."""
    return {(inst.subject, scope, level): appendix_targets(catalog, rules, inst.subject, scope, level)
            for inst in rules.of_kind("narrative_matches_appendix") for scope in COMPARED_SCOPES for level in LEVELS}


def level_allows(levels: str, level: str | None) -> bool:
    """A pattern certain only at some levels ("cán bộ, công chức" is a commune's whole staff)."""
    return not levels or (level in LEVEL_LETTERS and LEVEL_LETTERS[level] in levels)
