"""row_in_catalog: Rows that match no catalog indicator."""
from __future__ import annotations

from ..model import Evaluation, Submission
from ..offline import OfflineEngine
from ..ruleset import RuleInstance, single_instance
from ..sql import SqlEngine
from . import RuleKind


def offline(engine: OfflineEngine, inst: RuleInstance, s: Submission) -> list[Evaluation]:
    return engine._cell_rule(inst, s, list(s.facts), lambda f: f.indicator is None)


def sql(engine: SqlEngine, kind: str) -> str:
    return engine._cell(kind, "true", "s.indicator_code is null")


KIND = RuleKind(name='row_in_catalog', instances=single_instance, offline=offline, sql=sql)
