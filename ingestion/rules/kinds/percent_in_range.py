"""percent_in_range: A percentage must lie between 0 and 100."""
from __future__ import annotations

from ...text.values import PERCENT
from ..model import Evaluation, Submission
from ..offline import OfflineEngine
from ..ruleset import RuleInstance, single_instance
from ..sql import SqlEngine
from . import RuleKind


def offline(engine: OfflineEngine, inst: RuleInstance, s: Submission) -> list[Evaluation]:
    facts = [f for f in s.facts if f.kind == PERCENT and f.value is not None]
    return engine._cell_rule(inst, s, facts, lambda f: f.value < 0 or f.value > 100)


def sql(engine: SqlEngine, kind: str) -> str:
    return engine._cell(kind, "s.kind = 'percent' and s.value is not null", "s.value < 0 or s.value > 100")


KIND = RuleKind(name='percent_in_range', instances=single_instance, offline=offline, sql=sql)
