"""Expanding expectations/rules.yml and the indicator relations into rule instances."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable
from functools import lru_cache
from pathlib import Path

import yaml

from .. import config
from ..indicators import Catalog, Indicator, load_catalog

SEVERITIES = ("error", "warning", "info")

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


def severity_of(rule: dict, code: str) -> str:
    """The severity of the instance about one indicator: the kind's, unless rules.yml overrides it."""
    return (rule.get("severity_overrides") or {}).get(code, rule["severity"])


def single_instance(kind: str, rule: dict, catalog: Catalog) -> list[RuleInstance]:
    """Kinds evaluated cell by cell or once per submission: one instance covers every figure."""
    return [RuleInstance(kind, kind, rule["severity"])]


def indicator_instances(kind: str, rule: dict, catalog: Catalog, keep: Callable[[Indicator], Any],
                        **fields: Callable[[Indicator], Any]) -> list[RuleInstance]:
    """One instance per catalog indicator ``keep`` selects; ``fields`` fill its relations."""
    return [RuleInstance(f"{kind}:{ind.code}", kind, severity_of(rule, ind.code), ind.code,
                         **{name: of(ind) for name, of in fields.items()})
            for ind in catalog if keep(ind)]


def expand(doc: dict, catalog: Catalog) -> RuleSet:
    from .kinds import kind_of  # the kind modules build on this module

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
        rs.instances.extend(kind_of(kind).instances(kind, rule, catalog))
    return rs


def read_rules(path: Path, catalog: Catalog) -> RuleSet:
    with open(path, encoding="utf-8") as fh:
        return expand(yaml.safe_load(fh), catalog)


@lru_cache(maxsize=4)
def load_rules(path: str | None = None, catalog_path: str | None = None) -> RuleSet:
    return read_rules(Path(path) if path else config.RULE_CATALOG, load_catalog(catalog_path))
