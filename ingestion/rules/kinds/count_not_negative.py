"""count_not_negative: A count cannot be negative."""
from __future__ import annotations

from ...text.values import COUNT, MONEY
from ..model import Evaluation, Submission
from ..offline import OfflineEngine
from ..ruleset import RuleInstance, single_instance
from ..sql import SqlEngine
from . import RuleKind


def offline(engine: OfflineEngine, inst: RuleInstance, s: Submission) -> list[Evaluation]:
    facts = [f for f in s.facts if f.kind in (COUNT, MONEY) and f.value is not None]
    return engine._cell_rule(inst, s, facts, lambda f: f.value < 0)


def sql(engine: SqlEngine, kind: str) -> str:
    return engine._cell(kind, "s.kind in ('count', 'money') and s.value is not null", "s.value < 0")


KIND = RuleKind(name='count_not_negative', instances=single_instance, offline=offline, sql=sql)
