"""Which appendix figure a narrative figure is compared with (rule narrative_matches_appendix).

Both engines use the same table of targets, computed here from the catalog: for a narrative
figure of indicator I and scope S in a unit of level L, the appendix rows to look for, in order.

- Scope "unit" (no level named): the unit's own figure for I, or for a concept the rule
  catalog pairs with I (same_figure: "hồ sơ đã giải quyết" of the dossier detail and the
  count behind the on-time rate). When that concept is reported per level (catalog
  canonical/authority), a district's or a province's own row covers only its own authority
  while its narrative speaks for its whole territory: not compared. A commune or a department
  has no level below it, so there the two are one figure.
- Scope a level ("cấp huyện là 2.967 hồ sơ"): the appendix's figure of that concept for that
  level (text/scope.py), whether a level variant ("..._district") or a row of a "Cấp huyện"
  block; in a commune's or a department's report its own level is the whole unit.

Targets are "own:<code>" (the unit's own figure, as Submission.own / own_indicator_code) or
"row:<concept>@<rule scope>" (the figure of that concept in that scope, as Submission.by_key /
concept_code and rule_scope): the same indicator and the same scope.
"""
from __future__ import annotations

from ..indicators import LEVEL_LETTERS, Catalog
from ..text.scope import OWN_SCOPE, SCOPES, SINGLE_LEVEL, UNIT, rule_scope
from .ruleset import RuleSet

LEVELS = (None, "province", "department", "district", "commune")
COMPARED_SCOPES = SCOPES  # unit, department (cấp tỉnh: the provincial bodies), district, commune


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
    whole_is_own = level in SINGLE_LEVEL  # no level below: the unit's own row is its whole figure
    out: list[str] = []
    if (scope == UNIT or (whole_is_own and scope == OWN_SCOPE[level])) and (not by_level or whole_is_own):
        out += [f"own:{c}" for c in concepts]
    where = rule_scope(scope, level)
    if where != UNIT:  # (a commune's "cấp xã" is its whole: its own figure, above)
        out += [f"row:{catalog[c].concept}@{where}" for c in concepts]
    return tuple(dict.fromkeys(out))


def targets_table(catalog: Catalog, rules: RuleSet) -> dict[tuple[str, str, str | None], tuple[str, ...]]:
    """Every (indicator, scope, level) the rule can meet, with its targets (empty: not compared)."""
    return {(inst.subject, scope, level): appendix_targets(catalog, rules, inst.subject, scope, level)
            for inst in rules.of_kind("narrative_matches_appendix") for scope in COMPARED_SCOPES for level in LEVELS}


def level_allows(levels: str, level: str | None) -> bool:
    """A pattern certain only at some levels ("cán bộ, công chức" is a commune's whole staff)."""
    return not levels or (level in LEVEL_LETTERS and LEVEL_LETTERS[level] in levels)
