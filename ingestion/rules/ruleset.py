"""Expanding expectations/rules.yml and the indicator relations into rule instances."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from .. import config
from ..indicators import Catalog, load_catalog

SEVERITIES = ("error", "warning", "info")

# Kinds evaluated cell by cell (one instance covers every figure of the right kind).
CELL_KINDS = ("percent_in_range", "count_not_negative", "count_is_whole", "row_in_catalog")
# Kinds evaluated once per submission or per expected unit.
SUBMISSION_KINDS = ("required_present", "unit_reported", "period_matches_path", "unit_matches_path",
                    "one_file_per_quarter", "content_unique_across_units", "version_not_reverted")
# Kinds comparing a Word report with another source of the same figures.
PAIR_KINDS = ("document_matches_spreadsheet",)


@dataclass(frozen=True)
class RuleInstance:
    rule_id: str
    kind: str
    severity: str
    subject: str | None = None  # the checked indicator (the rate, the total, the part)
    numerator: str | None = None
    denominator: str | None = None
    parts: tuple[str, ...] = ()
    whole: str | None = None
    codes: tuple[int, ...] = ()
    left: tuple[str, ...] = ()
    right: tuple[str, ...] = ()
    canonical: str | None = None
    authority: str | None = None  # level letter whose units the subject figure is about


@dataclass
class RuleSet:
    kinds: dict[str, dict]  # kind -> its entry in rules.yml
    settings: dict
    instances: list[RuleInstance] = field(default_factory=list)

    def of_kind(self, kind: str) -> list[RuleInstance]:
        return [i for i in self.instances if i.kind == kind]

    def equivalents(self) -> dict[str, set[str]]:
        """Indicators the rules treat as one figure reported in two places (one-to-one same_figure pairs)."""
        out: dict[str, set[str]] = {}
        for inst in self.of_kind("same_figure"):
            if len(inst.left) == len(inst.right) == 1:
                out.setdefault(inst.left[0], set()).add(inst.right[0])
                out.setdefault(inst.right[0], set()).add(inst.left[0])
        return out

    def severity_groups(self) -> list[tuple[str, str]]:
        """(kind, severity) pairs that have instances, in catalog order: one GX expectation each."""
        seen: list[tuple[str, str]] = []
        for inst in self.instances:
            if (inst.kind, inst.severity) not in seen:
                seen.append((inst.kind, inst.severity))
        return seen


# Set in rules.yml and nowhere else: no engine, message or report carries a default of its own.
SETTINGS = ("rate_tolerance_pp", "zscore_threshold", "zscore_min_history")


def expand(doc: dict, catalog: Catalog) -> RuleSet:
    kinds = {r["kind"]: r for r in doc["rules"]}
    settings = dict(doc.get("settings") or {})
    missing = [name for name in SETTINGS if name not in settings]
    if missing:
        raise ValueError(f"rules.yml: settings lacks {', '.join(missing)}")
    rs = RuleSet(kinds=kinds, settings=settings)
    for kind, rule in kinds.items():
        severity = rule["severity"]
        if severity not in SEVERITIES:
            raise ValueError(f"rules.yml: {kind} has unknown severity {severity!r}")
        overrides = rule.get("severity_overrides") or {}
        for code in overrides:
            if code not in catalog:
                raise ValueError(f"rules.yml: {kind} overrides unknown indicator {code!r}")
        add = rs.instances.append
        if kind in CELL_KINDS or kind in SUBMISSION_KINDS or kind in PAIR_KINDS:
            add(RuleInstance(kind, kind, severity))
        elif kind == "narrative_matches_appendix":
            from ..document.narrative import load_patterns

            for code in dict.fromkeys(p.indicator for p in load_patterns() if p.compare):
                if code not in catalog:
                    raise ValueError(f"narrative_patterns.csv names unknown indicator {code!r}")
                add(RuleInstance(f"{kind}:{code}", kind, overrides.get(code, severity), code))
        elif kind == "rate_matches_parts":
            for ind in catalog:
                if ind.kind == "percent":
                    add(RuleInstance(f"{kind}:{ind.code}", kind, overrides.get(ind.code, severity), ind.code,
                                     numerator=ind.numerator, denominator=ind.denominator))
        elif kind == "total_equals_parts":
            for ind in catalog:
                if ind.parts:
                    add(RuleInstance(f"{kind}:{ind.code}", kind, overrides.get(ind.code, severity), ind.code, parts=ind.parts))
        elif kind == "part_not_above_whole":
            for ind in catalog:
                if ind.whole:
                    add(RuleInstance(f"{kind}:{ind.code}", kind, overrides.get(ind.code, severity), ind.code, whole=ind.whole))
        elif kind == "coded_in_legend":
            for ind in catalog:
                if ind.kind == "coded" and ind.legend:
                    add(RuleInstance(f"{kind}:{ind.code}", kind, overrides.get(ind.code, severity), ind.code,
                                     codes=tuple(code for code, _ in ind.legend)))
        elif kind == "same_figure":
            for pair in rule.get("pairs", []):
                for code in (*pair["left"], *pair["right"]):
                    if code not in catalog:
                        raise ValueError(f"rules.yml: same_figure {pair['id']} names unknown indicator {code!r}")
                add(RuleInstance(f"{kind}:{pair['id']}", kind, pair.get("severity", severity), pair["left"][0],
                                 left=tuple(pair["left"]), right=tuple(pair["right"])))
        elif kind == "cumulative_not_decreasing":
            for ind in catalog:
                if ind.cumulative:
                    add(RuleInstance(f"{kind}:{ind.code}", kind, overrides.get(ind.code, severity), ind.code))
        elif kind == "jump_within_history":
            for ind in catalog:
                if ind.zscore:
                    add(RuleInstance(f"{kind}:{ind.code}", kind, overrides.get(ind.code, severity), ind.code))
        elif kind == "whole_equals_levels":
            # Figures a report can give for the whole unit and for each of its levels.
            for ind in catalog:
                if ind.kind == "count" and ind.additive and not ind.canonical and not ind.scope:
                    add(RuleInstance(f"{kind}:{ind.code}", kind, overrides.get(ind.code, severity), ind.code))
        elif kind == "levels_add_up":
            for ind in catalog:
                if ind.canonical and ind.authority and ind.kind == "count" and ind.additive:
                    add(RuleInstance(f"{kind}:{ind.code}", kind, overrides.get(ind.code, severity), ind.code,
                                     canonical=ind.canonical, authority=ind.authority))
        else:
            raise ValueError(f"rules.yml: unknown rule kind {kind!r}")
    return rs


def read_rules(path: Path, catalog: Catalog) -> RuleSet:
    with open(path, encoding="utf-8") as fh:
        return expand(yaml.safe_load(fh), catalog)


@lru_cache(maxsize=4)
def load_rules(path: str | None = None, catalog_path: str | None = None) -> RuleSet:
    return read_rules(Path(path) if path else config.RULE_CATALOG, load_catalog(catalog_path))
