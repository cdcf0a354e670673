"""count_is_whole: A count must be a whole number."""
from __future__ import annotations

from ...text.values import COUNT
from ..model import Evaluation, Submission
from ..offline import OfflineEngine
from ..ruleset import RuleInstance, single_instance
from ..sql import SqlEngine
from . import RuleKind


def offline(engine: OfflineEngine, inst: RuleInstance, s: Submission) -> list[Evaluation]:
    facts = [f for f in s.facts if f.kind == COUNT and f.value is not None]
    return engine._cell_rule(inst, s, facts, lambda f: f.value != f.value.to_integral_value())


def sql(engine: SqlEngine, kind: str) -> str:
    return engine._cell(kind, "s.kind = 'count' and s.value is not null", "s.value <> trunc(s.value)")


KIND = RuleKind(name='count_is_whole', instances=single_instance, offline=offline, sql=sql)
