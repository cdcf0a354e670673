"""The offline engine: evaluates the rule catalog over submissions in memory (used by `cchc check`).

Each kind's evaluation is in its module (ingestion/rules/kinds/<kind>.py), beside the SQL the
warehouse runs for it; tests/test_rule_kinds.py and tests/test_rule_engines_agree.py hold them equal.
This module holds what several kinds share.
History rules (cumulative, jumps, levels) compare a pending submission with the
"basis": the latest submission of every other unit-quarter that was not held back.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Iterable

from ..indicators import Catalog
from ..pipeline.versions import Version
from ..pairing import cross_checked, precedence_key
from ..registry import Registry
from ..workbook.extract import Fact
from ..text.scope import UNIT
from .ruleset import RuleInstance, RuleSet
from .model import Evaluation, Submission
from .narrative import targets_table
from .tree import partner_scope


def _ev(inst: RuleInstance, s: Submission, status: str, fact: Fact | None = None, *, rows: Iterable[int] = (),
        observed: Decimal | None = None, expected: Decimal | None = None, **details) -> Evaluation:
    return Evaluation(
        rule_id=inst.rule_id, kind=inst.kind, severity=inst.severity, status=status, submission=s.key,
        unit_code=s.unit_code, year=s.year, quarter=s.quarter,
        indicator=fact.indicator if fact else inst.subject, sheet=fact.sheet if fact else None,
        row=fact.row if fact else None, rows=tuple(rows), form=fact.form if fact else None,
        observed=observed, expected=expected,
        details=tuple(sorted((({"label": fact.label} if fact else {}) | details).items())))


def _value(fact: Fact | None) -> Decimal | None:
    return fact.value if fact is not None else None


def _file_name(path: str) -> str:
    return path.replace("\\", "/").rsplit("/", 1)[-1]


def _scoped(scope: str) -> dict:
    """Evaluations within a level slice say which one (messages name it)."""
    return {} if scope == UNIT else {"scope": scope}


class OfflineEngine:
    def __init__(self, rules: RuleSet, catalog: Catalog, registry: Registry | None = None):
        self.rules, self.catalog, self.registry = rules, catalog, registry
        self.tolerance = Decimal(str(rules.settings["rate_tolerance_pp"]))
        self.z_threshold = float(rules.settings["zscore_threshold"])
        self.z_min = int(rules.settings["zscore_min_history"])

    def evaluate(self, submissions: list[Submission], *, completeness: bool = False,
                 reported: set[tuple[str, int, int]] | None = None) -> list[Evaluation]:
        from .kinds import kind_of  # the kind modules build on this module

        for s in submissions:
            s.index(self.catalog)
        basis: dict[tuple[str, int, int], Submission] = {}
        for s in sorted(submissions, key=lambda x: precedence_key(x.source_format, x.order)):
            if s.unit_code and s.year and not s.held:
                basis[(s.unit_code, s.year, s.quarter)] = s
        self.basis = basis
        self.submissions = submissions
        self.partners = self._partners(submissions)
        self.targets = targets_table(self.catalog, self.rules)
        out: list[Evaluation] = []
        for s in submissions:
            if s.pending:
                for inst in self.rules.instances:
                    out.extend(self._evaluate(inst, s))
        if completeness and self.registry is not None:
            for kind in self.rules.kinds:
                expected_units = kind_of(kind).offline_expected
                if expected_units is not None:
                    out.extend(expected_units(self, submissions, reported))
        return out

    # -- dispatch ---------------------------------------------------------------------------
    def _evaluate(self, inst: RuleInstance, s: Submission) -> list[Evaluation]:
        from .kinds import kind_of  # the kind modules build on this module

        return kind_of(inst.kind).offline(self, inst, s)

    def _cell_rule(self, inst: RuleInstance, s: Submission, facts: list[Fact], failing) -> list[Evaluation]:
        bad = [f for f in facts if failing(f)]
        if bad:
            return [_ev(inst, s, "fail", f, rows=(f.row,), observed=f.value) for f in bad]
        return [_ev(inst, s, "pass", None, observed=Decimal(len(facts)))] if facts else []

    # -- relations within one submission: figures of one scope ------------------------------------
    def _subjects(self, s: Submission, code: str | None) -> list[Fact]:
        return [f for f in s.facts if f.indicator == code and f.value is not None]

    def _partner(self, s: Submission, code: str | None, scope: str) -> Fact | None:
        if not code:
            return None
        where = partner_scope(self.catalog, code, scope, s.level)
        return s.by_key.get((self.catalog[code].concept, where)) if where is not None else None

    # -- a Word report against its own appendix and against the unit's spreadsheet ---------------
    def _partners(self, submissions: list[Submission]) -> dict[str, Submission]:
        """For each pending submission, the latest readable file of the other format for its unit-quarter."""
        latest: dict[tuple, Submission] = {}
        for s in sorted(submissions, key=lambda x: x.order):
            if s.unit_code and s.year and not s.held:
                latest[(s.unit_code, s.year, s.quarter, s.source_format)] = s
        out = {}
        for s in submissions:
            if not (s.pending and s.unit_code and s.year):
                continue
            for other in latest.values():
                if (other.unit_code, other.year, other.quarter) == (s.unit_code, s.year, s.quarter) \
                        and other.key != s.key and other.source_format != s.source_format \
                        and cross_checked(s.source_format, other.source_format, other.pending):
                    out[s.key] = other
        return out

    # -- history and other units ---------------------------------------------------------------
    def _history(self, s: Submission) -> list[Submission]:
        return sorted((b for (unit, year, quarter), b in self.basis.items()
                       if unit == s.unit_code and (year, quarter) < (s.year, s.quarter)),
                      key=lambda b: (b.year, b.quarter))

    # -- files and versions (the convention is in ingestion/pipeline/versions.py) -----------------
    def _versions(self, s: Submission, same_quarter: bool = True) -> list[Version]:
        """Readable submissions (the warehouse's loaded files), ``s`` always among them."""
        return [Version(x.key, x.order, x.path or x.key, x.content_hash, x.unit_code, source_format=x.source_format)
                for x in self.submissions
                if (x is s or not x.held)
                and (not same_quarter or (x.unit_code, x.year, x.quarter) == (s.unit_code, s.year, s.quarter))]

    @staticmethod
    def _version(s: Submission) -> Version:
        return Version(s.key, s.order, s.path or s.key, s.content_hash, s.unit_code, source_format=s.source_format)
